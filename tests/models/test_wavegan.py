import os

import keras
import numpy as np
import pytest

from tfxmodal.models import WaveGANDiscriminator, WaveGANGenerator

NUM_PITCHES = 61


def trainable_count(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def expected_generator_params(d, classes=NUM_PITCHES, latent=512, kernel=25):
    """Table 3: Dense 16·32d, CBN, then 5 Conv1DTranspose(25) + CBN blocks."""
    channels = [32 * d, 16 * d, 8 * d, 4 * d, 2 * d, 1]
    total = latent * 16 * channels[0] + 16 * channels[0]  # dense
    total += 2 * classes * channels[0]  # CBN γ, β tables
    for c_in, c_out in zip(channels[:-1], channels[1:]):
        total += kernel * c_in * c_out + c_out + 2 * classes * c_out
    return total


def expected_discriminator_params(d, classes=NUM_PITCHES, kernel=25):
    """Table 4: 5 Conv1D(25) + BN blocks, Dense 1, pitch embedding 16d."""
    channels = [1, d, 2 * d, 4 * d, 8 * d, 16 * d]
    total = 0
    for c_in, c_out in zip(channels[:-1], channels[1:]):
        total += kernel * c_in * c_out + c_out + 2 * c_out  # conv + BN γ, β
    return total + (16 * d + 1) + classes * 16 * d


def test_generator_paper_width_shapes_and_parameters():
    generator = WaveGANGenerator(width=64)
    z = np.random.RandomState(0).normal(size=(2, 512)).astype("float32")
    waveform = generator(z, np.array([0, 60]), training=False)
    assert waveform.shape == (2, 8192, 1)
    assert trainable_count(generator) == expected_generator_params(64)
    assert 86e6 < trainable_count(generator) < 87e6
    intermediate = [conv.compute_output_shape((2, 16, 2048)) for conv in generator.upconvs[:1]]
    assert tuple(intermediate[0]) == (2, 64, 1024)  # Table 3: 64 x (64*16)


def test_discriminator_paper_width_shapes_and_parameters():
    discriminator = WaveGANDiscriminator(width=64)
    waveform = np.random.RandomState(0).uniform(-1, 1, (2, 8192, 1)).astype("float32")
    scores = discriminator(waveform, np.array([3, 40]), training=False)
    assert scores.shape == (2, 1)
    assert trainable_count(discriminator) == expected_discriminator_params(64)
    assert discriminator.features(waveform).shape == (2, 1024)  # Table 4: 64*16
    lengths = []
    x = waveform
    for conv in discriminator.convs:
        x = conv(x)
        lengths.append(x.shape[1])
    assert lengths == [2048, 512, 128, 32, 16]


def test_generator_output_bounded_and_pitch_conditioned():
    generator = WaveGANGenerator(width=2)
    z = np.random.RandomState(1).normal(size=(4, 512)).astype("float32")
    generator(z, np.zeros(4, "int32"), training=True)
    for norm in [generator.project_norm] + generator.norms:
        norm.gamma.assign(np.random.RandomState(2).uniform(0.5, 1.5, norm.gamma.shape))
    low = generator(z, np.zeros(4, "int32"), training=True).numpy()
    high = generator(z, np.full(4, 60, "int32"), training=True).numpy()
    assert np.abs(low).max() < 1.0
    assert not np.allclose(low, high)


def test_keras_round_trip(tmp_path):
    generator = WaveGANGenerator(width=2, num_pitches=5)
    discriminator = WaveGANDiscriminator(width=2, num_pitches=5, seed=0)
    z = np.random.RandomState(3).normal(size=(2, 512)).astype("float32")
    pitch = np.array([1, 4], "int32")
    waveform = generator(z, pitch)
    score = discriminator(waveform, pitch)
    for model, args, expected in ((generator, (z, pitch), waveform), (discriminator, (waveform, pitch), score)):
        path = os.path.join(tmp_path, f"{model.name}.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
        assert type(loaded) is type(model)
        np.testing.assert_allclose(loaded(*args, training=False), expected, rtol=1e-5, atol=1e-6)


def test_bad_inputs():
    with pytest.raises(ValueError, match="latent_dim=512"):
        WaveGANGenerator(width=2)(np.zeros((1, 100), "float32"), np.zeros(1, "int32"))
    with pytest.raises(ValueError, match=r"\(batch, 8192, 1\)"):
        WaveGANDiscriminator(width=2)(np.zeros((1, 4096, 1), "float32"), np.zeros(1, "int32"))
    with pytest.raises(ValueError, match="class label out of range"):
        WaveGANGenerator(width=2)(np.zeros((1, 512), "float32"), np.array([61]))


def test_the_batch_norms_tables_3_and_4_list_can_be_left_out():
    """WaveGAN's own output block has no batch norm; an SN critic needs none (README, Learning curves)."""
    d = 2
    generator = WaveGANGenerator(width=d, output_batch_norm=False)
    z = np.random.RandomState(1).normal(size=(3, 512)).astype("float32")
    waveform = np.asarray(generator(z, np.array([0, 30, 60]), training=True))
    assert waveform.shape == (3, 8192, 1) and np.all(np.abs(waveform) < 1)
    # Only the last block's γ, β tables (61 classes x 1 channel each) are gone.
    assert trainable_count(generator) == expected_generator_params(d) - 2 * NUM_PITCHES
    assert not any("upconv5_cbn" in v.path for v in generator.variables)

    discriminator = WaveGANDiscriminator(width=d, batch_norm=False)
    scores = discriminator(np.zeros((3, 8192, 1), "float32"), np.array([0, 1, 2]), training=True)
    assert scores.shape == (3, 1)
    bn_params = sum(2 * c for c in (d, 2 * d, 4 * d, 8 * d, 16 * d))
    assert trainable_count(discriminator) == expected_discriminator_params(d) - bn_params
    assert not any("_bn/" in v.path for v in discriminator.variables)
    for model in (generator, discriminator):
        config = model.get_config()
        assert type(model).from_config(config).get_config() == config


def test_the_spectrally_normalized_generator_of_sec_3_2_1():
    import tensorflow as tf

    generator = WaveGANGenerator(width=2, output_batch_norm=False, spectral_norm=True, power_iterations=1)
    z = np.random.RandomState(2).normal(size=(4, 512)).astype("float32")
    for _ in range(30):  # power iterations converge while training
        waveform = generator(z, np.array([0, 1, 2, 3]), training=True)
    assert waveform.shape == (4, 8192, 1)
    wrapped = [generator.project] + list(generator.upconvs)
    assert [layer.name for layer in wrapped] == ["sn_project"] + [f"sn_upconv{i}" for i in range(1, 6)]
    for layer in wrapped:
        sigma = np.linalg.svd(layer._kernel_matrix(tf.convert_to_tensor(layer.normalized_kernel())), compute_uv=False)[
            0
        ]
        assert abs(sigma - 1.0) < 0.05, (layer.name, sigma)
    # The same trainable weights as without SN; each wrapper adds its persistent u.
    assert trainable_count(generator) == expected_generator_params(2) - 2 * NUM_PITCHES
    assert sum("vector_u" in v.path for v in generator.non_trainable_variables) == 6
    config = generator.get_config()
    assert config["spectral_norm"] is True and WaveGANGenerator.from_config(config).get_config() == config
