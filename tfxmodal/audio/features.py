"""TF-native spectral features: log-mel spectrograms and MFCCs.

Pure functions of float waveforms built on `tf.signal`, usable eagerly,
inside `tf.function`, `tf.data.Dataset.map` and Keras models (see
`tfxmodal.audio.layers` for layer wrappers). Shapes use `...` for any
leading batch axes; time is the last axis of a waveform.
"""

import functools

import numpy as np
import tensorflow as tf

# The TensorFlow documentation's MFCC recipe (tf.signal guide), which Kim et
# al. (2020, Sec. 2.4) use: 29 frames x 13 coefficients = 377 values for an
# 8192-sample clip at 16 kHz.
MFCC_FRAME_LENGTH = 1024
MFCC_FRAME_STEP = 256
MFCC_FFT_LENGTH = 1024
MFCC_NUM_MEL_BINS = 80
MFCC_LOWER_EDGE_HERTZ = 80.0
MFCC_UPPER_EDGE_HERTZ = 7600.0
MFCC_NUM_COEFFICIENTS = 13
LOG_OFFSET = 1e-6


def num_frames(num_samples, frame_length, frame_step):
    """Frames an STFT without end padding yields for `num_samples` samples."""
    if num_samples < frame_length:
        return 0
    return 1 + (num_samples - frame_length) // frame_step


def mfcc_size(
    num_samples, frame_length=MFCC_FRAME_LENGTH, frame_step=MFCC_FRAME_STEP, num_coefficients=MFCC_NUM_COEFFICIENTS
):
    """Length of the flattened `mfcc` vector: 377 for 8192 samples."""
    return num_frames(num_samples, frame_length, frame_step) * num_coefficients


def _checked_waveform(waveform, frame_length, caller):
    """Converts to a float tensor `(..., samples)` or raises a clear error."""
    if not tf.is_tensor(waveform):
        array = np.asarray(waveform)
        if array.dtype.kind != "f":
            raise TypeError(
                f"{caller}: waveform must hold float samples in [-1, 1]; got "
                f"dtype {array.dtype}. Scale integer PCM first, e.g. int16 / 32768."
            )
        waveform = tf.convert_to_tensor(array)
    elif not waveform.dtype.is_floating:
        raise TypeError(
            f"{caller}: waveform must hold float samples in [-1, 1]; got dtype "
            f"{waveform.dtype.name}. Scale integer PCM first, e.g. int16 / 32768."
        )
    if waveform.shape.rank == 0:
        raise ValueError(f"{caller}: waveform must have shape (..., samples); got a scalar.")
    samples = waveform.shape[-1]
    if samples is not None and samples < frame_length:
        raise ValueError(
            f"{caller}: waveform has {samples} samples along its last axis; need at least frame_length={frame_length}."
        )
    return waveform


@functools.lru_cache(maxsize=32)
def _mel_matrix(num_mel_bins, num_spectrogram_bins, sample_rate, lower, upper):
    with tf.init_scope():
        return tf.signal.linear_to_mel_weight_matrix(
            num_mel_bins=num_mel_bins,
            num_spectrogram_bins=num_spectrogram_bins,
            sample_rate=sample_rate,
            lower_edge_hertz=lower,
            upper_edge_hertz=upper,
            dtype=tf.float64,
        ).numpy()


