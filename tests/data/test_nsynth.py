"""NSynth readers: raw Magenta TFRecords written here, TFDS via the real mini_nsynth build."""

import os
import re

import numpy as np
import pytest
import tensorflow as tf

from tfxmodal.data import nsynth, pipeline
from tfxmodal.data import nsynth_families as labels
from tfxmodal.data.nsynth import NsynthDataError

QUALITY_NAMES = [
    "bright", "dark", "distortion", "fast_decay", "long_release",
    "multiphonic", "nonlinear_env", "percussive", "reverb", "tempo-synced",
]  # fmt: skip
FAMILY_NAMES = [
    "bass", "brass", "flute", "guitar", "keyboard", "mallet",
    "organ", "reed", "string", "synth_lead", "vocal",
]  # fmt: skip
SOURCE_NAMES = ["acoustic", "electronic", "synthetic"]

# (family, source, instrument, pitch, velocity): two kept by the paper's
# filter in train (acoustic, 24-84), the rest dropped for one reason each.
TRAIN_NOTES = [
    (0, 0, 12, 30, 100),  # bass acoustic: kept
    (8, 0, 7, 84, 25),  # string acoustic at the top of the range: kept
    (3, 1, 40, 60, 75),  # guitar electronic: dropped
    (9, 2, 101, 60, 127),  # synth_lead synthetic: dropped
    (5, 0, 3, 23, 50),  # mallet acoustic, pitch 23: dropped
    (7, 0, 9, 85, 50),  # reed acoustic, pitch 85: dropped
]
VALID_NOTES = [(10, 0, 77, 60, 50), (2, 2, 5, 72, 127)]


def note_audio(pitch, length=64000):
    """A distinct, recognisable waveform per pitch."""
    t = np.arange(length) / 16000.0
    hz = 440.0 * 2.0 ** ((pitch - 69) / 12.0)
    return (0.5 * np.sin(2 * np.pi * hz * t) * np.exp(-t)).astype(np.float32)


def magenta_example(family, source, instrument, pitch, velocity, audio=None, drop=(), override=None):
    """One raw NSynth tf.train.Example with every key of the Magenta release."""
    instrument_str = f"{FAMILY_NAMES[family]}_{SOURCE_NAMES[source]}_{instrument:03d}"
    audio = note_audio(pitch) if audio is None else audio
    qualities = [int((pitch + k) % 3 == 0) for k in range(10)]

    def ints(*values):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))

    def strings(*values):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v.encode() for v in values]))

    feature = {
        "note_str": strings(f"{instrument_str}-{pitch:03d}-{velocity:03d}"),
        "pitch": ints(pitch),
        "velocity": ints(velocity),
        "audio": tf.train.Feature(float_list=tf.train.FloatList(value=audio)),
        "instrument": ints(instrument),
        "instrument_str": strings(instrument_str),
        "instrument_family": ints(family),
        "instrument_family_str": strings(FAMILY_NAMES[family]),
        "instrument_source": ints(source),
        "instrument_source_str": strings(SOURCE_NAMES[source]),
        "qualities": ints(*qualities),
        "qualities_str": strings(*[q for q, on in zip(QUALITY_NAMES, qualities) if on]),
        "sample_rate": ints(16000),
    }
    feature.update(override or {})
    for key in drop:
        del feature[key]
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def write_records(path, records):
    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in records:
            writer.write(record)
    return str(path)


@pytest.fixture(scope="module")
def magenta_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("nsynth_magenta")
    write_records(root / "nsynth-train.tfrecord", [magenta_example(*n) for n in TRAIN_NOTES])
    write_records(root / "nsynth-valid.tfrecord", [magenta_example(*n) for n in VALID_NOTES])
    return str(root)


def collect(dataset):
    return list(dataset.as_numpy_iterator())


