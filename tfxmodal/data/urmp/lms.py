"""The example conversion shared by Sub-URMP and mini-URMP: a 0.5-s chunk's log-mel spectrogram (LMS) as an image.

`to_example` turns a frame and its audio chunk into `{"image", "lms", "audio", "label"}`
(S × S image and LMS, about [-1, 1]); `spectrogram_example` does the same with the
authors' spectrogram pictures. The LMS and its fixed normalisation: docs/data.md,
"Sub-URMP (for CAR-GAN)".
"""

import math

import tensorflow as tf

from tfxmodal.audio.features import log_mel_spectrogram
from tfxmodal.data.images import resize_image
from tfxmodal.domain import CHUNK_SECONDS, SAMPLE_RATE

LMS_SOURCES = ("audio", "image")  # the LMS computed from chunk/ WAVs, or read from spectrogram pictures


WINDOW_SECONDS = 0.032


HOP_SECONDS = 0.004


NUM_MEL_BINS = 128


MEL_UPPER_HERTZ = 8000.0


LMS_LOG_OFFSET = 1e-6


LMS_SILENCE = math.log(LMS_LOG_OFFSET)  # -13.8155: all-zero input


LMS_FULL_SCALE = 5.0  # ~ a full-scale sinusoid: 0.5 * 512 / 2 = 128 → log 4.85


LMS_CENTRE = (LMS_SILENCE + LMS_FULL_SCALE) / 2.0


LMS_HALF_RANGE = (LMS_FULL_SCALE - LMS_SILENCE) / 2.0


def chunk_samples(sample_rate=SAMPLE_RATE):
    """Samples in one 0.5-s chunk: 8000 at 16 kHz."""
    return round(CHUNK_SECONDS * sample_rate)


def lms_channels(lms="audio"):
    """Channels of the LMS input A: 1 computed from audio, 3 read from colour-mapped spectrogram pictures."""
    check_lms(lms)
    return 3 if lms == "image" else 1


def check_lms(lms):
    if lms not in LMS_SOURCES:
        raise ValueError(f"lms={lms!r}: expected one of {LMS_SOURCES}")


# --- conversion shared by Sub-URMP and mini-URMP -----------------------------


def normalise_lms(lms):
    """Fixed affine map of log-mel values to about [-1, 1] (module docstring)."""
    return (lms - LMS_CENTRE) / LMS_HALF_RANGE


def denormalise_lms(values):
    """Inverse of `normalise_lms`: back to natural-log mel amplitudes."""
    return values * LMS_HALF_RANGE + LMS_CENTRE


def lms_image(audio, image_size, sample_rate=SAMPLE_RATE):
    """A waveform chunk as a normalised 1-channel log-mel "image".

    Args:
        audio: float32 `(samples,)` in [-1, 1], at least one window long.
        image_size: output side S.
        sample_rate: Hz; window and hop scale with it (32 ms / 4 ms).

    Returns:
        float32 `(S, S, 1)`: rows are mel bands (top = high frequency),
        columns are time; values normalised by `normalise_lms`.
    """
    frame_length = round(WINDOW_SECONDS * sample_rate)
    lms = log_mel_spectrogram(
        audio,
        sample_rate=sample_rate,
        frame_length=frame_length,
        frame_step=round(HOP_SECONDS * sample_rate),
        num_mel_bins=NUM_MEL_BINS,
        lower_edge_hertz=0.0,
        upper_edge_hertz=min(MEL_UPPER_HERTZ, sample_rate / 2.0),
        log_offset=LMS_LOG_OFFSET,
    )  # (frames, mels)
    picture = tf.reverse(tf.transpose(lms), axis=[0])[..., None]  # (mels, frames, 1)
    picture = tf.image.resize(picture, [image_size, image_size], method="bilinear", antialias=True)
    return tf.ensure_shape(normalise_lms(picture), [image_size, image_size, 1])


def fit_length(audio, length):
    """Crops or zero-pads (at the end) a `(samples,)` waveform to `length`."""
    audio = audio[:length]
    return tf.ensure_shape(tf.pad(audio, [[0, length - tf.shape(audio)[0]]]), [length])


def to_example(image, audio, label, image_size, sample_rate=SAMPLE_RATE):
    """The one conversion of a (frame, chunk, label) to the output format.

    Args:
        image: uint8 `(H, W, 3)` RGB.
        audio: float32 `(samples,)` in [-1, 1] at `sample_rate`.
        label: int instrument index.
        image_size: output side S.
        sample_rate: Hz.

    Returns:
        dict: `image` float32 (S, S, 3) in [-1, 1], `lms` float32
        (S, S, 1), `audio` float32 (round(0.5 * sample_rate),), `label` int32.
    """
    audio = fit_length(tf.cast(audio, tf.float32), chunk_samples(sample_rate))
    return {
        "image": _picture(image, image_size),
        "lms": lms_image(audio, image_size, sample_rate),
        "audio": audio,
        "label": tf.cast(label, tf.int32),
    }


def _picture(image, image_size):
    """uint8 `(H, W, 3)` → float32 `(S, S, 3)` in [-1, 1], stretched (no crop) like CAR-GAN's code."""
    picture = resize_image(image, image_size, crop=False)
    return tf.clip_by_value(picture / 127.5 - 1.0, -1.0, 1.0)


def spectrogram_example(image, spectrogram, label, image_size):
    """The `lms="image"` conversion of a (frame, spectrogram picture, label).

    Args:
        image: uint8 `(H, W, 3)` RGB frame.
        spectrogram: uint8 `(h, w, 3)` RGB spectrogram picture (any size).
        label: int instrument index.
        image_size: output side S.

    Returns:
        dict: `image` float32 (S, S, 3) in [-1, 1], `lms` float32
        (S, S, 3) in [-1, 1] (the picture, converted like a frame), `label`
        int32.
    """
    return {
        "image": _picture(image, image_size),
        "lms": _picture(spectrogram, image_size),
        "label": tf.cast(label, tf.int32),
    }


def bytes_per_example(image_size, sample_rate=SAMPLE_RATE, lms="audio"):
    """Memory of one converted example (for cache decisions)."""
    if lms_channels(lms) == 3:
        return image_size * image_size * 6 * 4 + 4
    return image_size * image_size * 4 * 4 + chunk_samples(sample_rate) * 4 + 4
