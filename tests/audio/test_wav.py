"""Audio files through soundfile (written here by the real libraries: soundfile, scipy, wave), resampling, writing."""

import os
import wave

import numpy as np
import pytest
import soundfile
from scipy.io import wavfile

from tfxmodal.audio.wav import audio_info, read_audio, resample, write_wav
from tfxmodal.errors import AudioFileError


def sine(samples=1600, rate=16000, freq=440.0):
    return (0.5 * np.sin(2 * np.pi * freq * np.arange(samples) / rate)).astype(np.float32)


def dominant_frequency(samples, rate):
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum)) * rate / len(samples)


def test_round_trip_16_bit(tmp_path):
    path = tmp_path / "a" / "tone.wav"
    write_wav(path, sine(), 16000)
    samples, rate = read_audio(path)
    assert rate == 16000 and samples.dtype == np.float32
    np.testing.assert_allclose(samples, sine(), atol=1 / 32767)
    with wave.open(str(path)) as handle:  # a plain 16-bit PCM WAV, as Python's wave module reads it
        assert (handle.getsampwidth(), handle.getnchannels(), handle.getframerate()) == (2, 1, 16000)


@pytest.mark.parametrize(
    "dtype, scale, offset",
    [(np.uint8, 127, 128), (np.int16, 32767, 0), (np.int32, 2**31 - 1, 0), (np.float32, 1.0, 0)],
)
def test_reads_scipy_written_encodings_as_float(tmp_path, dtype, scale, offset):
    path = str(tmp_path / "x.wav")
    wavfile.write(path, 16000, (sine() * scale + offset).astype(dtype))
    samples, _ = read_audio(path)
    np.testing.assert_allclose(samples, sine(), atol=2 / 127 if dtype == np.uint8 else 1e-4)


@pytest.mark.parametrize("subtype", ["PCM_24", "PCM_32", "FLOAT", "DOUBLE"])
def test_reads_soundfile_written_wavs_of_every_width(tmp_path, subtype):
    path = str(tmp_path / f"{subtype}.wav")
    soundfile.write(path, sine(), 16000, subtype=subtype)
    samples, rate = read_audio(path)
    assert rate == 16000 and audio_info(path).subtype == subtype
    np.testing.assert_allclose(samples, sine(), atol=1e-6)


def test_reads_flac_and_ogg(tmp_path):
    for name in ("tone.flac", "tone.ogg"):
        path = str(tmp_path / name)
        soundfile.write(path, sine(16000), 16000)
        samples, rate = read_audio(path)
        assert rate == 16000 and abs(dominant_frequency(samples, rate) - 440) < 2, name


def test_other_rates_are_resampled_band_limited(tmp_path):
    path = str(tmp_path / "48k.wav")
    soundfile.write(path, sine(48000, rate=48000, freq=1000.0), 48000, subtype="PCM_16")
    samples, rate = read_audio(path, sample_rate=16000)
    assert rate == 16000 and samples.shape == (16000,)
    assert abs(dominant_frequency(samples, 16000) - 1000.0) < 2
    # An 11 kHz tone is above the 8 kHz Nyquist of the target rate: filtered out, not folded to 5 kHz.
    high = resample(sine(48000, rate=48000, freq=11000.0), 48000, 16000)
    assert np.sqrt(np.mean(high[1000:-1000] ** 2)) < 0.01
    unchanged, rate = read_audio(path)
    assert rate == 48000 and unchanged.shape == (48000,)


def test_stereo_is_averaged_to_mono(tmp_path):
    path = str(tmp_path / "stereo.wav")
    left, right = sine(), -0.5 * sine()
    write_wav(path, np.stack([left, right], axis=1), 16000)
    mono, _ = read_audio(path)
    np.testing.assert_allclose(mono, (left + right) / 2, atol=2 / 32767)
    both, _ = read_audio(path, mono=False)
    assert both.shape == (1600, 2)


def test_bad_files_name_the_file(tmp_path):
    missing = tmp_path / "missing.wav"
    with pytest.raises(AudioFileError, match=r"missing.wav: no such audio file"):
        read_audio(missing)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioFileError, match=r"empty.wav: empty file"):
        read_audio(empty)
    good = tmp_path / "good.wav"
    write_wav(good, sine(), 16000)
    header_only = tmp_path / "header_only.wav"
    header_only.write_bytes(good.read_bytes()[:30])
    with pytest.raises(AudioFileError, match=r"header_only.wav: not a readable audio file"):
        read_audio(header_only)
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(good.read_bytes()[:-1000])
    with pytest.raises(AudioFileError, match=r"truncated.wav: truncated WAV \(2200 of 3200 data bytes\)"):
        audio_info(truncated)
    text = tmp_path / "text.wav"
    text.write_text("not audio at all")
    with pytest.raises(AudioFileError, match=r"text.wav: not a readable audio file"):
        read_audio(text)


def test_failed_write_leaves_no_file(tmp_path):
    path = tmp_path / "nan.wav"
    with pytest.raises(ValueError, match="NaN"):
        write_wav(path, np.array([0.0, np.nan]), 16000)
    assert os.listdir(tmp_path) == []
