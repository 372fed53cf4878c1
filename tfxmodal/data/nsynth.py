"""NSynth readers (TFDS and raw Magenta TFRecords) and the shared tf.data pipeline.

Every reader yields the same unbatched examples, a dict:

    audio       float32 (num_samples,)  waveform at 16 kHz, in [-1, 1]
    pitch       int32 ()                MIDI pitch 0-127
    velocity    int32 ()                MIDI velocity 0-127
    family      int32 ()                NSynth family index (bass 0 … vocal 10)
    source      int32 ()                acoustic 0, electronic 1, synthetic 2
    instrument  int32 ()                instrument index (NSynth: 0-1005;
                                        mini_nsynth: the GM program)
    id          string ()               note id, e.g. b"guitar_acoustic_024-060-100"

Sources:
- a TFDS builder name: `nsynth/full`, `nsynth/gansynth_subset` (prepared
  beforehand; nothing is downloaded here), or `mini_nsynth[/tiny]`, the
  embedded stand-in with the same schema (`tfxmodal.data.mini_nsynth`);
- raw Magenta TFRecord files (`nsynth-train.tfrecord`, …): a file, a glob, a
  list of them, or the directory holding `nsynth-{split}.tfrecord`.

`paper_filter=True` applies the paper's selection (Section 5.2): acoustic
notes (source 0) of pitch 24-84, first 8192 samples (60,788 notes of the real
train split).
"""

import collections
import glob
import os
import re

import numpy as np
import tensorflow as tf

from tfxmodal.data import nsynth_families as labels
from tfxmodal.data import pipeline

AUTOTUNE = tf.data.AUTOTUNE
TFDS_NAMES = ("nsynth/full", "nsynth/gansynth_subset", "mini_nsynth/default", "mini_nsynth/tiny")

# Raw Magenta tf.train.Example keys: kind, values per record, what they hold.
# Keys this reader needs; a record without them cannot become an example.
_REQUIRED_KEYS = {
    "note_str": ("bytes_list", 1, "the note id"),
    "pitch": ("int64_list", 1, "the MIDI pitch 0-127"),
    "velocity": ("int64_list", 1, "the MIDI velocity 0-127"),
    "instrument": ("int64_list", 1, "the instrument index"),
    "instrument_family": ("int64_list", 1, "the family index 0-10"),
    "instrument_source": ("int64_list", 1, "the source index 0-2"),
}
# Keys the release also has; checked when present, not required.
_OPTIONAL_KEYS = {
    "instrument_str": ("bytes_list", 1, "the instrument name"),
    "instrument_family_str": ("bytes_list", 1, "the family name"),
    "instrument_source_str": ("bytes_list", 1, "the source name"),
    "qualities": ("int64_list", len(labels.QUALITIES), "the 10 note-quality flags"),
    "qualities_str": ("bytes_list", None, "the quality names"),
    "sample_rate": ("int64_list", 1, "the sample rate in Hz"),
}
_MISSING = -1  # parse default of the int64 label keys: "key absent"
_LABEL_SPEC = {
    key: tf.io.FixedLenFeature([], tf.int64, default_value=_MISSING)
    for key, (kind, _, _) in _REQUIRED_KEYS.items()
    if kind == "int64_list"
}
_LABEL_SPEC["note_str"] = tf.io.FixedLenFeature([], tf.string, default_value="")
_AUDIO_SPEC = {"audio": tf.io.VarLenFeature(tf.float32)}


class NsynthDataError(ValueError):
    """NSynth data is missing or not in the expected format (the message says which file)."""


# ----------------------------------------------------------------- raw TFRecords


def magenta_split_files(directory, split):
    """The raw Magenta files of `split` in `directory` (`nsynth-{split}.tfrecord*`)."""
    if not os.path.isdir(directory):
        raise NsynthDataError(f"{directory}: no such directory (expected the NSynth TFRecords)")
    files = sorted(glob.glob(os.path.join(glob.escape(directory), f"nsynth-{split}.tfrecord*")))
    if not files:
        raise NsynthDataError(
            f"{directory}: no nsynth-{split}.tfrecord file (the Magenta release names its "
            "files nsynth-train.tfrecord, nsynth-valid.tfrecord, nsynth-test.tfrecord)"
        )
    return files


