import os
import wave

import numpy as np
import pytest
from scipy.io import wavfile

from tfxmodal.audio.wav import AudioFileError, read_wav, write_wav


def sine(samples=1600, rate=16000, freq=440.0):
    return (0.5 * np.sin(2 * np.pi * freq * np.arange(samples) / rate)).astype(np.float32)


def test_round_trip_16_bit(tmp_path):
    path = tmp_path / "a" / "tone.wav"
    write_wav(path, sine(), 16000)
    samples, rate = read_wav(path, expected_sample_rate=16000)
    assert rate == 16000 and samples.dtype == np.float32
    np.testing.assert_allclose(samples, sine(), atol=1 / 32767)


@pytest.mark.parametrize(
    "dtype, scale, offset",
    [(np.uint8, 127, 128), (np.int16, 32767, 0), (np.int32, 2**31 - 1, 0), (np.float32, 1.0, 0)],
)
def test_reads_other_encodings_as_float(tmp_path, dtype, scale, offset):
    path = str(tmp_path / "x.wav")
    wavfile.write(path, 16000, (sine() * scale + offset).astype(dtype))
    samples, _ = read_wav(path)
    np.testing.assert_allclose(samples, sine(), atol=2 / 127 if dtype == np.uint8 else 1e-4)


def test_reads_24_bit_pcm(tmp_path):
    path = str(tmp_path / "24.wav")
    pcm = np.round(sine() * (2**23 - 1)).astype(np.int32)
    raw = np.stack([(pcm >> shift) & 0xFF for shift in (0, 8, 16)], axis=1).astype(np.uint8)
    with wave.open(path, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(3)
        handle.setframerate(16000)
        handle.writeframes(raw.tobytes())
    samples, _ = read_wav(path)
    np.testing.assert_allclose(samples, sine(), atol=1e-5)


def test_stereo_is_averaged_to_mono(tmp_path):
    path = str(tmp_path / "stereo.wav")
    left, right = sine(), -0.5 * sine()
    write_wav(path, np.stack([left, right], axis=1), 16000)
    mono, _ = read_wav(path)
    np.testing.assert_allclose(mono, (left + right) / 2, atol=2 / 32767)
    both, _ = read_wav(path, mono=False)
    assert both.shape == (1600, 2)


def test_bad_files_name_the_file(tmp_path):
    missing = tmp_path / "missing.wav"
    with pytest.raises(AudioFileError, match="missing.wav: no such WAV file"):
        read_wav(missing)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioFileError, match="empty.wav: empty file"):
        read_wav(empty)
    good = tmp_path / "good.wav"
    write_wav(good, sine(), 16000)
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(good.read_bytes()[:30])
    with pytest.raises(AudioFileError, match="truncated.wav: not a readable WAV"):
        read_wav(truncated)
    text = tmp_path / "text.wav"
    text.write_text("not audio at all")
    with pytest.raises(AudioFileError, match="text.wav: not a readable WAV"):
        read_wav(text)


def test_sample_rate_mismatch_is_an_error(tmp_path):
    path = tmp_path / "cd.wav"
    write_wav(path, sine(rate=44100), 44100)
    with pytest.raises(AudioFileError, match="44100 Hz, expected 16000 Hz"):
        read_wav(path, expected_sample_rate=16000)


def test_failed_write_leaves_no_file(tmp_path):
    path = tmp_path / "nan.wav"
    with pytest.raises(ValueError, match="NaN"):
        write_wav(path, np.array([0.0, np.nan]), 16000)
    assert os.listdir(tmp_path) == []
