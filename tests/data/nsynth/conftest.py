"""Fixtures of the NSynth reader tests."""

import pytest

from tests.support.nsynth_records import TRAIN_NOTES, VALID_NOTES, magenta_example, write_records


@pytest.fixture(scope="module")
def magenta_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("nsynth_magenta")
    write_records(root / "nsynth-train.tfrecord", [magenta_example(*n) for n in TRAIN_NOTES])
    write_records(root / "nsynth-valid.tfrecord", [magenta_example(*n) for n in VALID_NOTES])
    return str(root)
