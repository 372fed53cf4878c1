"""WAV reading with clear errors and documented conversions, and atomic writing.

TensorFlow's `tf.audio.decode_wav` reads 16-bit PCM inside graphs (the fast
path of the data pipelines); these NumPy-side functions serve files of any
common encoding, validation, and writing outputs.
"""

import os
import struct
import warnings
import wave

import numpy as np

from tfxmodal.utils.files import atomic_path


class AudioFileError(ValueError):
    """A WAV file that is missing, unreadable, or not what was expected."""


def read_wav(path, expected_sample_rate=None, mono=True):
    """Reads a WAV file as float32 samples in [-1, 1].

    Conversions: 8-bit unsigned, 16-, 24- and 32-bit PCM and 32/64-bit float
    WAVs are all accepted and scaled to [-1, 1]; with `mono=True` several
    channels are averaged into one.

    Args:
        path: file path.
        expected_sample_rate: Hz; a file at another rate raises
            `AudioFileError` (no silent resampling).
        mono: average channels and return `(samples,)`; else
            `(samples, channels)`.

    Returns:
        `(samples, sample_rate)`: float32 array and int Hz.

    Raises:
        AudioFileError: missing, empty, truncated or corrupt file, an
            unsupported encoding, or a sample-rate mismatch; the message
            names the file.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise AudioFileError(f"{path}: no such WAV file")
    if os.path.getsize(path) == 0:
        raise AudioFileError(f"{path}: empty file, expected a WAV")
    from scipy.io import wavfile  # imported here: scipy is slow to import

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", wavfile.WavFileWarning)
            sample_rate, data = wavfile.read(path)
    except (ValueError, EOFError, OSError, struct.error, wavfile.WavFileWarning) as error:
        raise AudioFileError(f"{path}: not a readable WAV file ({error})") from None
    samples = _to_float(data, path)
    if samples.shape[0] == 0:
        raise AudioFileError(f"{path}: WAV holds no samples")
    if expected_sample_rate is not None and sample_rate != expected_sample_rate:
        raise AudioFileError(
            f"{path}: sample rate {sample_rate} Hz, expected {expected_sample_rate} Hz (resample the file first)"
        )
    if samples.ndim == 1:
        samples = samples[:, None]
    if mono:
        samples = samples.mean(axis=1)
    return samples.astype(np.float32), int(sample_rate)


def _to_float(data, path):
    if data.dtype == np.uint8:
        return (data.astype(np.float32) - 128.0) / 128.0
    if data.dtype == np.int16:
        return data.astype(np.float32) / 32768.0
    if data.dtype == np.int32:
        # scipy returns 24-bit PCM left-aligned in int32, so one scale fits both.
        return data.astype(np.float32) / 2147483648.0
    if data.dtype in (np.float32, np.float64):
        return data.astype(np.float32)
    raise AudioFileError(f"{path}: unsupported WAV sample type {data.dtype}")


def write_wav(path, samples, sample_rate):
    """Writes float samples in [-1, 1] as 16-bit PCM, atomically.

    Args:
        path: destination; parent directories are created.
        samples: `(samples,)` mono or `(samples, channels)`; values outside
            [-1, 1] are clipped.
        sample_rate: Hz.
    """
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim == 1:
        samples = samples[:, None]
    if samples.ndim != 2 or samples.shape[0] == 0:
        raise ValueError(f"write_wav({path}): expected (samples[, channels]) audio, got shape {samples.shape}")
    if not np.all(np.isfinite(samples)):
        raise ValueError(f"write_wav({path}): samples contain NaN or infinity")
    pcm = np.round(np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    with atomic_path(path) as temp:
        with wave.open(temp, "wb") as handle:
            handle.setnchannels(pcm.shape[1])
            handle.setsampwidth(2)
            handle.setframerate(int(sample_rate))
            handle.writeframes(pcm.tobytes())
