"""Does a translation sound at the pitch it was asked for? Spectral-peak diagnostics of a batch of notes.

These move long before a pitch classifier's accuracy does: a generator that
ignores its pitch input puts every note's strongest peak at the same
frequency (one distinct peak, a correlation near 0 with the requested
pitch), and one that starts to follow it spreads its peaks and correlates
before the peaks land within half a semitone.

All take waveforms `(n, samples)` at `sample_rate` Hz and use a Hann-windowed
magnitude spectrum of the whole clip (8192 samples at 16 kHz: 1.95 Hz bins).
"""

import numpy as np

from tfxmodal.domain import SAMPLE_RATE

# Bins below this are ignored when looking for the strongest peak: DC and the
# window's leakage around it (10 bins of 8192 samples at 16 kHz = 19.5 Hz,
# below MIDI pitch 24's 32.7 Hz).
LOWEST_PEAK_BIN = 10


def midi_to_hz(midi):
    """Equal-tempered frequency in Hz of MIDI pitch numbers (69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((np.asarray(midi, np.float64) - 69.0) / 12.0)


def hz_to_midi(hz):
    """Fractional MIDI pitch of frequencies in Hz."""
    return 69.0 + 12.0 * np.log2(np.asarray(hz, np.float64) / 440.0)


def magnitude_spectrum(waveforms):
    """`(n, samples // 2 + 1)` magnitudes of the Hann-windowed clips."""
    waveforms = np.asarray(waveforms, np.float64)
    if waveforms.ndim != 2:
        raise ValueError(f"magnitude_spectrum: expected waveforms (n, samples), got shape {waveforms.shape}")
    return np.abs(np.fft.rfft(waveforms * np.hanning(waveforms.shape[1]), axis=1))


def strongest_peak_hz(waveforms, sample_rate=SAMPLE_RATE):
    """`(n,)` frequency in Hz of each clip's strongest spectral bin above `LOWEST_PEAK_BIN`."""
    spectrum = magnitude_spectrum(waveforms)
    peak = spectrum[:, LOWEST_PEAK_BIN:].argmax(axis=1) + LOWEST_PEAK_BIN
    return peak * sample_rate / np.asarray(waveforms).shape[1]


def f0_hit_rate(waveforms, requested_midi, sample_rate=SAMPLE_RATE, tolerance_semitones=0.5):
    """Share of clips whose strongest peak lies within `tolerance_semitones` of the requested pitch's f0."""
    peaks = strongest_peak_hz(waveforms, sample_rate)
    return float(np.mean(np.abs(hz_to_midi(peaks) - np.asarray(requested_midi, np.float64)) < tolerance_semitones))


def distinct_peaks(waveforms, sample_rate=SAMPLE_RATE):
    """How many different semitones (nearest MIDI pitch) the clips' strongest peaks fall on."""
    return len(np.unique(np.round(hz_to_midi(strongest_peak_hz(waveforms, sample_rate)))))


def peak_pitch_correlation(waveforms, requested_midi, sample_rate=SAMPLE_RATE):
    """Pearson correlation of the strongest peak's MIDI pitch with the requested one; 0 if either is constant."""
    produced = hz_to_midi(strongest_peak_hz(waveforms, sample_rate))
    requested = np.asarray(requested_midi, np.float64)
    if produced.std() == 0 or requested.std() == 0:
        return 0.0
    return float(np.corrcoef(produced, requested)[0, 1])


def image_frequencies(input_rates_hz, strides, sample_rate=SAMPLE_RATE):
    """Frequencies (Hz, below Nyquist) where upsampling by zero-stuffing leaves images: k · rate, 0 < k < stride.

    Args:
        input_rates_hz: sample rate of each upsampling layer's input.
        strides: each layer's upsampling factor.
    """
    frequencies = {
        k * rate
        for rate, stride in zip(input_rates_hz, strides)
        for k in range(1, int(stride))
        if k * rate < sample_rate / 2
    }
    return np.array(sorted(frequencies), np.float64)


def image_energy_share(waveforms, frequencies_hz, sample_rate=SAMPLE_RATE, bandwidth_hz=10.0):
    """Share of each clip's spectral energy within ±`bandwidth_hz` of `frequencies_hz`, averaged over clips.

    For a batch without such combs this is about the bands' share of the
    spectrum (2 · bandwidth · count / Nyquist); a transposed convolution's
    images raise it.
    """
    power = magnitude_spectrum(waveforms) ** 2
    bins = np.fft.rfftfreq(np.asarray(waveforms).shape[1], 1.0 / sample_rate)
    inside = np.zeros(len(bins), bool)
    for frequency in np.asarray(frequencies_hz, np.float64):
        inside |= np.abs(bins - frequency) <= bandwidth_hz
    total = power.sum(axis=1)
    share = np.divide(power[:, inside].sum(axis=1), total, out=np.zeros_like(total), where=total > 0)
    return float(share.mean())
