"""The learning curve's face → music probe on real (untrained) networks."""

import numpy as np
import pytest
from scipy.spatial.distance import pdist
from scipy.stats import pearsonr

from tfxmodal.face2music.classifiers import features_and_probabilities
from tfxmodal.face2music.probe import Face2MusicProbe, cbn_pitch_spread, translate
from tfxmodal.metrics import frechet_distance
from tfxmodal.models import AudioClassifier, AudioEmbedder, AudioMetric, WaveGANDiscriminator, WaveGANGenerator


@pytest.fixture(scope="module")
def networks():
    generator = WaveGANGenerator(2, output_batch_norm=False)
    generator.build((None, 512))
    classifiers = {"pitch": AudioClassifier(61, width=2), "family": AudioClassifier(10, width=2)}
    for model in classifiers.values():
        model.build((None, 8192))
    metric = AudioMetric(AudioEmbedder(2))
    metric.build()
    metric.set_scales(1.0, 0.01)
    return generator, classifiers, metric


def test_the_probe_scores_what_its_metrics_say(networks):
    generator, classifiers, metric = networks
    rng = np.random.default_rng(0)
    faces = rng.normal(size=(12, 512)).astype("float32")
    faces /= np.linalg.norm(faces, axis=1, keepdims=True)
    pitches = np.array([0, 10, 20, 30, 40, 50, 60, 5, 15, 25, 35, 45], np.int32)
    t = np.arange(8192) / 16000
    real = np.stack([0.2 * np.sin(2 * np.pi * (60 + 20 * i) * t) for i in range(8)]).astype("float32")
    real_pitches = np.array([0, 10, 20, 30, 1, 2, 3, 4], np.int32)
    probe = Face2MusicProbe(
        generator,
        classifiers,
        faces,
        pitches,
        real,
        real_pitches,
        audio_metric=metric,
        spectrograms=3,
        test_notes=real[::-1],
        distinct_faces=10,
    )
    metrics, images = probe()

    waveforms = translate(generator, faces, pitches)
    features, probabilities = features_and_probabilities(classifiers["pitch"], waveforms)
    assert metrics["pitch_accuracy"] == pytest.approx(np.mean(probabilities.argmax(1) == pitches))
    assert metrics["fid_pitch"] == pytest.approx(
        frechet_distance(features, features_and_probabilities(classifiers["pitch"], real)[0])
    )
    assert metrics["rms"] == pytest.approx(np.sqrt(np.mean(waveforms**2)), rel=1e-5)
    assert set(metrics) == {
        "pitch_accuracy",
        "fid_pitch",
        "fid_family",
        "is_pitch",
        "is_family",
        "pc",
        "pc_fixed_pitch",
        "rms",
        "cbn_pitch_spread",
        "image_energy",
        "f0_hits",
        "distinct_peaks",
        "peak_pitch_corr",
    }
    assert metrics["cbn_pitch_spread"] == 0.0  # untrained: every pitch row of every γ table is 1
    assert -1 <= metrics["pc"] <= 1
    # PC with every distinct face at MIDI 60 (class 36), computed here by hand from φ and SciPy.
    at_60 = translate(generator, faces[:10], np.full(10, 36, np.int32))
    expected_pc = pearsonr(pdist(faces[:10]), pdist(np.asarray(metric(at_60))))[0]
    assert metrics["pc_fixed_pitch"] == pytest.approx(expected_pc, rel=1e-4)
    # The references: real notes' level and the test notes' FID against them.
    assert probe.references["rms"] == pytest.approx(np.sqrt(np.mean(real**2)))
    assert probe.references["fid_pitch"] >= 0 and probe.references["fid_family"] >= 0
    # The real notes are sines at 60 + 20 i Hz: 8 distinct peaks; the 80 Hz sine is asked as pitch class 10
    # (MIDI 34, 58.3 Hz) and so misses, 60 Hz at class 0 (MIDI 24, 32.7 Hz) too: the hits are counted per note.
    midi = real_pitches + 24
    hits = np.abs(69 + 12 * np.log2((60 + 20 * np.arange(8)) / 440) - midi) < 0.5
    assert probe.references["f0_hits"] == pytest.approx(hits.mean())
    assert probe.references["distinct_peaks"] == 8
    assert probe.references["peak_pitch_corr"] == pytest.approx(
        np.corrcoef(69 + 12 * np.log2((60 + 20 * np.arange(8)) / 440), midi)[0, 1], abs=0.02
    )
    assert 0 <= metrics["image_energy"] <= 1 and 1 <= metrics["distinct_peaks"] <= 12
    # Spectrograms only for faces asked for a pitch the real notes have: rows 0, 1, 2 (pitches 0, 10, 20).
    rows, notes = probe.spectrogram_rows
    assert rows.tolist() == [0, 1, 2] and notes.shape == (3, 8192)
    assert images["spectrograms"].dtype == np.uint8 and images["spectrograms"].ndim == 3


def test_the_probe_needs_a_pitch_per_face(networks):
    generator, classifiers, _ = networks
    with pytest.raises(ValueError, match="one pitch each"):
        Face2MusicProbe(generator, classifiers, np.zeros((4, 512)), np.zeros(3), np.zeros((2, 8192)), np.zeros(2))


def test_the_cbn_spread_measures_how_far_the_pitch_rows_moved_apart(networks):
    generator = WaveGANGenerator(2, output_batch_norm=False)
    generator.build((None, 512))
    first = generator.project_norm.gamma
    first.assign(
        np.concatenate([np.ones((60, first.shape[1])), np.full((1, first.shape[1]), 1 + 61**0.5)]).astype("float32")
    )
    # One of the 5 tables now has std 61**0.5 * sqrt(60) / 61 per channel; the others 0.
    expected = (61**0.5 * np.sqrt(60) / 61) / 5
    assert cbn_pitch_spread(generator) == pytest.approx(expected, rel=1e-5)


def test_the_probe_scores_the_critic_on_train_and_held_out_reals(networks):
    generator, classifiers, _ = networks
    discriminator = WaveGANDiscriminator(2, batch_norm=False, seed=0)
    discriminator.build((None, 8192, 1))
    rng = np.random.default_rng(1)
    faces = rng.normal(size=(4, 512)).astype("float32")
    pitches = np.array([0, 1, 2, 3], np.int32)
    real = (0.1 * rng.normal(size=(5, 8192))).astype("float32")
    held_out = (0.3 * rng.normal(size=(3, 8192))).astype("float32")
    probe = Face2MusicProbe(
        generator,
        classifiers,
        faces,
        pitches,
        real,
        np.arange(5, dtype=np.int32),
        spectrograms=0,
        test_notes=held_out,
        discriminator=discriminator,
        test_pitch_classes=np.array([7, 8, 9], np.int32),
    )
    metrics, _ = probe()

    def mean_score(notes, labels):
        return float(np.mean(discriminator(notes[..., None], labels, training=False)))

    assert metrics["d_real_train"] == pytest.approx(mean_score(real, np.arange(5)), rel=1e-5)
    assert metrics["d_real_heldout"] == pytest.approx(mean_score(held_out, np.array([7, 8, 9])), rel=1e-5)
    assert metrics["d_fake"] == pytest.approx(mean_score(translate(generator, faces, pitches), pitches), rel=1e-5)
    with pytest.raises(ValueError, match="test_pitch_classes"):
        Face2MusicProbe(
            generator, classifiers, faces, pitches, real, np.arange(5), test_notes=held_out, discriminator=discriminator
        )
