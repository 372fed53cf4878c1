"""A cheap face → music evaluation for the learning curve (`Face2MusicProbe`).

Scores the generator as it trains on a fixed evaluation set — the same
faces, the same requested pitches and the same real notes at every point —
with the already-trained pitch and family classifiers of Table 1:

- `pitch_accuracy`: how often the pitch classifier hears the requested
  pitch in a translation (chance 1/61);
- `fid_pitch`, `fid_family`: Fréchet distance of the translations' and the
  real notes' classifier features (lower is better), `is_pitch`,
  `is_family`: Inception Scores of the translations (higher is better);
- `pc`: Pearson correlation of face and φ distances (variants with φ), the
  faces at their requested pitches (Table 1's PC); `pc_fixed_pitch`: the
  same with every face asked for one pitch (`FIXED_PITCH`). The requested
  pitches are drawn independently of the faces, so a generator that
  follows them adds pitch distances to φ that no face distance predicts;
  the fixed-pitch PC shows how much of the face geometry the timbre keeps;
- `rms`: the translations' RMS level, beside the real notes' (a generator
  stuck at loud noise shows here first);
- `cbn_pitch_spread`: how far the generator's pitch-conditional batch norms
  have moved apart — the mean over its CBN layers and channels of the
  standard deviation of γ across the pitch rows (0 at the start, when every
  pitch has γ = 1; the generator can only follow the pitch as this grows);
- `f0_hits`, `distinct_peaks`, `peak_pitch_corr` (`metrics.spectral_peaks`):
  how often the strongest spectral peak is at the requested f0, on how many
  semitones the peaks of the batch fall, and the correlation of the peak's
  pitch with the requested one; the real notes' values are the references
  (their strongest peak is often a harmonic, so their f0 hits are < 1);
- `image_energy`: the share of the translations' energy within ±10 Hz of
  the frequencies where the last three transposed convolutions leave images
  (multiples of 500, 2,000 and 8,000 Hz below Nyquist), real notes as the
  reference;
- with a discriminator: D1's mean score on the reference notes
  (`d_real_train`, notes it trains on), on held-out notes of the test split
  (`d_real_heldout`) and on the translations (`d_fake`). A critic that
  memorises scores train reals far above held-out ones; one that finds a
  real difference scores held-out reals like train reals, above fakes.

It also draws spectrograms of real notes beside translations at the same
pitch. Measured cost at d = 8 with 512 translations: a few seconds
(docs/benchmarks.md, "Learning-curve points").
"""

import numpy as np

from tfxmodal.domain import LOWEST_PITCH, SAMPLE_RATE, midi_pitch
from tfxmodal.face2music import figures
from tfxmodal.face2music.classifiers import features_and_probabilities
from tfxmodal.metrics import frechet_distance, inception_score, pairwise_distance_correlation, spectral_peaks
from tfxmodal.models.wavegan import STRIDES, upsampling_input_rates
from tfxmodal.utils.tracing import infer

PANELS = (
    ("pitch_accuracy", "pitch accuracy of translations (chance 1/61)", False),
    ("fid_pitch", "FID, pitch classifier", True),
    ("fid_family", "FID, family classifier", True),
    ("is_pitch", "IS, pitch classifier", False),
    ("pc", "PC (face vs φ distances)", False),
    ("pc_fixed_pitch", "PC, every face at MIDI 60", False),
    ("rms", "RMS level of translations", False),
    ("cbn_pitch_spread", "spread of the CBN gammas across pitches", False),
    ("f0_hits", "strongest peak at the requested f0", False),
    ("distinct_peaks", "distinct peak semitones in the batch", False),
    ("peak_pitch_corr", "corr(peak pitch, requested pitch)", False),
    ("image_energy", "energy share at the upsampling images", False),
    ("d_real_train", "D1 score: train reals", False),
    ("d_real_heldout", "D1 score: held-out reals", False),
    ("d_fake", "D1 score: translations", False),
)
# The pitch every face is asked for in `pc_fixed_pitch`: middle C, the middle of the paper's range 24-84.
FIXED_PITCH = 60
# The last three upsampling layers' images (500, 2,000, 8,000 Hz inputs): above the lowest partials.
IMAGE_LAYERS = 3


