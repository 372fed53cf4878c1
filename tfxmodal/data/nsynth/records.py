"""Raw Magenta NSynth TFRecords, checked record by record: read (`read_tfrecords`), scanned (`scan_tfrecords`).

Every key's kind and count, the audio's length and the labels' ranges are checked as
records are parsed, in the graph (`check_magenta_record` says the same in Python). A bad
record, an empty file or data that stops being readable is an error naming the file and
the record index (`bad_data_error`), or with `skip_bad_records` is left out.
"""

import base64
import glob
import os
import re

import numpy as np
import tensorflow as tf

from tfxmodal.data.nsynth import families as labels
from tfxmodal.errors import NsynthDataError

AUTOTUNE = tf.data.AUTOTUNE


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


# Inclusive ranges of the label values: a record outside them has no usable label.
_LABEL_RANGES = {
    "pitch": (0, labels.NUM_MIDI_CLASSES - 1),
    "velocity": (0, labels.NUM_MIDI_CLASSES - 1),
    "instrument": (0, labels.NUM_INSTRUMENT_LABELS - 1),
    "instrument_family": (0, len(labels.FAMILIES) - 1),
    "instrument_source": (0, len(labels.SOURCES) - 1),
}


_DTYPES = {"bytes_list": tf.string, "int64_list": tf.int64, "float_list": tf.float32}


_MISSING = -1  # parse default of the int64 label keys: "key absent" (outside every range)


# A TFRecord frames each record with its length (8 bytes) and two CRC32Cs (4 each).
TFRECORD_FRAMING_BYTES = 16


# The in-graph failure of a strict pipeline carries this mark (see `bad_data_error`).
_FAILURE_MARK = "tfxmodal-nsynth"


_FAILURE = re.compile(_FAILURE_MARK + r":(record|unreadable|empty):(\d+):(\d+):(\d+):([A-Za-z0-9_-]*)")