def test_reads_raw_magenta_tfrecords(magenta_dir):
    examples = collect(nsynth.read(magenta_dir, "train"))
    assert len(examples) == len(TRAIN_NOTES)
    for example, (family, source, instrument, pitch, velocity) in zip(examples, TRAIN_NOTES):
        assert (example["family"], example["source"], example["instrument"]) == (
            family, source, instrument,
        )  # fmt: skip
        assert (example["pitch"], example["velocity"]) == (pitch, velocity)
        assert example["id"].decode().endswith(f"_{instrument:03d}-{pitch:03d}-{velocity:03d}")
        np.testing.assert_array_equal(example["audio"], note_audio(pitch))
    spec = nsynth.read(os.path.join(magenta_dir, "nsynth-valid.tfrecord")).element_spec
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
    kept = collect(nsynth.read_tfrecords(files, paper_filter=True))
    assert [(e["family"], e["pitch"]) for e in kept] == [(0, 30), (8, 84), (10, 60)]
    for example in kept:
        assert example["audio"].shape == (8192,)
        np.testing.assert_array_equal(example["audio"], note_audio(example["pitch"])[:8192])
    short = collect(nsynth.read_tfrecords(files, num_samples=1000))
    assert len(short) == 8 and all(e["audio"].shape == (1000,) for e in short)
    with pytest.raises(ValueError, match="num_samples 64001: expected 1..64000"):
        nsynth.read_tfrecords(files, num_samples=64001)


def test_missing_files_and_directories_are_named(tmp_path, magenta_dir):
    missing = str(tmp_path / "nsynth-train.tfrecord")
    with pytest.raises(NsynthDataError, match=f"{missing}: no such file"):
        nsynth.read_tfrecords(missing)
    with pytest.raises(NsynthDataError, match="pattern matches no file"):
        nsynth.read(str(tmp_path / "*.tfrecord"))
    absent_dir = str(tmp_path / "absent")
    with pytest.raises(NsynthDataError, match=f"{absent_dir}: no such directory"):
        nsynth.read(absent_dir, "train")
    with pytest.raises(NsynthDataError, match="no nsynth-test.tfrecord file"):
        nsynth.read(magenta_dir, "test")
    with pytest.raises(NsynthDataError, match="holds no \\*.tfrecord\\* file"):
        nsynth.read_tfrecords(str(tmp_path))
    not_tfrecord = tmp_path / "junk.tfrecord"
    not_tfrecord.write_bytes(b"this is not a TFRecord file at all")
    with pytest.raises(NsynthDataError, match="junk.tfrecord: not a readable TFRecord"):
        nsynth.read_tfrecords(str(not_tfrecord))


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
            ),  # fmt: skip
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
            ),  # fmt: skip
            "sample_rate 44100, expected 16000",
        ),
    ],
    ids=["missing-key", "ill-typed-key", "short-audio", "no-audio", "sample-rate"],
)
def test_off_schema_first_record_fails_naming_the_file(tmp_path, record, message):
    path = write_records(tmp_path / "nsynth-bad.tfrecord", [record()])
    with pytest.raises(NsynthDataError, match=f"{path}: .*{message}"):
        nsynth.read_tfrecords(path)
    report = nsynth.describe_tfrecords(path)  # a report, not an exception: every problem counted
    assert report["ok"] is False and report["bad_records"] == 1
    assert len(report["problems"]) == 1 and re.search(f"{path}: .*{message}", report["problems"][0])


def float_pitch(pitch):
    return {"pitch": tf.train.Feature(float_list=tf.train.FloatList(value=[float(pitch)]))}


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


def int64s(*values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))


@pytest.mark.parametrize("case", sorted(LATER_BAD_RECORDS))
def test_every_record_is_checked_and_a_bad_one_is_named_by_file_and_index(tmp_path, case):
    bad, message = LATER_BAD_RECORDS[case]
    path = write_records(
        tmp_path / "nsynth-late.tfrecord", [magenta_example(4, 0, 1, 60, 50), bad(), magenta_example(4, 0, 1, 62, 50)]
    )
    dataset = nsynth.read_tfrecords(path, paper_filter=True)  # the first record is fine: no error yet
    with pytest.raises(tf.errors.InvalidArgumentError) as raised:
        collect(dataset)
    error = nsynth.bad_data_error(raised.value)
    assert isinstance(error, NsynthDataError)
    assert str(error).startswith(f"{path}: record 1") and message in str(error), error
    # Left out with skip_bad_records, and listed by the scan with the same reason.
    kept = collect(nsynth.read_tfrecords(path, paper_filter=True, skip_bad_records=True))
    assert [e["pitch"] for e in kept] == [60, 62]
    (scan,) = nsynth.scan_tfrecords(path)
    assert scan["records"] == 3 and scan["bad"] == [1] and message in scan["reasons"][1]
    assert list(scan["labels"]["pitch"]) == [60, 62]


