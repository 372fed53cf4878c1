"""The face-to-music networks of a config: WaveGAN generator and critic, and the compiled trainer of each variant.

`build_wavegan` builds the generator and critic of `model`; `build_gan`
wraps them in the trainer of `model.variant` (`Face2MusicGAN` for
baseline, metric and aux; the `AdversarialAutoencoder` for aae) with its
Adam optimizers and learning-rate decay. The networks themselves are in
`tfxmodal.models`, the trainers in `tfxmodal.trainers`.
"""

import keras

from tfxmodal.domain import CLIP_SAMPLES, FACE_EMBEDDING_DIM, NUM_PITCHES
from tfxmodal.models import AudioEmbedder, AudioMetric, AuxDiscriminator, WaveGANDiscriminator, WaveGANGenerator
from tfxmodal.trainers.aae import AdversarialAutoencoder
from tfxmodal.trainers.face2music import Face2MusicGAN, uses_aux_discriminator
from tfxmodal.utils.precision import precision_scope


def build_wavegan(config):
    """The run's `(WaveGANGenerator, WaveGANDiscriminator)`, built (call inside the strategy scope)."""
    model = config.model
    generator = WaveGANGenerator(
        model.width,
        NUM_PITCHES,
        output_batch_norm=model.generator_output_batch_norm,
        spectral_norm=model.generator_spectral_norm,
        power_iterations=model.power_iterations,
        upsample=model.generator_upsample,
        pitch_input=model.generator_pitch_input,
        excitation=model.generator_excitation,
        name="generator",
    )
    discriminator = WaveGANDiscriminator(
        model.width,
        NUM_PITCHES,
        phase_shuffle_radius=model.phase_shuffle_radius,
        power_iterations=model.power_iterations,
        seed=config.seed,
        batch_norm=model.discriminator_batch_norm,
        pitch_classifier=model.pitch_classifier_weight > 0,
        name="discriminator",
    )
    generator.build((None, FACE_EMBEDDING_DIM))
    discriminator.build((None, CLIP_SAMPLES, 1))
    return generator, discriminator


def build_gan(config, strategy, audio_embedder, stats, num_target_examples):
    """The compiled trainer of `model.variant`, built inside `strategy`'s scope."""
    model, train = config.model, config.train
    # One data epoch = one pass of the critics over the target set.
    steps_per_data_epoch = max(1, num_target_examples // (train.batch_size * train.critic_steps))

    def adam(updates_per_step):
        schedule = keras.optimizers.schedules.ExponentialDecay(
            train.learning_rate,
            decay_steps=train.lr_decay_epochs * steps_per_data_epoch * updates_per_step,
            decay_rate=train.lr_decay_rate,
        )
        return keras.optimizers.Adam(schedule, beta_1=train.beta_1, beta_2=train.beta_2)

    with strategy.scope():
        with precision_scope(train.precision):  # the trained networks only: ψ, φ stay float32
            generator, discriminator = build_wavegan(config)
        if model.variant == "aae":
            return build_autoencoder(config, generator, discriminator, adam)
        audio_metric = AudioMetric(audio_embedder, name="audio_metric")
        # Built like the networks: Keras's fit under a strategy refuses a
        # model with an unbuilt layer (it cannot call this wrapper to build it).
        audio_metric.build((None, CLIP_SAMPLES))
        audio_metric.set_scales(stats["psi_scale"], stats["mfcc_scale"])
        return build_face2music_gan(config, generator, discriminator, audio_metric, stats, adam)


def build_face2music_gan(config, generator, discriminator, audio_metric, stats, adam):
    """`Face2MusicGAN` of the `baseline`, `metric` and `aux` variants, compiled."""
    model, train = config.model, config.train
    aux = None
    optimizers = {"generator": adam(1), "discriminator": adam(train.critic_steps)}
    if uses_aux_discriminator(model.variant):
        with precision_scope(train.precision):
            aux = AuxDiscriminator(power_iterations=model.power_iterations, name="aux_discriminator")
        aux.build((None, audio_metric.feature_dim))
        optimizers["aux"] = adam(train.critic_steps)
    gan = Face2MusicGAN(
        generator,
        discriminator,
        variant=model.variant,
        audio_metric=audio_metric,
        aux_discriminator=aux,
        critic_steps=train.critic_steps,
        metric_weight=train.metric_weight,
        source_stats=(stats["source_mean"], stats["source_std"]),
        target_stats=(stats["target_mean"], stats["target_std"]),
        pitch_classifier_weight=model.pitch_classifier_weight,
    )
    gan.compile(optimizers, jit_compile=train.jit_compile)
    return gan


def build_autoencoder(config, decoder, audio_discriminator, adam):
    """The `aae` variant: `AdversarialAutoencoder` around the WaveGAN decoder and critic, compiled."""
    model, train = config.model, config.train
    encoder = AudioEmbedder(model.width, embedding_dim=FACE_EMBEDDING_DIM, name="encoder")
    encoder.build((None, CLIP_SAMPLES, 1))
    latent_discriminator = AuxDiscriminator(power_iterations=model.power_iterations, name="latent_discriminator")
    latent_discriminator.build((None, FACE_EMBEDDING_DIM))
    aae = AdversarialAutoencoder(
        encoder,
        decoder,
        latent_discriminator,
        audio_discriminator,
        critic_steps=train.critic_steps,
        reconstruction_weight=model.reconstruction_weight,
    )
    optimizers = {
        "autoencoder": adam(1),
        "discriminator": adam(train.critic_steps),
        "latent": adam(train.critic_steps),
    }
    aae.compile(optimizers, jit_compile=train.jit_compile)
    return aae
