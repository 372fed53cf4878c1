"""`describe nsynth-tfrecord`'s report: notes per split, family and source."""

import os

from tfxmodal.data.nsynth.describe import describe_tfrecords


def test_describe_counts_splits_families_and_sources(magenta_dir):
    files = [os.path.join(magenta_dir, f"nsynth-{s}.tfrecord") for s in ("train", "valid")]
    report = describe_tfrecords(files)
    assert report["files"] == files and report["ok"] is True and report["problems"] == []
    assert report["splits"]["train"] == {
        "examples": 6,
        "families": {"bass": 1, "guitar": 1, "mallet": 1, "reed": 1, "string": 1, "synth_lead": 1},
        "sources": {"acoustic": 4, "electronic": 1, "synthetic": 1},
        "bad_records": 0,
        "pitch_range": [23, 85],
    }
    assert report["splits"]["valid"]["families"] == {"flute": 1, "vocal": 1}
