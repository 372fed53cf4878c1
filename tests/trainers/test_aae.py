"""The adversarial-autoencoder baseline (Sec. 3.2.3): its losses by hand, and that it learns to reconstruct."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfxmodal.models import AudioEmbedder, AuxDiscriminator, WaveGANDiscriminator, WaveGANGenerator
from tfxmodal.trainers.aae import AdversarialAutoencoder, reconstruction_error

CRITIC_STEPS = 1


def build(weight=10.0, learning_rate=1e-3):
    keras.utils.set_random_seed(0)
    encoder = AudioEmbedder(2, embedding_dim=512)
    encoder.build((None, 8192, 1))
    decoder = WaveGANGenerator(2, output_batch_norm=False)
    decoder.build((None, 512))
    latent = AuxDiscriminator()
    latent.build((None, 512))
    audio = WaveGANDiscriminator(2, batch_norm=False, seed=0)
    audio.build((None, 8192, 1))
    aae = AdversarialAutoencoder(
        encoder, decoder, latent, audio, critic_steps=CRITIC_STEPS, reconstruction_weight=weight
    )
    aae.compile(
        {name: keras.optimizers.Adam(learning_rate, beta_1=0.5) for name in ("autoencoder", "discriminator", "latent")}
    )
    return aae


def rows(count=8):
    """Fixed notes (decaying sines) with pitches and unit face embeddings, in the trainer's row layout."""
    rng = np.random.default_rng(1)
    t = np.arange(8192) / 16000
    frequency = rng.uniform(100, 800, (count, CRITIC_STEPS, 1))
    audio = (0.3 * np.sin(2 * np.pi * frequency * t) * np.exp(-3 * t)).astype("float32")
    faces = rng.normal(size=(count, CRITIC_STEPS + 1, 512))
    faces /= np.linalg.norm(faces, axis=-1, keepdims=True)
    return {
        "audio": audio,
        "pitch": rng.integers(0, 61, (count, CRITIC_STEPS)).astype("int32"),
        "embedding": faces.astype("float32"),
    }


def test_reconstruction_error_is_the_mean_absolute_sample_error():
    rng = np.random.default_rng(2)
    real, fake = rng.normal(size=(3, 8192, 1)), rng.normal(size=(3, 8192, 1))
    expected = np.mean(np.abs(fake - real), axis=(1, 2))
    np.testing.assert_allclose(reconstruction_error(tf.constant(real), tf.constant(fake)).numpy(), expected, rtol=1e-6)


def test_the_reported_autoencoder_loss_is_its_weighted_parts():
    aae = build(weight=10.0)
    dataset = tf.data.Dataset.from_tensor_slices(rows()).batch(4, drop_remainder=True)
    logs = {k: v[-1] for k, v in aae.fit(dataset.take(1), epochs=1, verbose=0).history.items()}
    expected = 10.0 * logs["reconstruction_loss"] + logs["latent_adversarial"] + logs["g_adversarial"]
    assert logs["g_loss"] == pytest.approx(expected, rel=1e-5)
    assert logs["reconstruction_loss"] > 0 and logs["d_loss"] >= 0 and logs["latent_d_loss"] >= 0
    assert {"grad_norm_autoencoder", "grad_norm_discriminator", "grad_norm_latent"} <= set(logs)
    assert int(aae.step_counter.numpy()) == 1  # the autoencoder's updates are the run's steps
    assert set(aae.trackables()) == {
        "encoder", "generator", "audio_discriminator", "latent_discriminator",
        "autoencoder_optimizer", "discriminator_optimizer", "latent_optimizer",
    }  # fmt: skip


def test_a_few_steps_on_fixed_notes_lower_the_reconstruction_error():
    aae = build(weight=10.0, learning_rate=2e-3)
    data = rows()
    dataset = tf.data.Dataset.from_tensor_slices(data).repeat().batch(4, drop_remainder=True)

    # The logged reconstruction loss (batch statistics, as trained) of the first and last 5 steps.
    history = aae.fit(dataset, steps_per_epoch=5, epochs=8, verbose=0).history["reconstruction_loss"]
    assert history[-1] < 0.8 * history[0], history
