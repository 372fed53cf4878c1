"""A Sub-URMP copy checked and indexed: pairing by stem, labels, describe, every kind of bad file and folder."""

import json
import os
import re
import shutil

import pytest

from tests.support.image_files import noise, save, truncated_copy
from tests.support.urmp_trees import expect_error, frame, sine
from tfxmodal.audio.wav import write_wav
from tfxmodal.data.urmp.layout import INSTRUMENTS, _stem
from tfxmodal.data.urmp.layout import describe as describe_urmp
from tfxmodal.data.urmp.layout import index as index_urmp
from tfxmodal.data.urmp.lms import (
    chunk_samples,
)
from tfxmodal.errors import AudioFileError, DatasetLayoutError, ImageFileError


def test_instrument_order_is_car_gans():
    assert INSTRUMENTS == (
        "bassoon",
        "cello",
        "clarinet",
        "double_bass",
        "flute",
        "horn",
        "oboe",
        "sax",
        "trombone",
        "trumpet",
        "tuba",
        "viola",
        "violin",
    )
    assert chunk_samples() == 8000 and chunk_samples(22050) == 11025


def test_index_pairs_by_stem_and_labels_by_instrument_order(tree):
    index = index_urmp(tree, "train")
    assert index.labels == [1, 1, 4, 4, 12, 12]
    assert [os.path.basename(p) for p in index.image_paths][:2] == [
        "cello00_100.jpg",
        "cello00_600.jpg",
    ]
    for image, wav in zip(index.image_paths, index.wav_paths):
        assert _stem(image) == _stem(wav)
        assert image.split(os.sep)[-2] == wav.split(os.sep)[-2]
    assert all(index.graph_decodable) and index.skipped == []
    assert index.counts["cello"] == 2 and index.counts["bassoon"] == 0


def test_describe_reports_counts_per_split_and_instrument(tree):
    report = describe_urmp(tree)
    assert json.loads(json.dumps(report)) == report
    assert report["ok"] and report["problems"] == [] and report["problem_count"] == 0
    assert report["totals"] == {"pairs": 9, "images": 9, "wavs": 9}
    assert report["splits"]["train"]["pairs"] == 6 and report["splits"]["test"]["pairs"] == 3
    assert report["splits"]["train"]["per_instrument"]["flute"] == {
        "pairs": 2,
        "images": 2,
        "wavs": 2,
        "unpaired_images": 0,
        "unpaired_wavs": 0,
    }
    assert report["splits"]["test"]["per_instrument"]["bassoon"]["pairs"] == 0
    assert report["wav_formats"] == {"16000 Hz, 1 ch, WAV PCM_16": 9}
    assert report["chunk_lengths"] == {"8000": 9}
    assert report["notes"] == [
        f"{split}: no folders for bassoon, clarinet, double_bass, horn, oboe, sax, trombone, "
        "trumpet, tuba, viola (0 examples of those classes)"
        for split in ("train", "test")
    ]


def test_unpaired_files_are_errors_or_skipped(broken):
    save(broken / "img" / "train" / "cello" / "cello09_1.jpg", frame((0, 0, 0)))
    index = expect_error(
        broken,
        DatasetLayoutError,
        r"cello09_1.jpg: unpaired image \(no chunk/train/cello/cello09_1.wav or other audio file\)",
    )
    assert "unpaired image" in index.skipped[0][1]
    os.remove(broken / "img" / "train" / "cello" / "cello09_1.jpg")
    write_wav(broken / "chunk" / "train" / "flute" / "flute09_1.wav", sine(100), 16000)
    expect_error(broken, DatasetLayoutError, "flute09_1.wav: unpaired WAV")


def test_a_chunk_shorter_than_one_lms_window_is_an_error_in_index_and_describe(broken):
    wav = broken / "chunk" / "train" / "violin" / "violin00_600.wav"
    write_wav(wav, sine(1760.0)[:10], 16000)  # 0.6 ms
    message = f"{wav}: 10 samples at 16000 Hz (0.6 ms); a chunk must hold at least 32 ms"
    expect_error(broken, AudioFileError, re.escape(message), labels=[1, 1, 4, 4, 12])
    report = describe_urmp(broken)
    assert report["ok"] is False and [p for p in report["problems"] if "violin00_600" in p] == [
        message + " (one LMS window; chunks are 0.5 s)"
    ]
    write_wav(wav, sine(1760.0)[:512], 16000)  # exactly one window: used (zero-padded to 0.5 s)
    assert index_urmp(broken, "train").labels == [1, 1, 4, 4, 12, 12] and describe_urmp(broken)["ok"]


