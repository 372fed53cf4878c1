"""The adversarial-autoencoder baseline of Kim et al. 2020 (Sec. 3.2.3, Appendix 5.1.6).

An autoencoder on target audio whose latent code is pushed, by a latent
discriminator, to the distribution of face embeddings (Makhzani et al.
2016); its decoder then translates a face embedding into audio. As in the
paper, a second (audio) discriminator makes the decoder's outputs sound
real, its adversarial loss added to the reconstruction loss.

- encoder E: the ψ network structure (Table 5) with a 512-d L2-normalized
  output (face embeddings are unit vectors);
- decoder: the generator (Table 3), conditioned on pitch;
- latent discriminator: the auxiliary-discriminator structure (Table 6) on
  512-d codes: face embeddings are "real", E(y) "fake";
- audio discriminator: the main discriminator (Table 4) on
  (waveform, pitch): real notes against decoded face embeddings, i.e. the
  translations the baseline is judged on.
"""

import tensorflow as tf

from tfxmodal.losses import hinge_discriminator_loss, hinge_generator_loss
from tfxmodal.trainers.base import GANTrainer, average


def reconstruction_error(real, reconstruction):
    """Per-example mean absolute error `(batch,)` of `(batch, samples, 1)` waveforms."""
    return tf.reduce_mean(tf.abs(reconstruction - real), axis=[1, 2])


class AdversarialAutoencoder(GANTrainer):
    """Trains encoder + decoder against a latent and an audio discriminator.

    Args:
        encoder: `AudioEmbedder(embedding_dim=512)`, waveform → unit code.
        decoder: `WaveGANGenerator`, (code, pitch) → waveform; checkpointed
            as `generator`, the network every face2music run exports.
        latent_discriminator: `AuxDiscriminator` on 512-d codes.
        audio_discriminator: `WaveGANDiscriminator`.
        critic_steps: discriminator updates per autoencoder update.
        reconstruction_weight: weight of the mean absolute waveform error.

    Optimizers (`compile`): `autoencoder` (encoder and decoder; its
    iterations are the run's steps), `discriminator` (audio), `latent`.

    Data: the same rows as `Face2MusicGAN` — `{"audio": (B, K, 8192),
    "pitch": (B, K), "embedding": (B, K + 1, 512)}`. Critic step k uses
    column k; the autoencoder step reconstructs column 0's notes and decodes
    the last embedding column.

    Losses (per example, averaged over the global batch): critics
    `relu(1 − D(real)) + relu(1 + D(fake))` for both discriminators (audio:
    real notes vs decoded faces; latent: face embeddings vs codes E(y));
    autoencoder `w · |dec(E(y)) − y|₁ − D_latent(E(y)) − D_audio(dec(f))`.
    """

    step_optimizer = "autoencoder"

    def __init__(
        self,
        encoder,
        decoder,
        latent_discriminator,
        audio_discriminator,
        critic_steps=5,
        reconstruction_weight=10.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.latent_discriminator = latent_discriminator
        self.audio_discriminator = audio_discriminator
        self.critic_steps = int(critic_steps)
        self.reconstruction_weight = float(reconstruction_weight)

    def networks(self):
        return {
            "encoder": self.encoder,
            "generator": self.decoder,
            "audio_discriminator": self.audio_discriminator,
            "latent_discriminator": self.latent_discriminator,
        }

    def optimized_variables(self):
        return {
            "autoencoder": self.encoder.trainable_variables + self.decoder.trainable_variables,
            "discriminator": self.audio_discriminator.trainable_variables,
            "latent": self.latent_discriminator.trainable_variables,
        }

    def loss_names(self):
        return ["d_loss", "latent_d_loss", "reconstruction_loss", "g_adversarial", "latent_adversarial", "g_loss"]

    def _critic_step(self, real, pitch, embedding):
        code = self.encoder(real, training=True)
        fake = self.decoder(embedding, pitch, training=True)
        audio_vars = self.audio_discriminator.trainable_variables
        latent_vars = self.latent_discriminator.trainable_variables
        with tf.GradientTape() as tape:
            d_loss = average(
                hinge_discriminator_loss(
                    self.audio_discriminator(real, pitch, training=True),
                    self.audio_discriminator(fake, pitch, training=True),
                )
            )
            latent_loss = average(
                hinge_discriminator_loss(
                    self.latent_discriminator(embedding, training=True),
                    self.latent_discriminator(code, training=True),
                )
            )
            total = d_loss + latent_loss
        gradients = tape.gradient(total, audio_vars + latent_vars)
        self.apply("discriminator", gradients[: len(audio_vars)], audio_vars)
        self.apply("latent", gradients[len(audio_vars) :], latent_vars)
        self.track("d_loss", d_loss)
        self.track("latent_d_loss", latent_loss)

    def _autoencoder_step(self, real, pitch, embedding):
        variables = self.optimized_variables()["autoencoder"]
        with tf.GradientTape() as tape:
            code = self.encoder(real, training=True)
            reconstruction = self.decoder(code, pitch, training=True)
            reconstruction_loss = average(reconstruction_error(real, reconstruction))
            latent_adversarial = average(hinge_generator_loss(self.latent_discriminator(code, training=True)))
            translation = self.decoder(embedding, pitch, training=True)
            adversarial = average(hinge_generator_loss(self.audio_discriminator(translation, pitch, training=True)))
            g_loss = self.reconstruction_weight * reconstruction_loss + latent_adversarial + adversarial
        self.apply_gradients("autoencoder", tape, g_loss, variables)
        self.track("reconstruction_loss", reconstruction_loss)
        self.track("latent_adversarial", latent_adversarial)
        self.track("g_adversarial", adversarial)
        self.track("g_loss", g_loss)

    def train_step(self, data):
        audio, pitch, embedding = data["audio"], data["pitch"], data["embedding"]
        for step in range(self.critic_steps):
            self._critic_step(audio[:, step, :, None], pitch[:, step], embedding[:, step])
        self._autoencoder_step(audio[:, 0, :, None], pitch[:, 0], embedding[:, self.critic_steps])
        return self.results()