def test_bad_records_are_counted_over_the_whole_file_and_at_its_end(tmp_path):
    notes = [magenta_example(0, 0, 1, 40 + i, 50) for i in range(8)]
    for index in (2, 3, 7):  # two in a row, and the last record
        notes[index] = magenta_example(0, 0, 1, 40 + index, 50, override=float_pitch(40))
    path = write_records(tmp_path / "nsynth-train.tfrecord", notes)
    (scan,) = nsynth.scan_tfrecords(path)
    assert scan["bad"] == [2, 3, 7] and scan["records"] == 8 and not scan["unreadable"]
    report = nsynth.describe_tfrecords(path)
    assert report["ok"] is False and report["bad_records"] == 3 and report["splits"]["train"]["examples"] == 5
    assert [problem.split(",")[0] for problem in report["problems"]] == [f"{path}: record {i}" for i in (2, 3, 7)]
    assert [e["pitch"] for e in collect(nsynth.read_tfrecords(path, skip_bad_records=True))] == [40, 41, 44, 45, 46]
    # A bad last record is found at the file's end too (no later good record reveals the gap).
    with pytest.raises(tf.errors.InvalidArgumentError) as raised:
        collect(nsynth.read_tfrecords(write_records(tmp_path / "last.tfrecord", notes[:2] + notes[7:])))
    assert str(nsynth.bad_data_error(raised.value)).startswith(f"{tmp_path / 'last.tfrecord'}: record 2, key 'pitch'")


def test_record_numbers_start_again_in_each_file(tmp_path):
    first = write_records(tmp_path / "a.tfrecord", [magenta_example(0, 0, 1, 40 + i, 50) for i in range(3)])
    notes = [magenta_example(0, 0, 1, 50 + i, 50) for i in range(3)]
    notes[1] = magenta_example(0, 0, 1, 51, 50, override=float_pitch(51))
    second = write_records(tmp_path / "b.tfrecord", notes)
    with pytest.raises(tf.errors.InvalidArgumentError) as raised:
        collect(nsynth.read_tfrecords([first, second]))
    assert str(nsynth.bad_data_error(raised.value)).startswith(f"{second}: record 1, key 'pitch'")
    kept = collect(nsynth.read_tfrecords([first, second], skip_bad_records=True))
    assert [e["pitch"] for e in kept] == [40, 41, 42, 50, 52]


def test_each_input_pipeline_checks_its_own_shard_of_the_records(tmp_path):
    notes = [magenta_example(0, 0, 1, 40 + i, 50) for i in range(6)]
    notes[3] = magenta_example(0, 0, 1, 43, 50, override=float_pitch(43))
    path = write_records(tmp_path / "nsynth-train.tfrecord", notes)

    def context(index):
        return tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=index, num_replicas_in_sync=2)

    assert [e["pitch"] for e in collect(nsynth.read_tfrecords(path, input_context=context(0)))] == [40, 42, 44]
    with pytest.raises(tf.errors.InvalidArgumentError) as raised:
        collect(nsynth.read_tfrecords(path, input_context=context(1)))
    assert str(nsynth.bad_data_error(raised.value)).startswith(f"{path}: record 3,")
    skipping = nsynth.read_tfrecords(path, input_context=context(1), skip_bad_records=True)
    assert [e["pitch"] for e in collect(skipping)] == [41, 45]


def test_damaged_and_empty_files_are_named_by_every_reader(tmp_path):
    records = [magenta_example(0, 0, 1, 40 + i, 50) for i in range(4)]
    truncated = write_records(tmp_path / "nsynth-train.tfrecord", records)
    with open(truncated, "r+b") as handle:
        handle.truncate(os.path.getsize(truncated) - 1000)
    readable = sum(len(record) + nsynth.TFRECORD_FRAMING_BYTES for record in records[:3])
    empty = write_records(tmp_path / "nsynth-valid.tfrecord", [])
    report = nsynth.describe_tfrecords([truncated, empty])
    assert report["ok"] is False and report["splits"]["train"]["examples"] == 3
    assert report["problems"] == [
        f"{truncated}: truncated or corrupt TFRecord data after record 2 "
        f"(bytes {readable} to {os.path.getsize(truncated)} unreadable)",
        f"{empty}: empty file (0 bytes, no records); expected NSynth TFRecords",
    ]
    with pytest.raises(NsynthDataError, match=f"{empty}: empty file"):
        nsynth.read_tfrecords(empty)
    with pytest.raises(tf.errors.InvalidArgumentError) as raised:
        collect(nsynth.read_tfrecords(truncated))
    assert str(nsynth.bad_data_error(raised.value)) == report["problems"][0]
    # Skipping: the readable records of the damaged file, nothing of the empty one.
    assert len(collect(nsynth.read_tfrecords([truncated, empty], skip_bad_records=True))) == 3