def test_truncated_empty_and_corrupt_files(broken):
    wav = broken / "chunk" / "train" / "cello" / "cello00_600.wav"
    data = wav.read_bytes()
    wav.write_bytes(data[: len(data) - 1000])
    expect_error(
        broken,
        AudioFileError,
        r"cello00_600.wav: truncated WAV \(15000 of 16000 data bytes\)",
        labels=[1, 4, 4, 12, 12],
    )
    wav.write_bytes(b"")
    expect_error(
        broken,
        AudioFileError,
        "cello00_600.wav: empty file, expected a WAV",
        labels=[1, 4, 4, 12, 12],
    )
    wav.write_bytes(data)
    image = broken / "img" / "train" / "flute" / "flute00_100.jpg"
    big = save(broken / "big.jpg", noise(200, 200))
    truncated_copy(big, image)
    expect_error(
        broken,
        ImageFileError,
        "flute00_100.jpg: truncated JPEG",
        [1, 1, 4, 12, 12],
        validate="header",
    )
    expect_error(
        broken,
        ImageFileError,
        "flute00_100.jpg: not a readable",
        [1, 1, 4, 12, 12],
        validate="full",
    )


def test_folder_problems(broken):
    os.makedirs(broken / "img" / "train" / "oboe")
    os.makedirs(broken / "chunk" / "train" / "oboe")
    expect_error(broken, DatasetLayoutError, "img/train/oboe: empty class folder")
    shutil.rmtree(broken / "img" / "train" / "oboe")
    shutil.rmtree(broken / "chunk" / "train" / "oboe")
    save(broken / "img" / "train" / "piano" / "piano00_1.jpg", frame((9, 9, 9)))
    expect_error(broken, DatasetLayoutError, "unknown instrument folder 'piano'")
    shutil.rmtree(broken / "img" / "train" / "piano")
    # A file whose name says violin in the cello folder: never silently a cello.
    save(broken / "img" / "train" / "cello" / "violin07_1.jpg", frame((9, 9, 9)))
    write_wav(broken / "chunk" / "train" / "cello" / "violin07_1.wav", sine(100), 16000)
    with pytest.raises(
        DatasetLayoutError,
        match=r"violin07_1.jpg: file name says 'violin' but it is in the 'cello' folder",
    ):
        index_urmp(broken, "train")
    index = index_urmp(broken, "train", skip_bad_files=True)
    assert len(index.skipped) == 2 and index.labels == [1, 1, 4, 4, 12, 12]
    shutil.rmtree(broken / "chunk" / "test")
    with pytest.raises(DatasetLayoutError, match="chunk/test: no such directory"):
        index_urmp(broken, "test", skip_bad_files=True)  # layout errors are never skipped
    with pytest.raises(DatasetLayoutError, match="no such directory"):
        index_urmp(broken / "nowhere", "train")


def test_describe_lists_problems_without_raising(broken):
    save(broken / "img" / "train" / "cello" / "cello09_1.jpg", frame((0, 0, 0)))
    write_wav(broken / "chunk" / "train" / "violin" / "violin00_600.wav", sine(1, rate=22050), 22050)
    shutil.rmtree(broken / "img" / "test")
    (broken / "chunk" / "train" / "flute" / "notes.txt").write_text("x")
    report = describe_urmp(broken)
    assert not report["ok"] and report["problem_count"] == 2  # a 22050 Hz chunk is resampled, not a problem
    assert any("cello09_1.jpg: unpaired image" in p for p in report["problems"])
    assert any("img/test: no such directory" in p for p in report["problems"])
    assert report["splits"]["train"]["per_instrument"]["cello"]["unpaired_images"] == 1
    assert "test" not in report["splits"]
    assert report["wav_formats"] == {"16000 Hz, 1 ch, WAV PCM_16": 5, "22050 Hz, 1 ch, WAV PCM_16": 1}
    assert report["ignored_files"] == 1
    assert describe_urmp(broken / "nowhere")["problems"] == [
        f"{broken / 'nowhere'}: no such directory (expected img/ and chunk/ folders)"
    ]