MAX_REASONS_PER_FILE = 100  # bad records per file whose reason is looked up (each is one more record parse)


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

    Raises `NsynthDataError` naming the first path that matches no file, or
    that is a directory given inside a glob's matches.
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
        for match in found:
            if not os.path.isfile(match):
                raise NsynthDataError(f"{match}: not a file (expected an NSynth TFRecord file)")
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
    floats; the note id must not be empty; pitch, velocity, instrument,
    family and source must lie in their ranges; a `sample_rate` must be
    16000. The same checks run inside the graph on every record read
    (`read_tfrecords`, `scan_tfrecords`); this one names what failed.
    """
    try:
        example = tf.train.Example.FromString(serialized)
    except Exception as error:  # protobuf raises its own DecodeError
        reason = " ".join(str(error).split()) or type(error).__name__
        raise NsynthDataError(f"{path}: record {index} is not a tf.train.Example ({reason})") from None
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
    if not features["note_str"].bytes_list.value[0]:
        raise NsynthDataError(f"{path}: record {index}, key 'note_str' is empty (expected the note id)")
    for key, (low, high) in _LABEL_RANGES.items():
        value = features[key].int64_list.value[0]
        if not low <= value <= high:
            raise NsynthDataError(f"{path}: record {index}, key {key!r} holds {value}, expected {low}..{high}")
    if "sample_rate" in features:
        rate = features["sample_rate"].int64_list.value[0]
        if rate != labels.SAMPLE_RATE:
            raise NsynthDataError(f"{path}: record {index} has sample_rate {rate}, expected {labels.SAMPLE_RATE}")


def empty_file_message(path):
    """The message for a TFRecord file of no records (every reader and `describe` say the same)."""
    return f"{path}: empty file (0 bytes, no records); expected NSynth TFRecords"


def _check_first_records(files, note_samples):
    """Fails fast, naming the file, on a file that is empty, unreadable or whose first record is off-schema.

    Every later record is checked inside the pipeline (`_checked_records`).
    """
    for path in files:
        try:
            first = list(tf.data.TFRecordDataset(path).take(1).as_numpy_iterator())
        except tf.errors.OpError as error:
            message = f"{path}: not a readable TFRecord file ({error.message})"
            raise NsynthDataError(" ".join(message.split())) from None
        if not first:
            raise NsynthDataError(empty_file_message(path))
        check_magenta_record(first[0], path, 0, note_samples)


def _record_spec():
    """Every key of the schema, each parsed as its kind: a record with a key of another kind fails the parse."""
    spec = {}
    for key, (kind, _, _) in _REQUIRED_KEYS.items():
        missing = "" if kind == "bytes_list" else _MISSING
        spec[key] = tf.io.FixedLenFeature([], _DTYPES[kind], default_value=missing)
    # RaggedFeature without partitions: a plain 1-D tensor of the values (lighter than a SparseTensor).
    spec["audio"] = tf.io.RaggedFeature(tf.float32)
    for key, (kind, _, _) in _OPTIONAL_KEYS.items():
        spec[key] = tf.io.RaggedFeature(_DTYPES[kind])
    return spec


def _is_valid(parsed, note_samples):
    """`check_magenta_record`'s checks on a parsed record, as one boolean scalar (the kinds, and the counts
    of the required labels, were checked by the parse itself)."""
    label_values = tf.stack([parsed[key] for key in _LABEL_RANGES])
    lows, highs = zip(*_LABEL_RANGES.values())
    counted = [key for key, (_, count, _) in _OPTIONAL_KEYS.items() if count is not None]
    present = tf.stack([tf.size(parsed[key], tf.int64) for key in counted])
    expected = tf.constant([_OPTIONAL_KEYS[key][1] for key in counted], tf.int64)
    return tf.reduce_all(
        [
            tf.strings.length(parsed["note_str"]) > 0,
            tf.equal(tf.size(parsed["audio"]), note_samples),
            tf.reduce_all((label_values >= lows) & (label_values <= highs)),
            tf.reduce_all((present == 0) | (present == expected)),
            tf.reduce_all(tf.equal(parsed["sample_rate"], labels.SAMPLE_RATE)),
        ]
    )


def _checked_records(files, note_samples, num_samples, num_shards=1, shard_index=0, strict=True):
    """Every record of `files` parsed and checked; a record failing the checks is left out and counted.

    Each record is parsed once with every key of the schema
    (`_record_spec`) and checked (`_is_valid`); one of the wrong kind, count
    or range, or not a `tf.train.Example` at all, fails its own element,
    which `ignore_errors` drops. The gap it leaves in the record numbers is
    counted at the next record of the file that passes, or at the file's
    end marker, which knows how many records were read; and an end marker
    whose records took fewer bytes than the file holds reports damaged data
    (the reader stops there). Nothing is dropped unnoticed. With
    `num_shards` > 1, this pipeline checks the records numbered
    `shard_index` modulo `num_shards` of each file.

    Returns:
        `tf.data.Dataset` of dicts, in file and record order: `file` (its
        position in `files`), `index` (the record's number in its file; at
        an end marker, the records read),
        `end`, `example` (the module's example dict, `audio` cut to
        `num_samples`; zeros at an end marker), `bad` (this shard's records
        left out just before this element), `first_bad` (the first of
        them), `unread` (at an end marker: the file's data stopped being
        readable at byte `offset`), `offset` and `empty` (at an end marker:
        a file of no records). With `strict`, the first bad record, damaged
        file or empty file fails the iteration with an
        `InvalidArgumentError` that `bad_data_error` turns into an
        `NsynthDataError` naming the file and the record.
    """
    spec = _record_spec()
    paths = tf.constant(files, tf.string)
    sizes = tf.constant([tf.io.gfile.stat(path).length for path in files], tf.int64)

    def parse(file_id, index, offset, record, end):
        parsed = tf.io.parse_single_example(record, spec)  # a key of another kind: an error here
        check = tf.debugging.Assert(end | _is_valid(parsed, note_samples), [index])  # and here
        with tf.control_dependencies([check]):
            # A gather, not a slice: TF's slice of a prefix shares the parsed note's buffer, so every
            # cached or shuffled 8192-sample clip kept its whole 64000-sample note alive (252 KiB, not 32).
            audio = tf.cond(
                end,
                lambda: tf.zeros([num_samples], tf.float32),
                lambda: tf.gather(parsed["audio"], tf.range(num_samples)),
            )
            example = {
                "audio": tf.ensure_shape(audio, [num_samples]),
                "pitch": tf.cast(parsed["pitch"], tf.int32),
                "velocity": tf.cast(parsed["velocity"], tf.int32),
                "family": tf.cast(parsed["instrument_family"], tf.int32),
                "source": tf.cast(parsed["instrument_source"], tf.int32),
                "instrument": tf.cast(parsed["instrument"], tf.int32),
                "id": tf.identity(parsed["note_str"]),
            }
        return file_id, index, offset, end, example

    def one_file(file_id):
        # Each record, then an end marker: numbered, with the byte each starts at.
        records = tf.data.TFRecordDataset(files[file_id]).map(lambda record: (record, False))
        records = records.concatenate(tf.data.Dataset.from_tensors((tf.constant(b""), True)))

        def number(state, element):
            count, offset = state
            record, end = element
            framed = tf.cast(tf.strings.length(record), tf.int64) + TFRECORD_FRAMING_BYTES
            return (count + 1, offset + framed), (tf.constant(file_id, tf.int64), count, offset, record, end)

        return records.scan((tf.constant(0, tf.int64), tf.constant(0, tf.int64)), number)

    def account(expected, element):
        # This shard's records of the file numbered from `expected` up to this one (at an end marker: up
        # to the count read) did not come through the parse: each failed its checks.
        file_id, index, offset, end, example = element
        status = {
            "file": file_id,
            "index": index,
            "offset": offset,
            "end": end,
            "example": example,
            "bad": tf.maximum((index - expected + num_shards - 1) // num_shards, 0),
            "first_bad": expected,
            "unread": end & (offset != sizes[file_id]),
            "empty": end & (sizes[file_id] == 0),
        }
        if strict:
            status = _fail_on_problems(status, paths[file_id], sizes[file_id])
        # After an end marker, the next file's numbers start again.
        return tf.where(end, tf.constant(shard_index, tf.int64), index + num_shards), status

    # File order = record order: reproducible shards and ids. Concatenated, not interleaved from a dataset of
    # paths: interleave's nested iterators cost a third of the reading rate (tools/nsynth_read_rate.py).
    numbered = _concatenated([one_file(file_id) for file_id in range(len(files))])
    if num_shards > 1:
        numbered = numbered.filter(
            lambda file_id, index, offset, record, end: end | (index % num_shards == shard_index)
        )
    parsed = numbered.map(parse, num_parallel_calls=AUTOTUNE).ignore_errors()
    return parsed.scan(tf.constant(shard_index, tf.int64), account)


def _concatenated(datasets):
    """`datasets` one after another, concatenated as a balanced tree (depth log2 n, for thousands of shards)."""
    if len(datasets) == 1:
        return datasets[0]
    middle = len(datasets) // 2
    return _concatenated(datasets[:middle]).concatenate(_concatenated(datasets[middle:]))


def _fail_on_problems(status, path, size):
    """`status` once checked: a bad record, a damaged or an empty file fails here, with `_FAILURE_MARK`."""

    def fail():
        kind = tf.where(status["bad"] > 0, "record", tf.where(status["empty"], "empty", "unreadable"))
        index = tf.where(status["bad"] > 0, status["first_bad"], status["index"])
        fields = [_FAILURE_MARK, kind, tf.strings.as_string(index), tf.strings.as_string(status["offset"])]
        fields += [tf.strings.as_string(size), tf.io.encode_base64(path, pad=False)]
        # The readable part first: an error that escapes `bad_data_error` still names the file.
        message = tf.strings.join([path, ": bad NSynth TFRecord data [", tf.strings.join(fields, ":"), "]"])
        return tf.debugging.Assert(False, [message])

    # The message is built only on failure: string ops on every record would cost more than the checks.
    problem = (status["bad"] > 0) | status["empty"] | status["unread"]
    check = tf.cond(problem, fail, tf.no_op)
    with tf.control_dependencies([check]):
        return tf.nest.map_structure(tf.identity, status)


def unreadable_message(path, records_read, bytes_read, size):
    """The message for a file whose data stops being readable after `records_read` records."""
    if records_read == 0:
        return f"{path}: not TFRecord data (no record readable; {size} bytes)"
    return (
        f"{path}: truncated or corrupt TFRecord data after record {records_read - 1} "
        f"(bytes {bytes_read} to {size} unreadable)"
    )


def bad_data_error(error, note_samples=labels.NOTE_SAMPLES):
    """The `NsynthDataError` a strict pipeline's failure stands for, or None for any other error.

    Args:
        error: an exception raised while iterating a dataset that reads
            TFRecords through `read_tfrecords` (directly or inside Keras'
            `fit`).

    Returns:
        `NsynthDataError` whose message names the file and the record index
        and why the record is bad (the record is read again and checked by
        `check_magenta_record`), or None when `error` is not such a failure.
    """
    match = _FAILURE.search(str(getattr(error, "message", error)))
    if match is None:
        return None
    kind, index, offset, size, encoded = match.groups()
    path = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8", "replace")
    index, offset, size = int(index), int(offset), int(size)
    if kind == "empty":
        return NsynthDataError(empty_file_message(path))
    if kind == "unreadable":
        return NsynthDataError(unreadable_message(path, index, offset, size))
    return NsynthDataError(bad_record_reasons(path, [index], note_samples)[index])


def bad_record_reasons(path, indices, note_samples=labels.NOTE_SAMPLES):
    """`{index: message}`: why each record of `path` numbered in `indices` fails `check_magenta_record`.

    Reads the file once, up to the last of `indices`.
    """
    wanted = sorted({int(index) for index in indices})
    reasons = {
        index: f"{path}: record {index} fails TensorFlow's parse of the NSynth schema (re-read, it passes "
        "check_magenta_record: was the file changed since?)"
        for index in wanted
    }
    if not wanted:
        return reasons
    chosen = tf.constant(wanted, tf.int64)
    found = tf.data.TFRecordDataset(path).enumerate()
    found = found.filter(lambda index, record: tf.reduce_any(tf.equal(index, chosen))).take(len(wanted))
    try:
        for index, record in found.as_numpy_iterator():
            try:
                check_magenta_record(record, path, int(index), note_samples)
            except NsynthDataError as error:
                reasons[int(index)] = str(error)
    except tf.errors.OpError:
        pass  # damaged data further on: reported on its own (`unreadable_message`)
    return reasons


def read_tfrecords(
    paths,
    *,
    paper_filter=False,
    num_samples=None,
    input_context=None,
    note_samples=labels.NOTE_SAMPLES,
    skip_bad_records=False,
):
    """Unbatched examples from raw Magenta NSynth TFRecord files.

    Args:
        paths: a file, glob pattern, directory of `*.tfrecord*`, or a list.
        paper_filter: keep acoustic notes of pitch 24-84 only (the paper).
        num_samples: samples kept from the start of each note; defaults to
            8192 with `paper_filter`, else the whole note.
        input_context: `tf.distribute.InputContext`; this pipeline keeps its
            shard of the records (every `num_input_pipelines`-th record of
            each file).
        note_samples: samples per stored note (NSynth: 64000).
        skip_bad_records: leave out records that fail the checks, and stop
            reading a file at damaged data, instead of failing
            (`scan_tfrecords` lists what is left out).

    Returns:
        `tf.data.Dataset` of the module's example dicts. Every record is
        checked as it is parsed (`check_magenta_record`'s checks, in the
        graph). Unless `skip_bad_records`, the first record of every file is
        checked here, so an empty, unreadable or off-schema file fails now
        with `NsynthDataError`, and a later bad record, damaged data or
        empty file fails the iteration with an `InvalidArgumentError` that
        `bad_data_error` turns into an `NsynthDataError` naming the file and
        the record index.
    """
    num_samples = sample_count(num_samples, paper_filter, note_samples)
    files = resolve_tfrecord_paths(paths)
    if not skip_bad_records:
        _check_first_records(files, note_samples)
    num_shards, shard_index = 1, 0
    if input_context is not None and input_context.num_input_pipelines > 1:
        num_shards, shard_index = input_context.num_input_pipelines, input_context.input_pipeline_id
    checked = _checked_records(files, note_samples, num_samples, num_shards, shard_index, strict=not skip_bad_records)

    def kept(status):  # one filter, not two: every stage costs its own call per record
        note = status["example"]
        keep = tf.logical_not(status["end"])
        return keep & paper_selection(note["pitch"], note["source"]) if paper_filter else keep

    return checked.filter(kept).map(lambda status: status["example"], num_parallel_calls=AUTOTUNE)


def scan_tfrecords(paths, note_samples=labels.NOTE_SAMPLES, max_reasons=MAX_REASONS_PER_FILE):
    """Reads every record of raw NSynth TFRecord files once and says which are bad; never raises on bad data.

    Args:
        paths: as in `read_tfrecords`.
        note_samples: samples per stored note.
        max_reasons: bad records per file whose reason is looked up.

    Returns:
        list of dicts, one per file: `path`, `records` (readable records),
        `bad` (indices of the records that fail the checks), `reasons`
        (`{index: message}` for the first `max_reasons` of them),
        `unreadable` (message when the file's data stops being readable
        before its end, else None), `empty` (no records), and `labels`:
        int32 arrays `pitch`, `family`, `source` of the good records.

    Raises:
        NsynthDataError: a path that names no file.
    """
    scans = []
    for path in resolve_tfrecord_paths(paths):
        columns = _checked_records([path], note_samples, 1, strict=False).map(
            lambda s: {
                **{key: s[key] for key in ("index", "end", "bad", "first_bad", "unread", "offset")},
                **{key: s["example"][key] for key in ("pitch", "family", "source")},
            }
        )
        scan = {"path": path, "records": 0, "bad": [], "unreadable": None}
        good = {"pitch": [], "family": [], "source": []}
        for batch in columns.batch(4096).as_numpy_iterator():
            gaps = batch["bad"] > 0
            for first, count in zip(batch["first_bad"][gaps], batch["bad"][gaps]):
                scan["bad"].extend(range(int(first), int(first) + int(count)))
            for key, values in good.items():
                values.append(batch[key][~batch["end"]])
            if batch["end"].any():  # the file's end marker: the last element
                scan["records"] = int(batch["index"][-1])
                if batch["unread"][-1]:
                    size = tf.io.gfile.stat(path).length
                    scan["unreadable"] = unreadable_message(path, scan["records"], int(batch["offset"][-1]), size)
        scan["empty"] = scan["records"] == 0 and scan["unreadable"] is None
        scan["reasons"] = bad_record_reasons(path, scan["bad"][:max_reasons], note_samples)
        scan["labels"] = {key: np.concatenate(values).astype(np.int32) for key, values in good.items()}
        scans.append(scan)
    return scans


def scan_problems(scan):
    """The messages of one file's `scan_tfrecords` entry: empty, each bad record, damaged data."""
    problems = [empty_file_message(scan["path"])] if scan["empty"] else []
    for index in scan["bad"]:
        problems.append(scan["reasons"].get(index) or f"{scan['path']}: record {index} fails the same checks")
    if scan["unreadable"]:
        problems.append(scan["unreadable"])
    return problems


def paper_selection(pitch, source):
    low, high = labels.PAPER_PITCH_RANGE
    return tf.logical_and(tf.equal(source, 0), tf.logical_and(pitch >= low, pitch <= high))


def sample_count(num_samples, paper_filter, note_samples):
    if num_samples is None:
        num_samples = labels.PAPER_NUM_SAMPLES if paper_filter else note_samples
    num_samples = int(num_samples)
    if not 1 <= num_samples <= note_samples:
        raise ValueError(f"num_samples {num_samples}: expected 1..{note_samples} (samples per note)")
    return num_samples