def test_tfds_reader_gives_the_same_format(mini_nsynth_tiny, magenta_dir):
    data_dir = mini_nsynth_tiny["data_dir"]
    from_tfds = nsynth.read("mini_nsynth/tiny", "train", data_dir=data_dir)
    assert from_tfds.element_spec == nsynth.read(magenta_dir, "train").element_spec
    examples = collect(from_tfds)
    assert len(examples) == 20
    for example in examples:
        instrument = labels.label_instrument(example["instrument"])  # soundfont * 128 + GM program
        assert example["family"] == labels.family_index(instrument.family)
        assert example["source"] == labels.source_index(instrument.source)
        assert example["id"].decode() == labels.note_str(instrument, example["pitch"], example["velocity"])
    filtered = collect(nsynth.read_tfds("mini_nsynth/tiny", "train", data_dir, paper_filter=True))
    assert len(filtered) == mini_nsynth_tiny["splits"]["train"]["sources"]["acoustic"]
    assert {e["source"] for e in filtered} == {0}
    assert {e["family"] for e in filtered} == {labels.family_index(f) for f in labels.PAPER_FAMILIES}
    full = {e["id"]: e["audio"] for e in examples}
    for example in filtered:
        assert example["audio"].shape == (8192,)
        np.testing.assert_array_equal(example["audio"], full[example["id"]][:8192])


def test_tfds_reader_errors_name_the_data_dir(tmp_path, mini_nsynth_tiny):
    with pytest.raises(NsynthDataError, match=f"'nsynth/full' is not prepared in {tmp_path}"):
        nsynth.read_tfds("nsynth/full", "train", str(tmp_path))
    with pytest.raises(NsynthDataError, match="'mini_nsynth/default' is not prepared in"):
        nsynth.read("mini_nsynth/default", data_dir=mini_nsynth_tiny["data_dir"])
    with pytest.raises(NsynthDataError, match="has no split 'dev'"):
        nsynth.read("mini_nsynth/tiny", "dev", data_dir=mini_nsynth_tiny["data_dir"])
    with pytest.raises(NsynthDataError, match="no TFDS dataset named 'nsynthh'"):
        nsynth.read("nsynthh")


def shard_ids(make_dataset):
    shards = []
    for index in range(2):
        context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=index, num_replicas_in_sync=2)
        shards.append([e["id"] for e in collect(make_dataset(context))])
    return shards


def test_sharding_splits_examples_between_input_pipelines(mini_nsynth_tiny, magenta_dir):
    data_dir = mini_nsynth_tiny["data_dir"]
    for make, total in [
        (lambda c: nsynth.read_tfds("mini_nsynth/tiny", "train", data_dir, input_context=c), 20),
        (lambda c: nsynth.read(magenta_dir, "train", input_context=c), len(TRAIN_NOTES)),
    ]:
        first, second = shard_ids(make)
        assert first and second and not set(first) & set(second)
        assert len(first) + len(second) == total


def test_input_pipeline_batches_for_training_and_evaluation(mini_nsynth_tiny):
    data_dir = mini_nsynth_tiny["data_dir"]
    training = nsynth.input_pipeline("mini_nsynth/tiny", "train", 8, data_dir=data_dir, paper_filter=True, seed=3)
    batches = list(training.take(4).as_numpy_iterator())  # 17 acoustic notes: repeats
    assert all(b["audio"].shape == (8, 8192) for b in batches)
    assert all(set(b["source"]) == {0} for b in batches)
    evaluation = nsynth.input_pipeline("mini_nsynth/tiny", "valid", 4, data_dir=data_dir, training=False)
    sizes = [len(b["id"]) for b in evaluation.as_numpy_iterator()]
    assert sizes == [4, 4, 2]  # one pass, remainder kept
    distributed_context = tf.distribute.InputContext(1, 0, num_replicas_in_sync=2)
    per_replica = nsynth.input_pipeline(
        "mini_nsynth/tiny", "valid", 4, data_dir=data_dir, training=False,
        input_context=distributed_context,
    )  # fmt: skip
    assert len(next(iter(per_replica))["id"]) == 2


