import itertools

import numpy as np
import pytest

from tfxmodal import audio
from tfxmodal.models import AudioClassifier, AudioEmbedder, AudioMetric, AuxDiscriminator
from tfxmodal.models.audio_metric import max_pairwise_distance


def clips(n=6, seed=0):
    rng = np.random.RandomState(seed)
    t = np.arange(8192) / 16000
    return np.stack(
        [0.3 * np.sin(2 * np.pi * f * t) + 0.01 * rng.normal(size=8192) for f in rng.uniform(100, 2000, n)]
    ).astype("float32")


def test_audio_embedder_paper_width():
    embedder = AudioEmbedder(width=64)
    embeddings = embedder(clips(2)).numpy()
    assert embeddings.shape == (2, 128)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, rtol=1e-5)
    # Table 5: five Conv1D(25)+BN blocks (d..16d), mean over time, Dense 128.
    channels = [1, 64, 128, 256, 512, 1024]
    expected = sum(25 * a * b + b + 2 * b for a, b in itertools.pairwise(channels)) + 1024 * 128 + 128
    assert sum(int(np.prod(w.shape)) for w in embedder.trainable_weights) == expected


def test_embedder_accepts_channel_axis():
    embedder = AudioEmbedder(width=2)
    x = clips(3)
    np.testing.assert_allclose(embedder(x), embedder(x[..., None]), rtol=1e-6)


def test_classifier_outputs_probabilities_and_features():
    classifier = AudioClassifier(num_classes=61, width=2)
    probabilities = classifier(clips(3)).numpy()
    assert probabilities.shape == (3, 61)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert classifier.features(clips(3)).shape == (3, 32)


def test_aux_discriminator_table_6():
    aux = AuxDiscriminator()
    assert aux(np.zeros((3, 505), "float32")).shape == (3, 1)
    sizes = [505, 128, 64, 32, 16, 1]
    assert sum(int(np.prod(w.shape)) for w in aux.trainable_weights) == sum(
        a * b + b for a, b in itertools.pairwise(sizes)
    )
    assert len(aux.non_trainable_weights) == 5  # one spectral-norm u per dense layer


def test_audio_metric_is_scaled_concatenation():
    metric = AudioMetric(AudioEmbedder(width=2))
    x = clips()
    psi_scale, mfcc_scale = metric.fit_scales(x, batch_size=4)
    psi = metric.embedder(x).numpy()
    coefficients = audio.mfcc(x).numpy()
    assert psi_scale == pytest.approx(1.0 / max_pairwise_distance(psi), rel=1e-6)
    brute = max(np.linalg.norm(a - b) for a in coefficients for b in coefficients)
    assert mfcc_scale == pytest.approx(1.0 / brute, rel=1e-4)
    phi = metric(x[..., None]).numpy()
    assert phi.shape == (6, 505) and metric.feature_dim == 505
    np.testing.assert_allclose(phi[:, :128], psi_scale * psi, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(phi[:, 128:], mfcc_scale * coefficients, rtol=1e-4, atol=1e-5)
    # After scaling, each part's largest pairwise distance is 1.
    assert max_pairwise_distance(phi[:, 128:]) == pytest.approx(1.0, rel=1e-4)


def test_audio_metric_rejects_identical_clips():
    metric = AudioMetric(AudioEmbedder(width=2))
    with pytest.raises(ValueError, match="identical"):
        metric.fit_scales(np.zeros((3, 8192), "float32"))


def test_max_pairwise_distance_blocks():
    points = np.random.RandomState(0).normal(size=(50, 7))
    brute = max(np.linalg.norm(a - b) for a in points for b in points)
    assert max_pairwise_distance(points, block=8) == pytest.approx(brute, rel=1e-9)
