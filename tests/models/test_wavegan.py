import itertools
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfxmodal.face2music.probe import generator_image_frequencies
from tfxmodal.metrics import spectral_peaks
from tfxmodal.metrics.spectral_peaks import image_energy_share
from tfxmodal.models import WaveGANDiscriminator, WaveGANGenerator
from tfxmodal.models.wavegan import pitch_excitation

NUM_PITCHES = 61


def trainable_count(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def expected_generator_params(d, classes=NUM_PITCHES, latent=512, kernel=25):
    """Table 3: Dense 16·32d, CBN, then 5 Conv1DTranspose(25) + CBN blocks."""
    channels = [32 * d, 16 * d, 8 * d, 4 * d, 2 * d, 1]
    total = latent * 16 * channels[0] + 16 * channels[0]  # dense
    total += 2 * classes * channels[0]  # CBN γ, β tables
    for c_in, c_out in itertools.pairwise(channels):
        total += kernel * c_in * c_out + c_out + 2 * classes * c_out
    return total


def expected_discriminator_params(d, classes=NUM_PITCHES, kernel=25):
    """Table 4: 5 Conv1D(25) + BN blocks, Dense 1, pitch embedding 16d."""
    channels = [1, d, 2 * d, 4 * d, 8 * d, 16 * d]
    total = 0
    for c_in, c_out in itertools.pairwise(channels):
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
    for norm in [generator.project_norm, *generator.norms]:
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
    """WaveGAN's own output block has no batch norm; an SN critic needs none (docs/results.md, Learning curves)."""
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
    generator = WaveGANGenerator(width=2, output_batch_norm=False, spectral_norm=True, power_iterations=1)
    z = np.random.RandomState(2).normal(size=(4, 512)).astype("float32")
    for _ in range(30):  # power iterations converge while training
        waveform = generator(z, np.array([0, 1, 2, 3]), training=True)
    assert waveform.shape == (4, 8192, 1)
    wrapped = [generator.project, *list(generator.upconvs)]
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


def test_nearest_upsampling_repeats_then_convolves_with_the_same_weights_count():
    """WaveGAN's `nn` upsampling: each block is np.repeat by the stride, then a 'same' stride-1 convolution."""
    d = 2
    nearest = WaveGANGenerator(width=d, output_batch_norm=False, upsample="nearest")
    nearest.build((None, 512))
    assert trainable_count(nearest) == expected_generator_params(d) - 2 * NUM_PITCHES
    conv = nearest.upconvs[0]
    x = np.random.RandomState(4).normal(size=(2, 16, 32 * d)).astype("float32")
    repeated = np.repeat(x, 4, axis=1)
    kernel, bias = (np.asarray(w) for w in conv.weights)
    padded = np.pad(repeated, ((0, 0), (12, 12), (0, 0)))
    reference = np.stack([np.einsum("bkc,kcf->bf", padded[:, t : t + 25], kernel) for t in range(64)], axis=1) + bias
    np.testing.assert_allclose(conv(repeated), reference, rtol=1e-4, atol=1e-5)
    z = np.random.RandomState(5).normal(size=(3, 512)).astype("float32")
    waveform = np.asarray(nearest(z, np.array([0, 30, 60]), training=True))
    assert waveform.shape == (3, 8192, 1) and np.all(np.abs(waveform) < 1)
    config = nearest.get_config()
    assert config["upsample"] == "nearest" and WaveGANGenerator.from_config(config).get_config() == config
    with pytest.raises(ValueError, match="upsample must be one of"):
        WaveGANGenerator(width=2, upsample="linear")


def test_nearest_upsampling_leaves_less_energy_at_the_transposed_convolutions_images():
    z = np.random.RandomState(6).normal(size=(8, 512)).astype("float32")
    pitch = np.arange(8, dtype="int32")
    shares = {}
    for upsample in ("transposed", "nearest"):
        keras.utils.set_random_seed(0)
        generator = WaveGANGenerator(width=4, output_batch_norm=False, upsample=upsample)
        waveform = np.asarray(generator(z, pitch, training=True))[..., 0]
        shares[upsample] = image_energy_share(waveform, generator_image_frequencies())
    # Untrained: zero-stuffing's images hold several times the energy that repetition leaves there.
    assert shares["transposed"] > 3 * shares["nearest"], shares


def test_pitch_input_feeds_the_one_hot_pitch_to_the_dense_layer():
    """GANSynth's conditioning: [z, one_hot(pitch)] into the dense layer, beside the CBNs."""
    d = 2
    plain = WaveGANGenerator(width=d, output_batch_norm=False)
    with_pitch = WaveGANGenerator(width=d, output_batch_norm=False, pitch_input=True)
    plain.build((None, 512))
    with_pitch.build((None, 512))
    assert trainable_count(with_pitch) == trainable_count(plain) + NUM_PITCHES * 16 * 32 * d
    z = np.random.RandomState(7).normal(size=(2, 512)).astype("float32")
    # Untrained CBN tables are the same for every pitch: only the input can tell pitches apart.
    assert np.allclose(plain(z, np.array([0, 0]), training=False), plain(z, np.array([40, 40]), training=False))
    assert not np.allclose(
        with_pitch(z, np.array([0, 0]), training=False), with_pitch(z, np.array([40, 40]), training=False)
    )
    # With the one-hot rows of the dense kernel zeroed it is the plain generator with the same weights.
    kernel = np.asarray(with_pitch.project.kernel)
    with_pitch.project.kernel.assign(np.concatenate([np.asarray(plain.project.kernel), np.zeros_like(kernel[512:])]))
    for source, target in zip(plain.weights, with_pitch.weights):
        if source.path.endswith("project/kernel"):
            continue
        target.assign(source)
    np.testing.assert_allclose(
        with_pitch(z, np.array([3, 50]), training=False), plain(z, np.array([3, 50]), training=False), atol=1e-6
    )
    assert WaveGANGenerator.from_config(with_pitch.get_config()).pitch_input is True


def test_the_excitation_is_a_unit_sine_at_the_pitchs_f0_below_nyquist():
    pitches = np.array([0, 45, 60])  # MIDI 24, 69, 84
    excitation = np.asarray(pitch_excitation(pitches, 4096))  # 8 kHz: every f0 is below Nyquist
    f0 = 440.0 * 2.0 ** ((pitches + 24 - 69) / 12.0)
    expected = np.sin(2 * np.pi * f0[:, None] * np.arange(4096)[None, :] / 8000.0)
    assert excitation.shape == (3, 4096, 1)
    np.testing.assert_allclose(excitation[..., 0], expected, atol=2e-3)  # float32 phase over 4,096 samples
    # At 2 kHz MIDI 84 (1,046.5 Hz) would alias: that row is zero, the others are not.
    low_rate = np.asarray(pitch_excitation(pitches, 1024))[..., 0]
    assert np.all(low_rate[2] == 0) and np.all(np.abs(low_rate[:2]).max(axis=1) > 0.99)


def test_excitation_feeds_the_sine_to_the_last_layer_and_nothing_else():
    """Source-filter: one more input channel of the last layer; zero weights on it give the plain generator."""
    d = 2
    plain = WaveGANGenerator(width=d, output_batch_norm=False)
    excited = WaveGANGenerator(width=d, output_batch_norm=False, excitation=True)
    plain.build((None, 512))
    excited.build((None, 512))
    assert trainable_count(excited) == trainable_count(plain) + 25  # one more input channel of a 25-tap kernel
    z = np.random.RandomState(9).normal(size=(3, 512)).astype("float32")
    pitches = np.array([0, 30, 60])
    last = excited.upconvs[-1].kernel  # (25, 1, 2d + 1): the excitation is the last input channel
    for source, target in zip(plain.weights, excited.weights):
        if target is last:
            target.assign(np.concatenate([np.asarray(source), np.zeros((25, 1, 1), "float32")], axis=-1))
        else:
            target.assign(source)
    np.testing.assert_allclose(excited(z, pitches, training=False), plain(z, pitches, training=False), atol=1e-6)
    # With only the excitation's weights (a linear-interpolation kernel), every output peaks at its f0.
    kernel = np.zeros((25, 1, 2 * d + 1), "float32")
    kernel[11:14, 0, -1] = [0.25, 0.5, 0.25]
    last.assign(kernel)
    excited.upconvs[-1].bias.assign(np.zeros(1, "float32"))
    every = np.arange(0, 61, 3)
    waveforms = np.asarray(excited(np.repeat(z[:1], len(every), 0), every, training=False))[..., 0]
    assert spectral_peaks.f0_hit_rate(waveforms, every + 24) == 1.0
    assert WaveGANGenerator.from_config(excited.get_config()).excitation is True


def test_the_auxiliary_pitch_classifier_reads_the_critics_pooled_features():
    d = 2
    discriminator = WaveGANDiscriminator(width=d, batch_norm=False, pitch_classifier=True, phase_shuffle_radius=0)
    plain = WaveGANDiscriminator(width=d, batch_norm=False)
    discriminator.build((None, 8192, 1))
    plain.build((None, 8192, 1))
    assert trainable_count(discriminator) == trainable_count(plain) + 16 * d * NUM_PITCHES + NUM_PITCHES
    waveform = np.random.RandomState(8).normal(size=(3, 8192, 1)).astype("float32") * 0.1
    pitch = np.array([0, 5, 60])
    score, logits = discriminator.score_and_pitch_logits(waveform, pitch, training=False)
    assert logits.shape == (3, NUM_PITCHES)
    np.testing.assert_allclose(score, discriminator(waveform, pitch, training=False), rtol=1e-5)
    np.testing.assert_allclose(
        logits, discriminator.pitch_logits(discriminator.features(waveform, training=False)), rtol=1e-5
    )
    with pytest.raises(ValueError, match="pitch_classifier=False"):
        plain.score_and_pitch_logits(waveform, pitch)
    assert WaveGANDiscriminator.from_config(discriminator.get_config()).pitch_classifier is True
