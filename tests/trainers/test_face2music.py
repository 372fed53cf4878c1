"""One distributed training step of each face-to-music variant (2 logical CPU devices)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfxmodal.losses import metric_preservation_loss
from tfxmodal.models import AudioEmbedder, AudioMetric, AuxDiscriminator, WaveGANDiscriminator, WaveGANGenerator
from tfxmodal.trainers.face2music import Face2MusicGAN, sign_accuracy

pytestmark = pytest.mark.slow  # distributed GAN training steps

CRITIC_STEPS = 2
GLOBAL_BATCH = 4


def synthetic_rows(count=16, seed=0):
    rng = np.random.RandomState(seed)
    t = np.arange(8192) / 16000
    audio = 0.3 * np.sin(2 * np.pi * rng.uniform(100, 1000, (count, CRITIC_STEPS, 1)) * t)
    return {
        "audio": audio.astype("float32"),
        "pitch": rng.randint(0, 61, (count, CRITIC_STEPS)).astype("int32"),
        "embedding": rng.normal(size=(count, CRITIC_STEPS + 1, 512)).astype("float32"),
    }


def build_gan(variant):
    generator = WaveGANGenerator(width=2)
    discriminator = WaveGANDiscriminator(width=2, seed=0)
    metric = AudioMetric(AudioEmbedder(width=2))
    aux = AuxDiscriminator()
    generator.build((None, 512))
    discriminator.build((None, 8192, 1))
    metric.build()
    aux.build((None, 505))
    gan = Face2MusicGAN(
        generator,
        discriminator,
        variant,
        metric,
        aux,
        critic_steps=CRITIC_STEPS,
        source_stats=(1.4, 0.1),
        target_stats=(1.0, 0.2),
    )
    names = ["generator", "discriminator"] + (["aux"] if variant == "aux" else [])
    gan.compile({name: keras.optimizers.Adam(1e-3, beta_1=0.5) for name in names})
    return gan


def snapshot(model):
    return [np.array(w) for w in model.trainable_weights]


def changed(before, model):
    return any(not np.allclose(b, np.array(a)) for b, a in zip(before, model.trainable_weights))


@pytest.mark.parametrize("variant", ["baseline", "metric", "aux"])
def test_one_distributed_step_updates_every_network(variant, two_cpu_strategy):
    with two_cpu_strategy.scope():
        gan = build_gan(variant)
    aux_before = snapshot(gan.aux_discriminator) if gan.aux_discriminator is not None else None
    g_before, d_before = snapshot(gan.generator), snapshot(gan.discriminator)
    psi_before = snapshot(gan.audio_metric.embedder) if gan.audio_metric is not None else []
    dataset = tf.data.Dataset.from_tensor_slices(synthetic_rows()).repeat().batch(GLOBAL_BATCH, drop_remainder=True)
    history = gan.fit(dataset, steps_per_epoch=1, epochs=1, verbose=0)
    logs = {name: values[-1] for name, values in history.history.items()}
    assert all(np.isfinite(value) for value in logs.values()), logs
    assert changed(g_before, gan.generator) and changed(d_before, gan.discriminator)
    assert int(gan.step_counter.numpy()) == 1
    assert int(gan.optimizer_named("discriminator").iterations.numpy()) == CRITIC_STEPS
    # The diagnostics that tell a learning GAN from a stuck one.
    assert 0.0 <= logs["d_accuracy"] <= 1.0
    assert logs["grad_norm_generator"] > 0 and logs["grad_norm_discriminator"] > 0
    if variant != "baseline":
        assert 0.0 < logs["metric_share"] < 1.0
    if variant == "aux":
        assert changed(aux_before, gan.aux_discriminator)
        assert int(gan.optimizer_named("aux").iterations.numpy()) == CRITIC_STEPS
        assert logs["grad_norm_aux"] > 0
    else:
        assert gan.aux_discriminator is None and "aux_d_loss" not in logs
    assert ("metric_loss" in logs) == (variant != "baseline")
    # psi is frozen: gradients reach the generator through it, never into it.
    assert not changed(psi_before, gan.audio_metric.embedder)
    # Replicas hold identical copies after the update.
    for variable in gan.generator.trainable_variables[:3]:
        first, second = two_cpu_strategy.experimental_local_results(variable.value)
        np.testing.assert_array_equal(first.numpy(), second.numpy())


def test_constructor_and_compile_errors():
    generator, discriminator = WaveGANGenerator(width=2), WaveGANDiscriminator(width=2)
    with pytest.raises(ValueError, match="variant must be one of"):
        Face2MusicGAN(generator, discriminator, variant="gan")
    with pytest.raises(ValueError, match="needs an audio_metric"):
        Face2MusicGAN(generator, discriminator, variant="metric")
    metric = AudioMetric(AudioEmbedder(width=2))
    with pytest.raises(ValueError, match="needs an aux_discriminator"):
        Face2MusicGAN(generator, discriminator, variant="aux", audio_metric=metric)
    gan = Face2MusicGAN(generator, discriminator, "aux", metric, AuxDiscriminator())
    generator.build((None, 512))
    discriminator.build((None, 8192, 1))
    with pytest.raises(ValueError, match=r"expected optimizers \['aux', 'discriminator', 'generator'\]"):
        gan.compile({"generator": keras.optimizers.Adam(), "discriminator": keras.optimizers.Adam()})


def test_sign_accuracy_counts_real_above_and_fake_below_zero():
    real = tf.constant([[2.0], [-1.0], [0.5]])
    fake = tf.constant([[-3.0], [-0.5], [1.0]])
    expected = 0.5 * (np.array([1, 0, 1]) + np.array([1, 1, 0]))
    np.testing.assert_allclose(sign_accuracy(real, fake).numpy(), expected)


def test_the_metric_loss_pairs_the_global_batch_on_any_number_of_replicas(two_cpu_strategy):
    """Eq. 4 over all 4 examples of the global batch, and its gradient, with 1 replica or 2."""
    rng = np.random.default_rng(5)
    embedding = rng.normal(size=(4, 512)).astype("float32")
    weight = rng.normal(size=(512, 505)).astype("float32") * 0.05
    stats = ((1.4, 0.1), (1.0, 0.2))

    def loss_and_gradient(strategy):
        with strategy.scope():
            w = tf.Variable(weight)

        def replica_fn(batch):
            with tf.GradientTape() as tape:
                context = tf.distribute.get_replica_context()
                phi = tf.matmul(batch, w)
                loss = metric_preservation_loss(
                    context.all_gather(batch, axis=0), context.all_gather(phi, axis=0), *stats
                )
                scaled = loss / strategy.num_replicas_in_sync
            return loss, tape.gradient(scaled, w)

        dataset = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensor_slices(embedding).batch(4))
        losses, gradients = strategy.run(replica_fn, args=(next(iter(dataset)),))
        total = strategy.reduce("SUM", gradients, axis=None)
        first_loss = strategy.experimental_local_results(losses)[0]
        return float(first_loss), np.asarray(total)

    one_loss, one_gradient = loss_and_gradient(tf.distribute.get_strategy())
    two_loss, two_gradient = loss_and_gradient(two_cpu_strategy)
    expected = float(metric_preservation_loss(embedding, embedding @ weight, *stats))
    assert one_loss == pytest.approx(expected, rel=1e-5) and two_loss == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(two_gradient, one_gradient, rtol=1e-4, atol=1e-7)


def test_the_pitch_classifier_adds_the_cross_entropies_of_ac_gan():
    """D1's pitch cross-entropy on real notes, G's on its fakes at the asked pitch: values against NumPy."""
    keras.utils.set_random_seed(0)
    generator = WaveGANGenerator(width=2, output_batch_norm=False)
    discriminator = WaveGANDiscriminator(width=2, batch_norm=False, phase_shuffle_radius=0, pitch_classifier=True)
    generator.build((None, 512))
    discriminator.build((None, 8192, 1))
    gan = Face2MusicGAN(generator, discriminator, "baseline", critic_steps=1, pitch_classifier_weight=2.0)
    # A learning rate of 0: the step reports the losses of the weights as they are.
    gan.compile({name: keras.optimizers.SGD(0.0) for name in ("generator", "discriminator")})
    rows = synthetic_rows(4, seed=3)
    real = tf.constant(rows["audio"][:, 0, :, None])
    pitch = tf.constant(rows["pitch"][:, 0])
    embedding = tf.constant(rows["embedding"][:, 1])
    for _ in range(40):  # settle spectral norm's power iteration, as training does
        discriminator.score_and_pitch_logits(real, pitch, training=True)
        discriminator(generator(embedding, pitch, training=True), pitch, training=True)
    batch = {key: tf.constant(value[:, :2] if key == "embedding" else value[:, :1]) for key, value in rows.items()}
    logs = {name: float(value) for name, value in gan.train_step(batch).items()}

    def cross_entropy(logits, labels):
        logits = np.asarray(logits, np.float64)
        log_softmax = logits - logits.max(1, keepdims=True)
        log_softmax -= np.log(np.exp(log_softmax).sum(1, keepdims=True))
        return float(-np.mean(log_softmax[np.arange(len(labels)), labels]))

    real_scores, real_logits = discriminator.score_and_pitch_logits(real, pitch, training=False)
    # Critic step k's fakes come from embedding column k, the generator step's from the last column.
    critic_fake = generator(tf.constant(rows["embedding"][:, 0]), pitch, training=True)
    critic_fake_scores = discriminator(critic_fake, pitch, training=False)
    fake = generator(embedding, pitch, training=True)
    fake_scores, fake_logits = discriminator.score_and_pitch_logits(fake, pitch, training=False)
    hinge = np.mean(np.maximum(0, 1 - np.asarray(real_scores)) + np.maximum(0, 1 + np.asarray(critic_fake_scores)))
    labels = np.asarray(pitch)
    assert logs["d_pitch_loss"] == pytest.approx(cross_entropy(real_logits, labels), rel=1e-3)
    assert logs["g_pitch_loss"] == pytest.approx(cross_entropy(fake_logits, labels), rel=1e-3)
    assert logs["d_pitch_accuracy"] == pytest.approx(np.mean(np.argmax(real_logits, 1) == labels))
    # d_loss stays the hinge (the saturation diagnostic); G's loss adds weight x its cross-entropy.
    assert logs["d_loss"] == pytest.approx(hinge, rel=1e-3)
    assert logs["g_loss"] == pytest.approx(-float(np.mean(fake_scores)) + 2.0 * logs["g_pitch_loss"], rel=1e-3)


def test_the_pitch_classifier_learns_the_pitch_of_real_notes():
    """The cross-entropy reaches D1's trunk: 60 critic steps on sines of 4 pitches and it names them."""
    keras.utils.set_random_seed(1)
    generator = WaveGANGenerator(width=2, output_batch_norm=False)
    discriminator = WaveGANDiscriminator(width=4, batch_norm=False, pitch_classifier=True, seed=0)
    generator.build((None, 512))
    discriminator.build((None, 8192, 1))
    gan = Face2MusicGAN(generator, discriminator, "baseline", critic_steps=1, pitch_classifier_weight=1.0)
    gan.compile({name: keras.optimizers.Adam(2e-3, beta_1=0.5) for name in ("generator", "discriminator")})
    rng = np.random.RandomState(2)
    t = np.arange(8192) / 16000
    classes = np.array([0, 20, 40, 60])
    step = tf.function(gan.train_step)
    for _ in range(60):
        pitch = rng.choice(classes, size=(8, 1)).astype("int32")
        f0 = 440 * 2 ** ((pitch + 24 - 69) / 12)
        audio = 0.3 * np.sin(2 * np.pi * f0[..., None] * t + rng.uniform(0, 6, (8, 1, 1)))
        logs = step(
            {
                "audio": audio.astype("float32"),
                "pitch": pitch,
                "embedding": rng.normal(size=(8, 2, 512)).astype("float32"),
            }
        )
    pitch = np.repeat(classes, 4).astype("int32")
    f0 = 440 * 2 ** ((pitch + 24 - 69) / 12)
    audio = (0.3 * np.sin(2 * np.pi * f0[:, None] * t + rng.uniform(0, 6, (16, 1))))[..., None].astype("float32")
    _, logits = discriminator.score_and_pitch_logits(audio, pitch, training=False)
    assert float(logs["d_pitch_loss"]) < np.log(61) - 1.0
    assert np.mean(np.argmax(logits, 1) == pitch) >= 0.75


def test_a_pitch_classifier_weight_needs_the_head():
    generator = WaveGANGenerator(width=2)
    discriminator = WaveGANDiscriminator(width=2)
    with pytest.raises(ValueError, match="pitch_classifier=True"):
        Face2MusicGAN(generator, discriminator, "baseline", pitch_classifier_weight=1.0)
