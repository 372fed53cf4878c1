"""TF audio features against an independent NumPy computation of the same recipe."""

import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfxmodal import audio


def hz_to_mel(hz):
    return 1127.0 * np.log1p(np.asarray(hz, np.float64) / 700.0)


def numpy_mel_filterbank(num_mel_bins, fft_length, sample_rate, lower, upper):
    """HTK-mel triangles, edges evenly spaced in mel, DC bin unused."""
    bin_hz = np.linspace(0.0, sample_rate / 2.0, fft_length // 2 + 1)
    bin_mel = hz_to_mel(bin_hz)
    edges = np.linspace(hz_to_mel(lower), hz_to_mel(upper), num_mel_bins + 2)
    weights = np.zeros((fft_length // 2 + 1, num_mel_bins))
    for m in range(num_mel_bins):
        left, center, right = edges[m], edges[m + 1], edges[m + 2]
        rising = (bin_mel - left) / (center - left)
        falling = (right - bin_mel) / (right - center)
        weights[:, m] = np.maximum(0.0, np.minimum(rising, falling))
    weights[0, :] = 0.0
    return weights


def numpy_log_mel(x, sample_rate, frame_length, frame_step, fft_length, num_mel_bins, lower, upper):
    n = np.arange(frame_length)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / frame_length)  # periodic Hann
    count = 1 + (x.shape[-1] - frame_length) // frame_step
    frames = np.stack([x[..., i * frame_step : i * frame_step + frame_length] for i in range(count)], axis=-2)
    magnitude = np.abs(np.fft.rfft(frames * window, n=fft_length))
    mel = magnitude @ numpy_mel_filterbank(num_mel_bins, fft_length, sample_rate, lower, upper)
    return np.log(mel + 1e-6)


def numpy_mfcc(x, sample_rate=16000):
    log_mel = numpy_log_mel(x, sample_rate, 1024, 256, 1024, 80, 80.0, 7600.0)
    bins = log_mel.shape[-1]
    k = np.arange(13)[:, None]
    n = np.arange(bins)[None, :]
    dct = 2.0 * np.cos(np.pi * k * (2 * n + 1) / (2 * bins)) / np.sqrt(2.0 * bins)
    coefficients = log_mel @ dct.T
    return coefficients.reshape((*coefficients.shape[:-2], -1))


def tone_clips(batch=3, samples=8192, sample_rate=16000, seed=0):
    """Harmonic notes plus a little noise: realistic, never log(0)."""
    rng = np.random.RandomState(seed)
    t = np.arange(samples) / sample_rate
    clips = []
    for f0 in rng.uniform(80, 900, size=batch):
        partials = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 6))
        envelope = np.exp(-3 * t)
        clips.append(0.3 * partials * envelope + 0.01 * rng.normal(size=samples))
    return np.asarray(clips, np.float64)


def test_mfcc_is_377_values_for_8192_samples_batched_and_unbatched():
    clips = tone_clips().astype("float32")
    assert audio.mfcc(clips).shape == (3, 377)
    assert audio.mfcc(clips[0]).shape == (377,)
    assert audio.mfcc(clips.reshape(3, 1, 8192)).shape == (3, 1, 377)
    assert audio.mfcc_size(8192) == 377


def test_mfcc_matches_numpy_recipe():
    clips = tone_clips()
    expected = numpy_mfcc(clips)
    actual = audio.mfcc(clips.astype("float32")).numpy()
    scale = np.abs(expected).max()
    np.testing.assert_allclose(actual, expected, atol=2e-4 * scale, rtol=1e-3)


def test_log_mel_spectrogram_matches_numpy_recipe_and_defaults():
    clips = tone_clips(batch=2, samples=8000)
    actual = audio.log_mel_spectrogram(clips.astype("float32")).numpy()
    assert actual.shape == (2, 118, 128)
    expected = numpy_log_mel(clips, 16000, 512, 64, 512, 128, 0.0, 8000.0)
    np.testing.assert_allclose(actual, expected, atol=2e-3, rtol=1e-3)


def test_log_mel_spectrogram_custom_parameters():
    clips = tone_clips(batch=1, samples=4000, sample_rate=8000)
    actual = audio.log_mel_spectrogram(
        clips.astype("float32"),
        sample_rate=8000,
        frame_length=256,
        frame_step=128,
        num_mel_bins=40,
        lower_edge_hertz=50.0,
        upper_edge_hertz=3500.0,
    ).numpy()
    expected = numpy_log_mel(clips, 8000, 256, 128, 256, 40, 50.0, 3500.0)
    assert actual.shape == (1, 30, 40)
    np.testing.assert_allclose(actual, expected, atol=2e-3, rtol=1e-3)


def test_usable_in_tf_data_and_tf_function():
    clips = tone_clips().astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices(clips).map(audio.mfcc, num_parallel_calls=tf.data.AUTOTUNE).batch(3)
    from_dataset = next(iter(dataset)).numpy()
    np.testing.assert_allclose(from_dataset, audio.mfcc(clips), rtol=1e-5, atol=1e-4)
    graph = tf.function(audio.mfcc, input_signature=[tf.TensorSpec([None, 8192], tf.float32)])
    np.testing.assert_allclose(graph(clips), from_dataset, rtol=1e-5, atol=1e-4)
    assert graph.get_concrete_function().structured_outputs.shape.as_list() == [None, 377]


def test_layers_inside_a_saved_keras_model():
    clips = tone_clips().astype("float32")[..., None]  # (batch, samples, 1), as a WaveGAN emits
    waveform = keras.Input(shape=(8192, 1))
    features = keras.layers.Concatenate()(
        [audio.MFCC()(waveform), keras.layers.Flatten()(audio.LogMelSpectrogram()(waveform))]
    )
    model = keras.Model(waveform, features)
    assert model.output_shape == (None, 377 + 121 * 128)
    before = model(clips)
    np.testing.assert_allclose(before[:, :377], audio.mfcc(clips[..., 0]), rtol=1e-5, atol=1e-4)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "features.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded(clips), before, rtol=1e-5, atol=1e-4)


def test_rejects_integer_audio():
    pcm = (tone_clips(batch=1) * 32767).astype("int16")
    with pytest.raises(TypeError, match=r"float samples.*int16"):
        audio.mfcc(pcm)
    with pytest.raises(TypeError, match=r"float samples.*int16"):
        audio.log_mel_spectrogram(tf.constant(pcm))


def test_rejects_scalar_and_too_short_audio():
    with pytest.raises(ValueError, match="scalar"):
        audio.mfcc(np.float32(0.5))
    with pytest.raises(ValueError, match=r"500 samples.*frame_length=1024"):
        audio.mfcc(np.zeros((2, 500), "float32"))
