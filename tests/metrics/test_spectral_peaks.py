"""Spectral-peak diagnostics against sines and zero-stuffed signals whose answers are known."""

import numpy as np
import pytest

from tfxmodal.metrics import spectral_peaks

RATE = 16000
T = np.arange(8192) / RATE


def sines(frequencies, amplitude=0.3):
    return np.stack([amplitude * np.sin(2 * np.pi * f * T + 0.3) for f in frequencies])


def test_midi_and_hz_are_inverse_and_anchored_at_a440():
    assert spectral_peaks.midi_to_hz(69) == pytest.approx(440.0)
    assert spectral_peaks.midi_to_hz(24) == pytest.approx(32.703, abs=1e-3)
    assert spectral_peaks.hz_to_midi(spectral_peaks.midi_to_hz([24.0, 60.5, 84.0])) == pytest.approx([24, 60.5, 84])


def test_the_strongest_peak_is_the_sine_frequency_within_a_bin():
    frequencies = [40.0, 261.63, 1046.5, 3000.0]
    peaks = spectral_peaks.strongest_peak_hz(sines(frequencies))
    assert peaks == pytest.approx(frequencies, abs=RATE / 8192)


def test_f0_hits_count_peaks_within_half_a_semitone():
    midi = np.array([40, 50, 60, 70])
    waveforms = sines(spectral_peaks.midi_to_hz(midi + np.array([0.0, 0.3, 0.7, -1.0])))
    # Off by 0, 0.3 (hit), 0.7 and 1 semitone (misses).
    assert spectral_peaks.f0_hit_rate(waveforms, midi) == pytest.approx(0.5)


def test_distinct_peaks_and_correlation_tell_a_pitch_blind_batch_from_one_that_follows():
    midi = np.arange(30, 80, 5)
    following = sines(spectral_peaks.midi_to_hz(midi))
    blind = sines(np.full(len(midi), 523.25))
    assert spectral_peaks.distinct_peaks(following) == len(midi)
    assert spectral_peaks.peak_pitch_correlation(following, midi) == pytest.approx(1.0, abs=1e-3)
    assert spectral_peaks.distinct_peaks(blind) == 1
    assert spectral_peaks.peak_pitch_correlation(blind, midi) == 0.0
    # An octave-shifted batch still correlates perfectly but hits nothing.
    octave_up = sines(spectral_peaks.midi_to_hz(midi + 12))
    assert spectral_peaks.peak_pitch_correlation(octave_up, midi) == pytest.approx(1.0, abs=1e-3)
    assert spectral_peaks.f0_hit_rate(octave_up, midi) == 0.0


def test_image_frequencies_are_the_multiples_of_each_input_rate_below_nyquist():
    frequencies = spectral_peaks.image_frequencies([500.0, 2000.0, 8000.0], [4, 4, 2], RATE)
    assert frequencies.tolist() == [500.0, 1000.0, 1500.0, 2000.0, 4000.0, 6000.0]


def test_zero_stuffing_puts_energy_at_the_images_and_repetition_takes_most_away():
    rng = np.random.default_rng(0)
    # A smooth signal at 2 kHz (low-passed noise), upsampled x4 to 8 kHz two ways, then x2 to 16 kHz.
    low = np.convolve(rng.normal(size=2048 + 64), np.hanning(64) / 32, mode="valid")[:2048]
    stuffed = np.zeros(8192)
    stuffed[::4] = np.repeat(low, 1)[: 8192 // 4]
    repeated = np.repeat(low, 4)[:8192]
    images = spectral_peaks.image_frequencies([4000.0], [4], RATE)  # 4 and 8 kHz: only 4 kHz below Nyquist
    assert images.tolist() == [4000.0]
    stuffed_share = spectral_peaks.image_energy_share(stuffed[None], images, RATE, bandwidth_hz=50)
    repeated_share = spectral_peaks.image_energy_share(repeated[None], images, RATE, bandwidth_hz=50)
    assert stuffed_share > 0.05
    assert repeated_share < stuffed_share / 20
    assert spectral_peaks.image_energy_share(np.zeros((2, 8192)), images) == 0.0


def test_waveforms_must_be_a_batch():
    with pytest.raises(ValueError, match=r"\(n, samples\)"):
        spectral_peaks.strongest_peak_hz(np.zeros(8192))
