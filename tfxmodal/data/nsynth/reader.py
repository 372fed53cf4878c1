"""NSynth from any source — a TFDS builder or raw TFRecords — as examples (`read`) and the training tf.data pipeline."""

import glob
import os
import re

import tensorflow as tf

from tfxmodal.data import pipeline
from tfxmodal.data.nsynth import families as labels
from tfxmodal.data.nsynth.records import AUTOTUNE, magenta_split_files, paper_selection, read_tfrecords, sample_count
from tfxmodal.errors import NsynthDataError

TFDS_NAMES = ("nsynth/full", "nsynth/gansynth_subset", "mini_nsynth/default", "mini_nsynth/tiny")


# ----------------------------------------------------------------- TFDS


def tfds_builder(name, data_dir=None):
    """A prepared TFDS builder (`nsynth/full`, `mini_nsynth/tiny`, …); never downloads.

    `data_dir=None` is TFDS's default data dir (`$TFDS_DATA_DIR` read now, as
    `mini_nsynth.prepare` does, else `~/tensorflow_datasets`). Raises
    `NsynthDataError` when the name is unknown or the dataset is not prepared
    under the data dir.
    """
    import tensorflow_datasets as tfds  # noqa: PLC0415 — TensorFlow Datasets (a slow import) only for TFDS sources; raw TFRecords never load it

    from tfxmodal.data.nsynth import mini  # noqa: PLC0415, F401 — registers mini_nsynth with TFDS, only for TFDS sources
    from tfxmodal.data.tfds_utils import offline_tfds, tfds_data_dir  # noqa: PLC0415 — imports TensorFlow Datasets: only for TFDS sources

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
    import tensorflow_datasets as tfds  # noqa: PLC0415 — TensorFlow Datasets (a slow import) only for TFDS sources; raw TFRecords never load it

    builder = tfds_builder(name, data_dir)
    note_samples = builder.info.features["audio"].shape[0]
    num_samples = sample_count(num_samples, paper_filter, note_samples)
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
        examples = examples.filter(lambda e: paper_selection(e["pitch"], e["instrument"]["source"]))

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
    from tfxmodal.data.nsynth import mini as mini_nsynth  # noqa: PLC0415 — TensorFlow Datasets only for the mini_nsynth source

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
