"""Raw Magenta TFRecords written here: read, every record checked, bad records named by file and index, or skipped."""

import os
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.support.nsynth_records import (
    TRAIN_NOTES,
    collect,
    float_pitch,
    int64s,
    magenta_example,
    note_audio,
    write_records,
)
from tfxmodal.cli.train import bad_record_error
from tfxmodal.data.nsynth.describe import describe_tfrecords
from tfxmodal.data.nsynth.reader import read as read_nsynth
from tfxmodal.data.nsynth.records import TFRECORD_FRAMING_BYTES, bad_data_error, read_tfrecords, scan_tfrecords
from tfxmodal.errors import NsynthDataError


def test_reads_raw_magenta_tfrecords(magenta_dir):
    examples = collect(read_nsynth(magenta_dir, "train"))
    assert len(examples) == len(TRAIN_NOTES)
    for example, (family, source, instrument, pitch, velocity) in zip(examples, TRAIN_NOTES):
        assert (example["family"], example["source"], example["instrument"]) == (
            family, source, instrument,
        )  # fmt: skip
        assert (example["pitch"], example["velocity"]) == (pitch, velocity)
        assert example["id"].decode().endswith(f"_{instrument:03d}-{pitch:03d}-{velocity:03d}")
        np.testing.assert_array_equal(example["audio"], note_audio(pitch))
    spec = read_nsynth(os.path.join(magenta_dir, "nsynth-valid.tfrecord")).element_spec
    assert {key: (s.shape.as_list(), s.dtype) for key, s in spec.items()} == {
        "audio": ([64000], tf.float32),
        "pitch": ([], tf.int32),
        "velocity": ([], tf.int32),
        "family": ([], tf.int32),
        "source": ([], tf.int32),
        "instrument": ([], tf.int32),
        "id": ([], tf.string),
    }


def test_paper_filter_and_num_samples_on_raw_files(magenta_dir):
    files = os.path.join(magenta_dir, "nsynth-*.tfrecord")  # a glob: train and valid
    kept = collect(read_tfrecords(files, paper_filter=True))
    assert [(e["family"], e["pitch"]) for e in kept] == [(0, 30), (8, 84), (10, 60)]
    for example in kept:
        assert example["audio"].shape == (8192,)
        np.testing.assert_array_equal(example["audio"], note_audio(example["pitch"])[:8192])
    short = collect(read_tfrecords(files, num_samples=1000))
    assert len(short) == 8 and all(e["audio"].shape == (1000,) for e in short)
    with pytest.raises(ValueError, match=r"num_samples 64001: expected 1..64000"):
        read_tfrecords(files, num_samples=64001)


def test_missing_files_and_directories_are_named(tmp_path, magenta_dir):
    missing = str(tmp_path / "nsynth-train.tfrecord")
    with pytest.raises(NsynthDataError, match=f"{missing}: no such file"):
        read_tfrecords(missing)
    with pytest.raises(NsynthDataError, match="pattern matches no file"):
        read_nsynth(str(tmp_path / "*.tfrecord"))
    absent_dir = str(tmp_path / "absent")
    with pytest.raises(NsynthDataError, match=f"{absent_dir}: no such directory"):
        read_nsynth(absent_dir, "train")
    with pytest.raises(NsynthDataError, match=r"no nsynth-test.tfrecord file"):
        read_nsynth(magenta_dir, "test")
    with pytest.raises(NsynthDataError, match=r"holds no \*.tfrecord\* file"):
        read_tfrecords(str(tmp_path))
    not_tfrecord = tmp_path / "junk.tfrecord"
    not_tfrecord.write_bytes(b"this is not a TFRecord file at all")
    with pytest.raises(NsynthDataError, match=r"junk.tfrecord: not a readable TFRecord"):
        read_tfrecords(str(not_tfrecord))


@pytest.mark.parametrize(
    "record, message",
    [
        (
            lambda: magenta_example(0, 0, 1, 40, 50, drop=["pitch"]),
            "record 0 has no key 'pitch' \\(expected int64_list with the MIDI pitch",
        ),
        (
            lambda: magenta_example(
                0,
                0,
                1,
                40,
                50,
                override={"velocity": tf.train.Feature(float_list=tf.train.FloatList(value=[5.0]))},
            ),
            "key 'velocity' holds float_list, expected int64_list",
        ),
        (
            lambda: magenta_example(0, 0, 1, 40, 50, audio=np.zeros(16000, np.float32)),
            "key 'audio' has 16000 values, expected 64000",
        ),
        (
            lambda: magenta_example(0, 0, 1, 40, 50, drop=["audio"]),
            "has no key 'audio' \\(expected float_list with 64000 float32 samples",
        ),
        (
            lambda: magenta_example(
                0,
                0,
                1,
                40,
                50,
                override={"sample_rate": tf.train.Feature(int64_list=tf.train.Int64List(value=[44100]))},
            ),
            "sample_rate 44100, expected 16000",
        ),
    ],
    ids=["missing-key", "ill-typed-key", "short-audio", "no-audio", "sample-rate"],
)
def test_off_schema_first_record_fails_naming_the_file(tmp_path, record, message):
    path = write_records(tmp_path / "nsynth-bad.tfrecord", [record()])
    with pytest.raises(NsynthDataError, match=f"{path}: .*{message}"):
        read_tfrecords(path)
    report = describe_tfrecords(path)  # a report, not an exception: every problem counted
    assert report["ok"] is False and report["bad_records"] == 1
    assert len(report["problems"]) == 1 and re.search(f"{path}: .*{message}", report["problems"][0])