def resolve_tfrecord_paths(paths):
    """Expands a file, glob, directory of `*.tfrecord*` or list of them to sorted files.

    Raises `NsynthDataError` naming the first path that matches no file.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files = []
    for path in map(os.fspath, paths):
        if os.path.isdir(path):
            found = sorted(glob.glob(os.path.join(glob.escape(path), "*.tfrecord*")))
            if not found:
                raise NsynthDataError(f"{path}: directory holds no *.tfrecord* file")
        elif glob.has_magic(path):
            found = sorted(glob.glob(path))
            if not found:
                raise NsynthDataError(f"{path}: pattern matches no file")
        elif os.path.isfile(path):
            found = [path]
        else:
            raise NsynthDataError(f"{path}: no such file (expected an NSynth TFRecord file)")
        files.extend(found)
    if not files:
        raise NsynthDataError("no NSynth TFRecord file given")
    return files


def _kind_of(feature):
    return feature.WhichOneof("kind")


def check_magenta_record(serialized, path, index=0, note_samples=labels.NOTE_SAMPLES):
    """Checks one serialized raw NSynth `tf.train.Example`; raises `NsynthDataError`.

    Every required key must be present with its kind (`bytes_list`,
    `int64_list`, `float_list`) and count; `audio` must hold `note_samples`
    floats; a `sample_rate` must be 16000.
    """
    try:
        example = tf.train.Example.FromString(serialized)
    except Exception as error:  # protobuf raises its own DecodeError
        message = f"{path}: record {index} is not a tf.train.Example ({error})"
        raise NsynthDataError(message) from None
    features = example.features.feature
    expected = dict(_REQUIRED_KEYS)
    expected["audio"] = ("float_list", note_samples, f"{note_samples} float32 samples at 16 kHz")
    for key, (kind, count, meaning) in {**expected, **_OPTIONAL_KEYS}.items():
        if key not in features:
            if key in expected:
                raise NsynthDataError(f"{path}: record {index} has no key {key!r} (expected {kind} with {meaning})")
            continue
        actual_kind = _kind_of(features[key])
        if actual_kind != kind:
            raise NsynthDataError(
                f"{path}: record {index}, key {key!r} holds {actual_kind}, expected {kind} with {meaning}"
            )
        values = getattr(features[key], kind).value
        if count is not None and len(values) != count:
            raise NsynthDataError(
                f"{path}: record {index}, key {key!r} has {len(values)} values, expected {count} ({meaning})"
            )
    if "sample_rate" in features:
        rate = features["sample_rate"].int64_list.value[0]
        if rate != labels.SAMPLE_RATE:
            raise NsynthDataError(f"{path}: record {index} has sample_rate {rate}, expected {labels.SAMPLE_RATE}")


def _check_first_records(files, note_samples):
    """Fails fast, naming the file, on a file whose first record is off-schema.

    Later records are checked inside the pipeline (`_parse_labels`,
    `_audio_parser`): reading a multi-gigabyte file twice is not an option.
    """
    for path in files:
        try:
            first = list(tf.data.TFRecordDataset(path).take(1).as_numpy_iterator())
        except tf.errors.OpError as error:
            message = f"{path}: not a readable TFRecord file ({error.message})"
            raise NsynthDataError(message) from None
        if first:
            check_magenta_record(first[0], path, 0, note_samples)


def _records_with_paths(files):
    """(path, serialized record) pairs, file by file, in a fixed order."""
    paths = tf.data.Dataset.from_tensor_slices(files)
    return paths.interleave(
        lambda path: tf.data.TFRecordDataset(path).map(lambda record: (path, record)),
        cycle_length=1,  # file order = record order: reproducible shards and ids
    )


def _parse_labels(path, record):
    """Everything but the audio, checked; the record is kept for the audio parse."""
    parsed = tf.io.parse_single_example(record, _LABEL_SPEC)
    int_keys = sorted(key for key in _LABEL_SPEC if key != "note_str")
    present = tf.reduce_all(
        tf.stack([parsed[key] != _MISSING for key in int_keys] + [tf.strings.length(parsed["note_str"]) > 0])
    )
    check = tf.debugging.Assert(
        present,
        [path, ": a record lacks one of the keys note_str, " + ", ".join(int_keys)],
    )
    with tf.control_dependencies([check]):
        labels_ = {
            "pitch": tf.cast(parsed["pitch"], tf.int32),
            "velocity": tf.cast(parsed["velocity"], tf.int32),
            "family": tf.cast(parsed["instrument_family"], tf.int32),
            "source": tf.cast(parsed["instrument_source"], tf.int32),
            "instrument": tf.cast(parsed["instrument"], tf.int32),
            "id": tf.identity(parsed["note_str"]),
        }
    return path, record, labels_


def _audio_parser(note_samples, num_samples):
    def parse(path, record, labels_):
        audio = tf.io.parse_single_example(record, _AUDIO_SPEC)["audio"].values
        check = tf.debugging.Assert(
            tf.equal(tf.size(audio), note_samples),
            [path, ": a record's audio has", tf.size(audio), f"samples, expected {note_samples}"],
        )
        with tf.control_dependencies([check]):
            # A gather, not a slice: TF's slice of a prefix shares the parsed note's buffer, so every
            # cached or shuffled 8192-sample clip kept its whole 64000-sample note alive (252 KiB, not 32).
            audio = tf.gather(audio, tf.range(num_samples))
        return dict(labels_, audio=tf.ensure_shape(audio, [num_samples]))

    return parse


def _paper_selection(pitch, source):
    low, high = labels.PAPER_PITCH_RANGE
    return tf.logical_and(tf.equal(source, 0), tf.logical_and(pitch >= low, pitch <= high))


def _sample_count(num_samples, paper_filter, note_samples):
    if num_samples is None:
        num_samples = labels.PAPER_NUM_SAMPLES if paper_filter else note_samples
    num_samples = int(num_samples)
    if not 1 <= num_samples <= note_samples:
        raise ValueError(f"num_samples {num_samples}: expected 1..{note_samples} (samples per note)")
    return num_samples


def read_tfrecords(
    paths,
    *,
    paper_filter=False,
    num_samples=None,
    input_context=None,
    note_samples=labels.NOTE_SAMPLES,
):
    """Unbatched examples from raw Magenta NSynth TFRecord files.

    Args:
        paths: a file, glob pattern, directory of `*.tfrecord*`, or a list.
        paper_filter: keep acoustic notes of pitch 24-84 only (the paper).
        num_samples: samples kept from the start of each note; defaults to
            8192 with `paper_filter`, else the whole note.
        input_context: `tf.distribute.InputContext`; this pipeline keeps its
            shard of the records.
        note_samples: samples per stored note (NSynth: 64000).

    Returns:
        `tf.data.Dataset` of the module's example dicts. The first record
        of every file is checked here, so an off-schema file fails now with
        `NsynthDataError`. A later record with audio of the wrong length or
        a missing key fails at iteration (`tf.errors.InvalidArgumentError`)
        with the file's name in the message; one with an ill-typed key fails
        with TensorFlow's own "Data types don't match" message, which names
        the key but not the file.
    """
    num_samples = _sample_count(num_samples, paper_filter, note_samples)
    files = resolve_tfrecord_paths(paths)
    _check_first_records(files, note_samples)
    records = pipeline.shard(_records_with_paths(files), input_context)
    examples = records.map(_parse_labels, num_parallel_calls=AUTOTUNE)
    if paper_filter:
        # Filter before the costly audio parse: the paper keeps ~1 note in 5.
        examples = examples.filter(lambda path, record, note: _paper_selection(note["pitch"], note["source"]))
    return examples.map(_audio_parser(note_samples, num_samples), num_parallel_calls=AUTOTUNE)


# ----------------------------------------------------------------- TFDS


def tfds_builder(name, data_dir=None):
    """A prepared TFDS builder (`nsynth/full`, `mini_nsynth/tiny`, …); never downloads.

    `data_dir=None` is TFDS's default data dir (`$TFDS_DATA_DIR` read now, as
    `mini_nsynth.prepare` does, else `~/tensorflow_datasets`). Raises
    `NsynthDataError` when the name is unknown or the dataset is not prepared
    under the data dir.
    """
    import tensorflow_datasets as tfds

    from tfxmodal.data import mini_nsynth  # noqa: F401 (registers mini_nsynth with TFDS)
    from tfxmodal.data.tfds_utils import offline_tfds, tfds_data_dir

    offline_tfds()
    try:
        builder = tfds.builder(name, data_dir=tfds_data_dir(data_dir))
    except tfds.core.registered.DatasetNotFoundError:
        raise NsynthDataError(
            f"no TFDS dataset named {name!r} (known: {', '.join(TFDS_NAMES)}) and no such file or directory"
        ) from None
    except ValueError as error:  # an unknown config; TFDS appends a long list
        message = str(error).splitlines()[0]
        raise NsynthDataError(f"TFDS dataset {name!r}: {message}") from None
    if not builder.is_prepared():
        root = data_dir or "the default TFDS data dir"
        hint = (
            "run `python -m tfxmodal.data prepare mini_nsynth`"
            if name.startswith("mini_nsynth")
            else "prepare it there with TFDS first (nothing is downloaded here)"
        )
        raise NsynthDataError(f"TFDS dataset {name!r} is not prepared in {root}: expected {builder.data_dir}; {hint}")
    return builder


def read_tfds(
    name="nsynth/gansynth_subset",
    split="train",
    data_dir=None,
    *,
    paper_filter=False,
    num_samples=None,
    input_context=None,
):
    """Unbatched examples of a prepared TFDS NSynth-schema dataset.

    Args:
        name: TFDS builder name with config, e.g. `nsynth/full`,
            `nsynth/gansynth_subset`, `mini_nsynth/default`.
        split: `train`, `valid` or `test` (or any TFDS split expression).
        data_dir: TFDS data dir holding the prepared dataset (None: default).
        paper_filter, num_samples, input_context: as in `read_tfrecords`.

    Returns:
        `tf.data.Dataset` of the module's example dicts, in file order.
    """
    import tensorflow_datasets as tfds

    builder = tfds_builder(name, data_dir)
    note_samples = builder.info.features["audio"].shape[0]
    num_samples = _sample_count(num_samples, paper_filter, note_samples)
    base_split = re.split(r"[\[+]", split)[0]
    if base_split not in builder.info.splits:
        raise NsynthDataError(
            f"TFDS dataset {name!r} in {builder.data_dir} has no split {split!r} (it has {sorted(builder.info.splits)})"
        )
    # Only what the examples use: no quality flags decoded.
    decoders = {"qualities": {q: tfds.decode.SkipDecoding() for q in labels.QUALITIES}}
    examples = builder.as_dataset(split=split, shuffle_files=False, decoders=decoders)
    examples = pipeline.shard(examples, input_context)
    if paper_filter:
        examples = examples.filter(lambda e: _paper_selection(e["pitch"], e["instrument"]["source"]))

    def to_example(example):
        return {
            "audio": tf.ensure_shape(example["audio"][:num_samples], [num_samples]),
            "pitch": tf.cast(example["pitch"], tf.int32),
            "velocity": tf.cast(example["velocity"], tf.int32),
            "family": tf.cast(example["instrument"]["family"], tf.int32),
            "source": tf.cast(example["instrument"]["source"], tf.int32),
            "instrument": tf.cast(example["instrument"]["label"], tf.int32),
            "id": example["id"],
        }

    return examples.map(to_example, num_parallel_calls=AUTOTUNE)


# ----------------------------------------------------------------- any source


def is_tfrecord_source(source):
    """True when `source` names raw TFRecord files rather than a TFDS builder.

    Lists, existing paths, absolute or `./`, `../`, `~` paths, glob patterns
    and names ending in `.tfrecord` are files; anything else (`nsynth/full`,
    `mini_nsynth`) is a TFDS name.
    """
    if isinstance(source, (list, tuple)):
        return True
    source = os.fspath(source)
    return (
        os.path.exists(source)
        or os.path.isabs(source)
        or source.startswith(("./", "../", "~"))
        or glob.has_magic(source)
        or bool(re.search(r"\.tfrecord(-\d+-of-\d+)?$", source))
    )


def read(source, split="train", *, data_dir=None, **options):
    """Unbatched examples from any NSynth source (see the module docstring).

    A directory is read as the Magenta release: `nsynth-{split}.tfrecord*`.
    `options` are `read_tfds` / `read_tfrecords` keywords.
    """
    if is_tfrecord_source(source):
        if not isinstance(source, (list, tuple)):
            source = os.path.expanduser(os.fspath(source))
            if os.path.isdir(source) or not (os.path.exists(source) or glob.has_magic(source) or ".tfrecord" in source):
                # A directory, or a path that names no file: the Magenta layout.
                source = magenta_split_files(source, split)
        return read_tfrecords(source, **options)
    return read_tfds(source, split, data_dir, **options)


def input_pipeline(
    source,
    split="train",
    global_batch_size=64,
    *,
    training=True,
    input_context=None,
    data_dir=None,
    paper_filter=False,
    num_samples=None,
    shuffle_buffer=4096,
    seed=None,
    cache=False,
):
    """Batched NSynth examples for training or evaluation.

    Shards (under `tf.distribute`), parses in parallel, then
    `pipeline.finish`: cache → shuffle/repeat (training) → batch → prefetch.
    Use as the dataset function of `strategy.distribute_datasets_from_function`
    (pass its `input_context`), or alone.

    Args:
        source: a TFDS name or TFRecord files (see `read`).
        global_batch_size: examples per step over all replicas; each batch
            here holds this pipeline's per-replica share.
        training: shuffle, repeat and drop the last partial batch.
        cache: keep parsed examples in memory (fits mini_nsynth easily).

    Returns:
        `tf.data.Dataset` of dicts with a leading batch axis.
    """
    examples = read(
        source,
        split,
        data_dir=data_dir,
        paper_filter=paper_filter,
        num_samples=num_samples,
        input_context=input_context,
    )
    batch_size = pipeline.per_replica_batch_size(global_batch_size, input_context)
    return pipeline.finish(examples, batch_size, training, shuffle_buffer, seed, cache)


def embedded_pipeline(
    global_batch_size=64,
    *,
    split="train",
    config="default",
    data_dir=None,
    training=True,
    paper_filter=True,
    num_samples=None,
    input_context=None,
    **finish_options,
):
    """`input_pipeline` over the embedded `mini_nsynth`, building it first if needed.

    The paper's filter is on by default (acoustic notes, 8192 samples).
    `finish_options`: `shuffle_buffer`, `seed`, `cache`.
    """
    from tfxmodal.data import mini_nsynth

    mini_nsynth.prepare(data_dir, config)
    return input_pipeline(
        f"mini_nsynth/{config}",
        split,
        global_batch_size,
        training=training,
        input_context=input_context,
        data_dir=data_dir,
        paper_filter=paper_filter,
        num_samples=num_samples,
        **finish_options,
    )


# ----------------------------------------------------------------- describe


def _split_of(path):
    match = re.search(r"nsynth-([A-Za-z0-9_]+)\.tfrecord", os.path.basename(path))
    return match.group(1) if match else os.path.basename(path)


def describe_tfrecords(paths):
    """Counts of notes per split, family and source in raw NSynth TFRecord files.

    The split is read from the file name (`nsynth-valid.tfrecord` → valid).
    Audio is not parsed (only each file's first record is checked whole), so
    this reads at disk speed.

    Returns:
        JSON-able dict: `files`, and per split `examples`, `families`
        (name → count), `sources` (name → count), `pitch_range` [min, max].
    """
    files = resolve_tfrecord_paths(paths)
    _check_first_records(files, labels.NOTE_SAMPLES)
    splits = {}
    for path in files:
        counts = splits.setdefault(
            _split_of(path),
            {"examples": 0, "families": collections.Counter(), "sources": collections.Counter(), "pitches": []},
        )
        records = _records_with_paths([path]).map(_parse_labels, num_parallel_calls=AUTOTUNE)
        records = records.map(lambda path, record, note: note).batch(4096)
        for batch in records.as_numpy_iterator():
            counts["examples"] += len(batch["pitch"])
            counts["families"].update(_names(batch["family"], labels.FAMILIES, path, "family"))
            counts["sources"].update(_names(batch["source"], labels.SOURCES, path, "source"))
            counts["pitches"].extend([batch["pitch"].min(), batch["pitch"].max()])
    for counts in splits.values():
        pitches = counts.pop("pitches")
        counts["families"] = dict(sorted(counts["families"].items()))
        counts["sources"] = dict(sorted(counts["sources"].items()))
        counts["pitch_range"] = [int(min(pitches)), int(max(pitches))] if pitches else None
    return {"files": files, "splits": splits}


def _names(indices, names, path, what):
    indices = np.asarray(indices)
    bad = indices[(indices < 0) | (indices >= len(names))]
    if bad.size:
        raise NsynthDataError(f"{path}: {what} index {int(bad[0])} outside 0..{len(names) - 1}")
    return [names[i] for i in indices]
