"""Audio files through `soundfile` (libsndfile), resampled with `soxr`; atomic WAV writing.

TensorFlow's `tf.audio.decode_wav` reads 16-bit PCM WAVs inside graphs (the
fast path of the data pipelines); these NumPy-side functions serve every
file libsndfile reads — WAV of every PCM and float width (8-bit unsigned,
16/24/32-bit, float32/64), WAVE_FORMAT_EXTENSIBLE, FLAC, OGG, AIFF — with
the file named in every error:

- `audio_info(path)`: format, channels, rate and length from the header,
  without reading the samples (a WAV whose data chunk is shorter than its
  header declares is reported as truncated);
- `read_audio(path, sample_rate=None, mono=True)`: float32 samples in
  [-1, 1], channels averaged with `mono`, resampled to `sample_rate` when
  the file has another rate (soxr's band-limited "HQ" resampler);
- `write_wav(path, samples, sample_rate)`: 16-bit PCM, atomically.
"""

import dataclasses
import os
import re

import numpy as np
import soundfile
import soxr

from tfxmodal.errors import AudioFileError
from tfxmodal.utils.files import atomic_path

# Extensions of the audio files the readers look for (all of them libsndfile formats).
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".aif", ".aiff")


@dataclasses.dataclass(frozen=True)
class AudioInfo:
    """An audio file's format, read from its header.

    Attributes:
        path: the file.
        format: libsndfile's container name (``"WAV"``, ``"FLAC"``, ...).
        subtype: its sample encoding (``"PCM_16"``, ``"PCM_24"``, ``"FLOAT"``, ...).
        channels, sample_rate (Hz), frames (samples per channel).
    """

    path: str
    format: str
    subtype: str
    channels: int
    sample_rate: int
    frames: int

    @property
    def graph_decodable(self):
        """Whether `tf.audio.decode_wav` reads it: a 16-bit PCM WAV."""
        return self.format == "WAV" and self.subtype == "PCM_16"

    @property
    def encoding(self):
        """`"<format> <subtype>"`, e.g. `"WAV PCM_24"` (for reports)."""
        return f"{self.format} {self.subtype}"


_DECLARED_DATA = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)


def _check_exists(path):
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise AudioFileError(f"{path}: no such audio file")
    if os.path.getsize(path) == 0:
        raise AudioFileError(f"{path}: empty file, expected a WAV (or FLAC, OGG) audio file")
    return path


def audio_info(path):
    """The `AudioInfo` of `path` without reading its samples.

    Raises:
        AudioFileError: missing, empty, not an audio file libsndfile reads,
            truncated, or without samples; the message names the file.
    """
    path = _check_exists(path)
    try:
        info = soundfile.info(path)
    except (RuntimeError, soundfile.LibsndfileError) as error:
        raise AudioFileError(f"{path}: not a readable audio file ({_reason(error)})") from None
    truncated = _DECLARED_DATA.search(info.extra_info or "")
    if truncated:
        declared, present = int(truncated.group(1)), int(truncated.group(2))
        raise AudioFileError(f"{path}: truncated WAV ({present} of {declared} data bytes)")
    if info.frames == 0:
        raise AudioFileError(f"{path}: the file holds no samples")
    return AudioInfo(path, info.format, info.subtype, int(info.channels), int(info.samplerate), int(info.frames))


def _reason(error):
    text = str(error)
    return text.split(": ", 1)[-1] if text.startswith("Error opening") else text


def resample(samples, from_rate, to_rate):
    """`samples` `(frames,)` or `(frames, channels)` at `from_rate` Hz → at `to_rate` Hz (soxr HQ)."""
    if from_rate == to_rate:
        return samples

    return soxr.resample(samples, from_rate, to_rate, quality="HQ").astype(np.float32)


def read_audio(path, sample_rate=None, mono=True):
    """Reads an audio file as float32 samples in [-1, 1].

    Args:
        path: file path (WAV of any PCM/float width, FLAC, OGG, ...).
        sample_rate: Hz to return the samples at: a file at another rate is
            resampled (soxr, band-limited); None keeps the file's rate.
        mono: average the channels and return `(samples,)`; else
            `(samples, channels)`.

    Returns:
        `(samples, sample_rate)`: float32 array and int Hz.

    Raises:
        AudioFileError: missing, empty, truncated, corrupt or unreadable;
            the message names the file.
    """
    path = _check_exists(path)
    audio_info(path)  # truncation and emptiness, named
    try:
        samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as error:
        raise AudioFileError(f"{path}: not a readable audio file ({_reason(error)})") from None
    if samples.shape[0] == 0:
        raise AudioFileError(f"{path}: the file holds no samples")
    if mono:
        samples = samples.mean(axis=1)
    if sample_rate is not None and rate != sample_rate:
        samples, rate = resample(samples, rate, sample_rate), sample_rate
    return np.asarray(samples, np.float32), int(rate)


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
        soundfile.write(temp, pcm, int(sample_rate), subtype="PCM_16", format="WAV")