# Records that pass the check of a file's first record and fail at their own: one per check.
LATER_BAD_RECORDS = {
    "short-audio": (
        lambda: magenta_example(4, 0, 2, 61, 50, audio=np.zeros(100, np.float32)),
        "key 'audio' has 100 values, expected 64000",
    ),
    "float-pitch": (lambda: magenta_example(4, 0, 2, 61, 50, override=float_pitch(61)), "key 'pitch' holds float_list"),
    "missing-key": (
        lambda: magenta_example(4, 0, 2, 61, 50, drop=["instrument_family"]),
        "has no key 'instrument_family'",
    ),
    "missing-id": (lambda: magenta_example(4, 0, 2, 61, 50, drop=["note_str"]), "has no key 'note_str'"),
    "family-out-of-range": (
        lambda: magenta_example(4, 0, 2, 61, 50, override={"instrument_family": int64s(11)}),
        "key 'instrument_family' holds 11, expected 0..10",
    ),
    "two-qualities": (
        lambda: magenta_example(4, 0, 2, 61, 50, override={"qualities": int64s(0, 1)}),
        "key 'qualities' has 2 values, expected 10",
    ),
    "not-an-example": (lambda: b"\xff\xfe not a protocol buffer", "record 1 is not a tf.train.Example"),
}


@pytest.mark.parametrize("case", sorted(LATER_BAD_RECORDS))
def test_every_record_is_checked_and_a_bad_one_is_named_by_file_and_index(tmp_path, case):
    bad, message = LATER_BAD_RECORDS[case]
    path = write_records(
        tmp_path / "nsynth-late.tfrecord", [magenta_example(4, 0, 1, 60, 50), bad(), magenta_example(4, 0, 1, 62, 50)]
    )
    dataset = read_tfrecords(path, paper_filter=True)  # the first record is fine: no error yet
    with pytest.raises(tf.errors.InvalidArgumentError) as raised:
        collect(dataset)
    error = bad_data_error(raised.value)
    assert isinstance(error, NsynthDataError)
    assert str(error).startswith(f"{path}: record 1") and message in str(error), error
    # Left out with skip_bad_records, and listed by the scan with the same reason.
    kept = collect(read_tfrecords(path, paper_filter=True, skip_bad_records=True))
    assert [e["pitch"] for e in kept] == [60, 62]
    (scan,) = scan_tfrecords(path)
    assert scan["records"] == 3 and scan["bad"] == [1] and message in scan["reasons"][1]
    assert list(scan["labels"]["pitch"]) == [60, 62]


def test_bad_records_are_counted_over_the_whole_file_and_at_its_end(tmp_path):
    notes = [magenta_example(0, 0, 1, 40 + i, 50) for i in range(8)]
    for index in (2, 3, 7):  # two in a row, and the last record
        notes[index] = magenta_example(0, 0, 1, 40 + index, 50, override=float_pitch(40))
    path = write_records(tmp_path / "nsynth-train.tfrecord", notes)
    (scan,) = scan_tfrecords(path)
    assert scan["bad"] == [2, 3, 7] and scan["records"] == 8 and not scan["unreadable"]
    report = describe_tfrecords(path)
    assert report["ok"] is False and report["bad_records"] == 3 and report["splits"]["train"]["examples"] == 5
    assert [problem.split(",")[0] for problem in report["problems"]] == [f"{path}: record {i}" for i in (2, 3, 7)]
    assert [e["pitch"] for e in collect(read_tfrecords(path, skip_bad_records=True))] == [40, 41, 44, 45, 46]
    # A bad last record is found at the file's end too (no later good record reveals the gap).
    with pytest.raises(tf.errors.InvalidArgumentError) as raised:
        collect(read_tfrecords(write_records(tmp_path / "last.tfrecord", notes[:2] + notes[7:])))
    assert str(bad_data_error(raised.value)).startswith(f"{tmp_path / 'last.tfrecord'}: record 2, key 'pitch'")