def cbn_pitch_spread(generator):
    """Mean over the generator's conditional batch norms and channels of std(γ over pitch rows); None without any."""
    tables = [
        layer.gamma
        for layer in generator._flatten_layers()
        if getattr(layer, "gamma", None) is not None and len(layer.gamma.shape) == 2
    ]
    if not tables:
        return None
    return float(np.mean([np.std(np.asarray(gamma), axis=0).mean() for gamma in tables]))


def peak_metrics(waveforms, pitch_classes):
    """`f0_hits`, `distinct_peaks`, `peak_pitch_corr` of clips `(n, samples)` asked for `pitch_classes`."""
    midi = np.asarray(pitch_classes, np.int64) + LOWEST_PITCH
    return {
        "f0_hits": spectral_peaks.f0_hit_rate(waveforms, midi),
        "distinct_peaks": spectral_peaks.distinct_peaks(waveforms),
        "peak_pitch_corr": spectral_peaks.peak_pitch_correlation(waveforms, midi),
    }


def generator_image_frequencies():
    """Hz where the WaveGAN generator's last `IMAGE_LAYERS` transposed convolutions leave images."""
    rates = upsampling_input_rates(SAMPLE_RATE)[-IMAGE_LAYERS:]
    return spectral_peaks.image_frequencies(rates, STRIDES[-IMAGE_LAYERS:], SAMPLE_RATE)


def fixed_pitch_correlation(generator, audio_metric, embeddings, pitch=FIXED_PITCH, batch_size=128):
    """PC of face and φ distances with every face `(n, 512)` translated at MIDI `pitch`."""
    waveforms = translate(generator, embeddings, np.full(len(embeddings), pitch - LOWEST_PITCH, np.int32))
    phi = np.concatenate(
        [np.asarray(audio_metric(waveforms[i : i + batch_size])) for i in range(0, len(waveforms), batch_size)]
    )
    return pairwise_distance_correlation(embeddings, phi)


def discriminator_scores(discriminator, waveforms, pitch_classes, batch_size=128):
    """D1's mean score (inference mode) on clips `(n, samples)` at `pitch_classes`."""
    scores = [
        np.asarray(
            infer(discriminator, waveforms[i : i + batch_size, :, None], pitch_classes[i : i + batch_size])
        ).reshape(-1)
        for i in range(0, len(waveforms), batch_size)
    ]
    return float(np.mean(np.concatenate(scores)))


def translate(generator, embeddings, pitch_classes, batch_size=128):
    """Waveforms `(n, samples)` of the generator (inference mode) for embeddings and pitch classes."""
    outputs = [
        infer(generator, embeddings[i : i + batch_size], pitch_classes[i : i + batch_size])[..., 0]
        for i in range(0, len(embeddings), batch_size)
    ]
    return np.concatenate(outputs)


