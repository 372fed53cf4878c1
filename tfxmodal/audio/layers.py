"""Keras layers wrapping the audio features, for use inside models and exports."""

import keras
import tensorflow as tf

from tfxmodal.audio import features


def _mono(waveform):
    """`(batch, samples, 1)` → `(batch, samples)`; other shapes unchanged."""
    if waveform.shape.rank == 3 and waveform.shape[-1] == 1:
        return tf.squeeze(waveform, -1)
    return waveform


@keras.saving.register_keras_serializable(package="tfxmodal")
class MFCC(keras.layers.Layer):
    """`features.mfcc` as a layer: `(batch, samples[, 1])` → `(batch, frames·13)`.

    Args:
        sample_rate: Hz of the input waveform.
        **kwargs: base layer arguments.
    """

    def __init__(self, sample_rate=16000, **kwargs):
        super().__init__(**kwargs)
        self.sample_rate = sample_rate

    def call(self, waveform):
        return features.mfcc(_mono(waveform), sample_rate=self.sample_rate)

    def compute_output_shape(self, input_shape):
        samples = input_shape[1]
        size = None if samples is None else features.mfcc_size(samples)
        return (input_shape[0], size)

    def get_config(self):
        config = super().get_config()
        config.update({"sample_rate": self.sample_rate})
        return config


@keras.saving.register_keras_serializable(package="tfxmodal")
class LogMelSpectrogram(keras.layers.Layer):
    """`features.log_mel_spectrogram` as a layer.

    `(batch, samples[, 1])` → `(batch, frames, num_mel_bins)`. Arguments are
    those of `features.log_mel_spectrogram`, with the same defaults.
    """

    def __init__(
        self,
        sample_rate=16000,
        frame_length=512,
        frame_step=64,
        fft_length=None,
        num_mel_bins=128,
        lower_edge_hertz=0.0,
        upper_edge_hertz=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.sample_rate = sample_rate
        self.frame_length = frame_length
        self.frame_step = frame_step
        self.fft_length = fft_length
        self.num_mel_bins = num_mel_bins
        self.lower_edge_hertz = lower_edge_hertz
        self.upper_edge_hertz = upper_edge_hertz

    def _feature_kwargs(self):
        return {
            "sample_rate": self.sample_rate,
            "frame_length": self.frame_length,
            "frame_step": self.frame_step,
            "fft_length": self.fft_length,
            "num_mel_bins": self.num_mel_bins,
            "lower_edge_hertz": self.lower_edge_hertz,
            "upper_edge_hertz": self.upper_edge_hertz,
        }

    def call(self, waveform):
        return features.log_mel_spectrogram(_mono(waveform), **self._feature_kwargs())

    def compute_output_shape(self, input_shape):
        samples = input_shape[1]
        frames = None if samples is None else features.num_frames(samples, self.frame_length, self.frame_step)
        return (input_shape[0], frames, self.num_mel_bins)

    def get_config(self):
        config = super().get_config()
        config.update(self._feature_kwargs())
        return config
