"""The audio metric φ(y) = [λ1·ψ(y), λ2·MFCC(y)] (Kim et al. 2020, Eq. 6)."""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tfxmodal.audio.features import mfcc, mfcc_size
from tfxmodal.domain import CLIP_SAMPLES
from tfxmodal.models.audio_encoder import AudioEmbedder


@keras.saving.register_keras_serializable(package="tfxmodal")
class AudioMetric(keras.Model):
    """Waveform → 505-d audio-metric features; L2 distance on them is the metric.

    φ concatenates the frozen triplet embedding ψ (128-d unit vectors) and
    the 377 flattened MFCCs, each scaled by a normalization factor computed
    once from the target dataset. The paper sets the factors "to the maximum
    distance between any two audio samples in the target dataset" as
    *normalization factors*; we read that as dividing by it: λ1 = 1 / max
    pairwise ψ distance, λ2 = 1 / max pairwise MFCC distance, so that both
    parts span distances up to 1 and neither swamps the other (MFCC
    distances are in the hundreds, ψ distances at most 2).

    Args:
        embedder: a built `AudioEmbedder` (ψ); kept frozen.
        sample_rate: Hz of the waveforms (MFCC filterbank).

    Call arguments:
        waveform: float `(batch, 8192[, 1])`.

    Returns:
        float32 `(batch, embedding_dim + 377)`.
    """

    def __init__(self, embedder, sample_rate=16000, **kwargs):
        super().__init__(**kwargs)
        if isinstance(embedder, dict):
            embedder = keras.saving.deserialize_keras_object(embedder)
        self.embedder = embedder
        self.embedder.trainable = False
        self.sample_rate = int(sample_rate)
        self.psi_scale = self.add_weight(shape=(), initializer="ones", trainable=False, name="psi_scale")
        self.mfcc_scale = self.add_weight(shape=(), initializer="ones", trainable=False, name="mfcc_scale")

    def build(self, waveform_shape=None):
        if not self.embedder.built:
            self.embedder.build((None, CLIP_SAMPLES))
        self.built = True

    @property
    def feature_dim(self):
        return self.embedder.embedding_dim + mfcc_size(CLIP_SAMPLES)

    def parts(self, waveform):
        """Unscaled `(ψ(y), MFCC(y))`, shapes `(batch, 128)` and `(batch, 377)`."""
        if len(waveform.shape) == 3:
            waveform = ops.squeeze(waveform, -1)
        psi = self.embedder(waveform, training=False)
        return psi, mfcc(waveform, sample_rate=self.sample_rate)

    def call(self, waveform, training=None):
        psi, coefficients = self.parts(waveform)
        return ops.concatenate([self.psi_scale * psi, self.mfcc_scale * coefficients], axis=-1)

    def set_scales(self, psi_scale, mfcc_scale):
        """Sets λ1, λ2 (e.g. from `fit_scales` or a stored run)."""
        self.psi_scale.assign(float(psi_scale))
        self.mfcc_scale.assign(float(mfcc_scale))

    def fit_scales(self, waveforms, batch_size=256):
        """Sets λ1, λ2 from real target waveforms `(n, 8192)`; returns them.

        Computes both feature sets for all `n` clips and their exact maximum
        pairwise L2 distances (blockwise, O(n²) distances): pass a seeded
        subset of a large dataset.
        """
        psi_list, mfcc_list = [], []
        for start in range(0, len(waveforms), batch_size):
            psi, coefficients = self.parts(tf.convert_to_tensor(waveforms[start : start + batch_size]))
            psi_list.append(np.asarray(psi))
            mfcc_list.append(np.asarray(coefficients))
        psi_max = max_pairwise_distance(np.concatenate(psi_list))
        mfcc_max = max_pairwise_distance(np.concatenate(mfcc_list))
        if psi_max <= 0 or mfcc_max <= 0:
            raise ValueError("AudioMetric.fit_scales: all clips are identical; need distinct target audio")
        self.set_scales(1.0 / psi_max, 1.0 / mfcc_max)
        return 1.0 / psi_max, 1.0 / mfcc_max

    def get_config(self):
        config = super().get_config()
        config.update({"embedder": keras.saving.serialize_keras_object(self.embedder), "sample_rate": self.sample_rate})
        return config


def max_pairwise_distance(points, block=2048):
    """Exact max L2 distance between rows of `points` `(n, dim)`, in blocks."""
    points = np.asarray(points, np.float64)
    squared = np.sum(points**2, axis=1)
    best = 0.0
    for start in range(0, len(points), block):
        rows = points[start : start + block]
        d2 = squared[start : start + block, None] + squared[None, :] - 2.0 * rows @ points.T
        best = max(best, float(np.max(d2)))
    return float(np.sqrt(max(best, 0.0)))


__all__ = ["AudioEmbedder", "AudioMetric", "max_pairwise_distance"]