class Face2MusicProbe:
    """Scores a face → music generator on a fixed set of faces and pitches.

    Args:
        generator: `(embedding (n, 512), pitch class (n,)) -> (n, samples, 1)`.
        classifiers: `{"pitch": AudioClassifier, "family": AudioClassifier}`.
        embeddings: `(n, 512)` face embeddings translated at every point.
        pitch_classes: `(n,)` int pitch classes asked for.
        real_notes: `(m, samples)` real target notes (the reference set).
        real_pitch_classes: `(m,)` their pitch classes.
        audio_metric: φ (`AudioMetric`) for `pc`, or None.
        spectrograms: how many (real, translation) spectrogram pairs to draw.
        test_notes: `(k, samples)` real notes of the test split: their FIDs
            against `real_notes` are the curve's reference lines.
        distinct_faces: `pc` is computed on the first this many rows (the
            evaluation set may repeat a face at other pitches); None: all.
        discriminator: D1, for `d_real_train`, `d_real_heldout`, `d_fake`;
            None: not scored.
        test_pitch_classes: `(k,)` the test notes' pitch classes (needed
            with a discriminator and test notes).
    """

    panels = PANELS

    def __init__(
        self,
        generator,
        classifiers,
        embeddings,
        pitch_classes,
        real_notes,
        real_pitch_classes,
        audio_metric=None,
        spectrograms=6,
        test_notes=None,
        distinct_faces=None,
        discriminator=None,
        test_pitch_classes=None,
    ):
        self.generator = generator
        self.discriminator = discriminator
        self.classifiers = dict(classifiers)
        self.embeddings = np.asarray(embeddings, np.float32)
        self.pitch_classes = np.asarray(pitch_classes, np.int32)
        if len(self.embeddings) != len(self.pitch_classes) or len(self.embeddings) < 3:
            raise ValueError(
                f"Face2MusicProbe: need >= 3 faces with one pitch each, got {len(self.embeddings)} "
                f"and {len(self.pitch_classes)}"
            )
        self.audio_metric = audio_metric
        real_notes = np.asarray(real_notes, np.float32)
        self.real_features = {
            kind: features_and_probabilities(model, real_notes)[0] for kind, model in self.classifiers.items()
        }
        self.distinct_faces = distinct_faces
        self.real_notes = real_notes
        self.real_pitch_classes = np.asarray(real_pitch_classes, np.int32)
        self.image_frequencies = generator_image_frequencies()
        self.references = {
            "rms": float(np.sqrt(np.mean(real_notes**2))),
            "image_energy": spectral_peaks.image_energy_share(real_notes, self.image_frequencies),
            **peak_metrics(real_notes, self.real_pitch_classes),
        }
        self.test_notes = None if test_notes is None else np.asarray(test_notes, np.float32)
        self.test_pitch_classes = None if test_pitch_classes is None else np.asarray(test_pitch_classes, np.int32)
        if discriminator is not None and self.test_notes is not None and self.test_pitch_classes is None:
            raise ValueError("Face2MusicProbe: a discriminator with test_notes needs their test_pitch_classes")
        if test_notes is not None:
            for kind, model in self.classifiers.items():
                test_features = features_and_probabilities(model, np.asarray(test_notes, np.float32))[0]
                self.references[f"fid_{kind}"] = frechet_distance(test_features, self.real_features[kind])
        self.spectrogram_rows = self._spectrogram_rows(real_notes, np.asarray(real_pitch_classes), spectrograms)

    def _spectrogram_rows(self, real_notes, real_pitch_classes, count):
        """`(indices into the evaluation set, real notes)`: faces whose pitch has a real note."""
        rows, notes = [], []
        for index, pitch in enumerate(self.pitch_classes):
            matches = np.flatnonzero(real_pitch_classes == pitch)
            if len(matches) and len(rows) < count:
                rows.append(index)
                notes.append(real_notes[matches[len(rows) % len(matches)]])
        return np.asarray(rows, np.int64), np.asarray(notes)

    def __call__(self):
        """`(metrics, images)` of the generator now (see the module docstring)."""
        waveforms = translate(self.generator, self.embeddings, self.pitch_classes)
        metrics = {
            "rms": float(np.sqrt(np.mean(waveforms**2))),
            "image_energy": spectral_peaks.image_energy_share(waveforms, self.image_frequencies),
            **peak_metrics(waveforms, self.pitch_classes),
        }
        if self.discriminator is not None:
            metrics["d_real_train"] = discriminator_scores(self.discriminator, self.real_notes, self.real_pitch_classes)
            metrics["d_fake"] = discriminator_scores(self.discriminator, waveforms, self.pitch_classes)
            if self.test_notes is not None:
                metrics["d_real_heldout"] = discriminator_scores(
                    self.discriminator, self.test_notes, self.test_pitch_classes
                )
        spread = cbn_pitch_spread(self.generator)
        if spread is not None:
            metrics["cbn_pitch_spread"] = spread
        for kind, model in self.classifiers.items():
            features, probabilities = features_and_probabilities(model, waveforms)
            metrics[f"fid_{kind}"] = frechet_distance(features, self.real_features[kind])
            metrics[f"is_{kind}"] = inception_score(probabilities)
            if kind == "pitch":
                metrics["pitch_accuracy"] = float(np.mean(np.argmax(probabilities, axis=1) == self.pitch_classes))
        if self.audio_metric is not None:
            phi = np.concatenate(
                [np.asarray(self.audio_metric(waveforms[i : i + 128])) for i in range(0, len(waveforms), 128)]
            )
            rows = slice(0, self.distinct_faces)
            metrics["pc"] = pairwise_distance_correlation(self.embeddings[rows], phi[rows])
            metrics["pc_fixed_pitch"] = fixed_pitch_correlation(
                self.generator, self.audio_metric, self.embeddings[rows]
            )
        images = {}
        rows, real = self.spectrogram_rows
        if len(rows):
            images["spectrograms"] = figures.spectrogram_pairs(
                real, waveforms[rows], [midi_pitch(int(p)) for p in self.pitch_classes[rows]]
            )
        return metrics, images