def test_record_numbers_start_again_in_each_file(tmp_path):
    first = write_records(tmp_path / "a.tfrecord", [magenta_example(0, 0, 1, 40 + i, 50) for i in range(3)])
    notes = [magenta_example(0, 0, 1, 50 + i, 50) for i in range(3)]
    notes[1] = magenta_example(0, 0, 1, 51, 50, override=float_pitch(51))
    second = write_records(tmp_path / "b.tfrecord", notes)
    with pytest.raises(tf.errors.InvalidArgumentError) as raised:
        collect(read_tfrecords([first, second]))
    assert str(bad_data_error(raised.value)).startswith(f"{second}: record 1, key 'pitch'")
    kept = collect(read_tfrecords([first, second], skip_bad_records=True))
    assert [e["pitch"] for e in kept] == [40, 41, 42, 50, 52]


def test_each_input_pipeline_checks_its_own_shard_of_the_records(tmp_path):
    notes = [magenta_example(0, 0, 1, 40 + i, 50) for i in range(6)]
    notes[3] = magenta_example(0, 0, 1, 43, 50, override=float_pitch(43))
    path = write_records(tmp_path / "nsynth-train.tfrecord", notes)

    def context(index):
        return tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=index, num_replicas_in_sync=2)

    assert [e["pitch"] for e in collect(read_tfrecords(path, input_context=context(0)))] == [40, 42, 44]
    with pytest.raises(tf.errors.InvalidArgumentError) as raised:
        collect(read_tfrecords(path, input_context=context(1)))
    assert str(bad_data_error(raised.value)).startswith(f"{path}: record 3,")
    skipping = read_tfrecords(path, input_context=context(1), skip_bad_records=True)
    assert [e["pitch"] for e in collect(skipping)] == [41, 45]


def test_damaged_and_empty_files_are_named_by_every_reader(tmp_path):
    records = [magenta_example(0, 0, 1, 40 + i, 50) for i in range(4)]
    truncated = write_records(tmp_path / "nsynth-train.tfrecord", records)
    with open(truncated, "r+b") as handle:
        handle.truncate(os.path.getsize(truncated) - 1000)
    readable = sum(len(record) + TFRECORD_FRAMING_BYTES for record in records[:3])
    empty = write_records(tmp_path / "nsynth-valid.tfrecord", [])
    report = describe_tfrecords([truncated, empty])
    assert report["ok"] is False and report["splits"]["train"]["examples"] == 3
    assert report["problems"] == [
        f"{truncated}: truncated or corrupt TFRecord data after record 2 "
        f"(bytes {readable} to {os.path.getsize(truncated)} unreadable)",
        f"{empty}: empty file (0 bytes, no records); expected NSynth TFRecords",
    ]
    with pytest.raises(NsynthDataError, match=f"{empty}: empty file"):
        read_tfrecords(empty)
    with pytest.raises(tf.errors.InvalidArgumentError) as raised:
        collect(read_tfrecords(truncated))
    assert str(bad_data_error(raised.value)) == report["problems"][0]
    # Skipping: the readable records of the damaged file, nothing of the empty one.
    assert len(collect(read_tfrecords([truncated, empty], skip_bad_records=True))) == 3


def test_a_cached_clip_does_not_keep_its_whole_note_alive(tmp_path):
    """8192 of a note's 64000 samples are kept; a slice would share (and pin) the parsed note's buffer."""
    rng = np.random.default_rng(0)
    path = write_records(
        tmp_path / "nsynth-train.tfrecord",
        [magenta_example(0, 0, 1, 40 + i % 40, 50, audio=rng.uniform(-0.5, 0.5, 64000)) for i in range(400)],
    )
    clips = read_nsynth(path, "train", paper_filter=True).map(lambda e: e["audio"])
    assert sum(1 for _ in clips) == 400  # warm-up: the pipeline's own allocations

    def resident_mib():
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    cached = clips.cache()
    before = resident_mib()
    assert sum(1 for _ in cached) == 400
    grown = resident_mib() - before
    # 400 clips of 32 KiB are 12.5 MiB; pinned notes would be 400 x 250 KiB = 98 MiB.
    assert grown < 50, f"caching 400 clips grew the process by {grown:.0f} MiB"


def test_a_bad_record_met_inside_keras_fit_is_named(tmp_path):
    """The train CLI's last resort (`train.bad_record_error`): the failure keeps its mark through `fit`."""
    notes = [magenta_example(0, 0, 1, 40 + i, 50) for i in range(4)]
    notes[2] = magenta_example(0, 0, 1, 42, 50, audio=np.zeros(100, np.float32))
    path = write_records(tmp_path / "nsynth-train.tfrecord", notes)
    pairs = read_tfrecords(path, num_samples=16).map(lambda e: (e["audio"], e["pitch"])).batch(1)
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    with pytest.raises(tf.errors.InvalidArgumentError) as raised:
        model.fit(pairs, epochs=1, verbose=0)
    assert str(bad_record_error(raised.value)).startswith(f"{path}: record 2, key 'audio' has 100 values")
    assert bad_record_error(ValueError("something else")) is None
