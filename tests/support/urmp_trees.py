"""Sub-URMP trees of real JPEGs and WAVs for the tests.

Each instrument's frames are drawn in its own colour and its chunks are
sines at its own frequency, so a decoded example shows whether image, audio
and label really belong together.
"""

import os
import wave

import numpy as np
import pytest

from tests.support.image_files import save
from tfxmodal.audio.wav import write_wav
from tfxmodal.data.urmp.layout import index as index_urmp

# instrument -> (frame colour, chunk frequency in Hz)
TREE = {
    "cello": ((200, 40, 40), 220.0),
    "flute": ((40, 200, 40), 880.0),
    "violin": ((40, 40, 200), 1760.0),
}


STEMS = {"train": ["00_100", "00_600"], "test": ["01_100"]}


def sine(freq, amplitude=0.3, rate=16000, seconds=0.5):
    t = np.arange(round(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def frame(colour, height=36, width=48):
    image = np.zeros((height, width, 3), np.uint8)
    image[:] = colour
    return image


def write_tree(root, rate=16000, tree=TREE, stems=STEMS):
    for split, split_stems in stems.items():
        for instrument, (colour, freq) in tree.items():
            for stem in split_stems:
                save(
                    root / "img" / split / instrument / f"{instrument}{stem}.jpg",
                    frame(colour),
                    quality=95,
                )
                write_wav(
                    root / "chunk" / split / instrument / f"{instrument}{stem}.wav",
                    sine(freq, rate=rate),
                    rate,
                )
    return root


def write_pcm24(path, samples, rate=16000):
    pcm = np.round(samples * (2**23 - 1)).astype(np.int32)
    raw = np.stack([(pcm >> shift) & 0xFF for shift in (0, 8, 16)], axis=1).astype(np.uint8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(3)
        handle.setframerate(rate)
        handle.writeframes(raw.tobytes())


def collect(dataset):
    return [{k: v.numpy() for k, v in example.items()} for example in dataset]


def dominant_frequency_row(lms, size):
    """Row (0 = top = high frequency) of the loudest mel band, averaged over time."""
    return int(np.argmax(lms[..., 0].mean(axis=1)))


def expect_error(root, error, message, labels=(1, 1, 4, 4, 12, 12), **kwargs):
    """`index` raises `error` matching `message`; with skip_bad_files one thing is skipped."""
    with pytest.raises(error, match=message):
        index_urmp(root, "train", **kwargs)
    index = index_urmp(root, "train", skip_bad_files=True, **kwargs)
    assert len(index.skipped) == 1, index.skipped
    assert index.labels == list(labels)  # the remaining good pairs, labels unchanged
    return index


def dominant_frequency(samples, rate=16000):
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum)) * rate / len(samples)