def test_distributed_training_pipeline(two_cpu_strategy, mini_nsynth_tiny):
    data_dir = mini_nsynth_tiny["data_dir"]

    def dataset_fn(input_context):
        return nsynth.input_pipeline(
            "mini_nsynth/tiny", "train", 4, data_dir=data_dir, input_context=input_context,
            paper_filter=True, seed=0,
        )  # fmt: skip

    distributed = two_cpu_strategy.distribute_datasets_from_function(dataset_fn)
    batch = next(iter(distributed))

    @tf.function
    def step(batch):
        def per_replica(examples):
            energy = tf.reduce_sum(tf.square(examples["audio"]), axis=1)
            return tf.shape(examples["audio"]), tf.reduce_sum(energy)

        return two_cpu_strategy.run(per_replica, args=(batch,))

    shapes, energies = step(batch)
    local_shapes = two_cpu_strategy.experimental_local_results(shapes)
    assert [list(s.numpy()) for s in local_shapes] == [[2, 8192], [2, 8192]]
    ids = [x.numpy().tolist() for x in two_cpu_strategy.experimental_local_results(batch["id"])]
    assert not set(ids[0]) & set(ids[1])  # each replica gets its own examples
    assert all(e.numpy() > 0 for e in two_cpu_strategy.experimental_local_results(energies))


def test_embedded_pipeline_and_throughput(mini_nsynth_tiny):
    dataset = nsynth.embedded_pipeline(4, config="tiny", data_dir=mini_nsynth_tiny["data_dir"], seed=0, cache=True)
    assert dataset.element_spec["audio"].shape.as_list() == [4, 8192]
    result = pipeline.measure_throughput(dataset, num_batches=5, warmup_batches=1)
    assert result["batches"] == 5 and result["examples"] == 20
    assert result["examples_per_second"] > 0


def test_describe_counts_splits_families_and_sources(magenta_dir):
    files = [os.path.join(magenta_dir, f"nsynth-{s}.tfrecord") for s in ("train", "valid")]
    report = nsynth.describe_tfrecords(files)
    assert report["files"] == files and report["ok"] is True and report["problems"] == []
    assert report["splits"]["train"] == {
        "examples": 6,
        "families": {"bass": 1, "guitar": 1, "mallet": 1, "reed": 1, "string": 1, "synth_lead": 1},
        "sources": {"acoustic": 4, "electronic": 1, "synthetic": 1},
        "bad_records": 0,
        "pitch_range": [23, 85],
    }
    assert report["splits"]["valid"]["families"] == {"flute": 1, "vocal": 1}


def test_source_kind_detection():
    assert nsynth.is_tfrecord_source(["a", "b"])
    assert nsynth.is_tfrecord_source("/data/nsynth")
    assert nsynth.is_tfrecord_source("nsynth-train.tfrecord")
    assert nsynth.is_tfrecord_source("data/*.tfrecord*")
    assert not nsynth.is_tfrecord_source("nsynth/gansynth_subset")
    assert not nsynth.is_tfrecord_source("mini_nsynth")


def test_a_cached_clip_does_not_keep_its_whole_note_alive(tmp_path):
    """8192 of a note's 64000 samples are kept; a slice would share (and pin) the parsed note's buffer."""
    rng = np.random.default_rng(0)
    path = write_records(
        tmp_path / "nsynth-train.tfrecord",
        [magenta_example(0, 0, 1, 40 + i % 40, 50, audio=rng.uniform(-0.5, 0.5, 64000)) for i in range(400)],
    )
    clips = nsynth.read(path, "train", paper_filter=True).map(lambda e: e["audio"])
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
    import keras

    from tfxmodal.train import bad_record_error

    notes = [magenta_example(0, 0, 1, 40 + i, 50) for i in range(4)]
    notes[2] = magenta_example(0, 0, 1, 42, 50, audio=np.zeros(100, np.float32))
    path = write_records(tmp_path / "nsynth-train.tfrecord", notes)
    pairs = nsynth.read_tfrecords(path, num_samples=16).map(lambda e: (e["audio"], e["pitch"])).batch(1)
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    with pytest.raises(tf.errors.InvalidArgumentError) as raised:
        model.fit(pairs, epochs=1, verbose=0)
    assert str(bad_record_error(raised.value)).startswith(f"{path}: record 2, key 'audio' has 100 values")
    assert bad_record_error(ValueError("something else")) is None