def log_mel_spectrogram(
    waveform,
    sample_rate=16000,
    frame_length=512,
    frame_step=64,
    fft_length=None,
    num_mel_bins=128,
    lower_edge_hertz=0.0,
    upper_edge_hertz=None,
    log_offset=LOG_OFFSET,
):
    """Log-amplitude mel spectrogram ("LMS", CAR-GAN's audio input).

    Periodic-Hann STFT (no end padding) → magnitude → triangular HTK-mel
    filterbank → `log(mel + log_offset)`.

    The defaults suit CAR-GAN's half-second chunks: at 16 kHz, 8000 samples
    give 118 frames (32 ms windows every 4 ms) × 128 mel bins over 0–8 kHz,
    which the CAR-GAN pipeline resizes to the image size.

    Args:
        waveform: float tensor `(..., samples)`, values in [-1, 1].
        sample_rate: Hz.
        frame_length: window length in samples.
        frame_step: hop in samples.
        fft_length: FFT size; defaults to the next power of two ≥
            `frame_length`.
        num_mel_bins: mel bands.
        lower_edge_hertz: lowest filter edge, Hz.
        upper_edge_hertz: highest filter edge, Hz (default Nyquist).
        log_offset: added before the log, avoids log(0).

    Returns:
        float32 tensor `(..., frames, num_mel_bins)`, natural-log units,
        with `frames = 1 + (samples - frame_length) // frame_step`.
    """
    waveform = _checked_waveform(waveform, frame_length, "log_mel_spectrogram")
    waveform = tf.cast(waveform, tf.float32)
    if fft_length is None:
        fft_length = int(2 ** np.ceil(np.log2(frame_length)))
    if upper_edge_hertz is None:
        upper_edge_hertz = sample_rate / 2.0
    magnitude = tf.abs(
        tf.signal.stft(
            waveform,
            frame_length=frame_length,
            frame_step=frame_step,
            fft_length=fft_length,
            window_fn=tf.signal.hann_window,
            pad_end=False,
        )
    )
    mel_matrix = tf.constant(
        _mel_matrix(
            int(num_mel_bins),
            fft_length // 2 + 1,
            float(sample_rate),
            float(lower_edge_hertz),
            float(upper_edge_hertz),
        ),
        dtype=tf.float32,
    )
    mel = tf.tensordot(magnitude, mel_matrix, 1)
    return tf.math.log(mel + log_offset)


def mfcc(
    waveform,
    sample_rate=16000,
    num_coefficients=MFCC_NUM_COEFFICIENTS,
    frame_length=MFCC_FRAME_LENGTH,
    frame_step=MFCC_FRAME_STEP,
    fft_length=MFCC_FFT_LENGTH,
    num_mel_bins=MFCC_NUM_MEL_BINS,
    lower_edge_hertz=MFCC_LOWER_EDGE_HERTZ,
    upper_edge_hertz=MFCC_UPPER_EDGE_HERTZ,
    flatten=True,
):
    """MFCCs by the TensorFlow documentation's recipe, flattened.

    STFT 1024/256/1024 (periodic Hann, no end padding) → magnitude → 80
    HTK-mel bands over 80–7600 Hz → `log(mel + 1e-6)` → orthonormal-scaled
    DCT-II (`tf.signal.mfccs_from_log_mel_spectrograms`) → first 13
    coefficients. For 8192 samples at 16 kHz that is 29 frames × 13 = 377
    values, the MFCC part of Kim et al.'s 505-d audio metric.

    Args:
        waveform: float tensor `(..., samples)`, values in [-1, 1].
        sample_rate: Hz.
        num_coefficients: cepstral coefficients kept per frame.
        frame_length, frame_step, fft_length: STFT parameters in samples.
        num_mel_bins, lower_edge_hertz, upper_edge_hertz: mel filterbank.
        flatten: return `(..., frames * num_coefficients)` (frame-major)
            instead of `(..., frames, num_coefficients)`.

    Returns:
        float32 tensor `(..., frames * num_coefficients)`, or `(..., frames,
        num_coefficients)` when `flatten=False`.
    """
    log_mel = log_mel_spectrogram(
        waveform,
        sample_rate=sample_rate,
        frame_length=frame_length,
        frame_step=frame_step,
        fft_length=fft_length,
        num_mel_bins=num_mel_bins,
        lower_edge_hertz=lower_edge_hertz,
        upper_edge_hertz=upper_edge_hertz,
    )
    coefficients = tf.signal.mfccs_from_log_mel_spectrograms(log_mel)[..., :num_coefficients]
    if not flatten:
        return coefficients
    frames = coefficients.shape[-2]
    flat = tf.reshape(coefficients, tf.concat([tf.shape(coefficients)[:-2], [-1]], axis=0))
    flat_size = None if frames is None else frames * num_coefficients
    return tf.ensure_shape(flat, coefficients.shape[:-2].concatenate([flat_size]))
