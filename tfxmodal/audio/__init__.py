"""TF-native audio features (no tensorflow-io: it does not load on TF >= 2.17)."""

from tfxmodal.audio.features import log_mel_spectrogram, mfcc, mfcc_size, num_frames
from tfxmodal.audio.layers import MFCC, LogMelSpectrogram

__all__ = [
    "MFCC",
    "LogMelSpectrogram",
    "log_mel_spectrogram",
    "mfcc",
    "mfcc_size",
    "num_frames",
]
