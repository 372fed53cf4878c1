"""The CAR-GAN `tf.data` pipeline over either source: Sub-URMP (`data.urmp`) or mini-URMP (`data.mini_urmp`).

Kept apart from both readers so that neither imports the other's module:
mini-URMP uses Sub-URMP's conversion (`lms.to_example`), and this module
uses both.
"""

from tfxmodal.data import pipeline as pipeline_lib
from tfxmodal.data.images import fits_in_cache
from tfxmodal.data.urmp import mini as mini_urmp
from tfxmodal.data.urmp.dataset import SOURCES, pairs_dataset
from tfxmodal.data.urmp.layout import index as index_urmp
from tfxmodal.data.urmp.lms import bytes_per_example
from tfxmodal.domain import SAMPLE_RATE


def _source(source, split, image_size, input_context, source_kwargs):
    if source not in SOURCES:
        raise ValueError(f"source={source!r}: expected one of {SOURCES}")
    pipelines = 1 if input_context is None else max(1, input_context.num_input_pipelines)
    if source == "mini_urmp":
        dataset, count = mini_urmp.load_with_count(split, image_size, input_context=input_context, **source_kwargs)
        return dataset, count // pipelines, bytes_per_example(image_size)
    kwargs = dict(source_kwargs)
    root = kwargs.pop("root")
    sample_rate = kwargs.pop("sample_rate", SAMPLE_RATE)
    pair_index = index_urmp(root, split, sample_rate=sample_rate, **kwargs)
    dataset = pairs_dataset(pair_index, image_size, sample_rate, input_context)
    example_bytes = bytes_per_example(image_size, sample_rate, pair_index.lms)
    return dataset, len(pair_index.labels) // pipelines, example_bytes


def pipeline(
    source="mini_urmp",
    split="train",
    batch_size=16,
    training=True,
    image_size=64,
    seed=0,
    input_context=None,
    shuffle_buffer=4096,
    cache="auto",
    batch_size_is_global=True,
    **source_kwargs,
):
    """The CAR-GAN `tf.data` pipeline.

    Source → shard → decode and convert → cache → shuffle → batch → prefetch.

    Args:
        source: ``"mini_urmp"`` (embedded default) or ``"sub_urmp"``.
        split: ``"train"`` or ``"test"``.
        batch_size: global batch size when `batch_size_is_global` (divided over
            replicas through `input_context`), else per pipeline.
        training: shuffle, repeat and drop the remainder; otherwise one
            ordered pass keeping it.
        image_size: output side S.
        seed: shuffle seed.
        input_context: `tf.distribute.InputContext`.
        shuffle_buffer: examples in the shuffle buffer.
        cache: ``"auto"`` caches converted examples in memory when this
            shard fits in 1 GiB; or a bool.
        **source_kwargs: mini_urmp: `data_dir`, `config`; sub_urmp: `root`,
            `sample_rate`, `validate`, `skip_bad_files`, `downmix`, `lms`,
            `image_dir`, `lms_dir` (see `layout.index`).

    Returns:
        batched `tf.data.Dataset` of the output format (module docstring).
    """
    dataset, count, example_bytes = _source(source, split, image_size, input_context, source_kwargs)
    if cache == "auto":
        cache = fits_in_cache(count, example_bytes)
    if batch_size_is_global:
        batch_size = pipeline_lib.per_replica_batch_size(batch_size, input_context)
    return pipeline_lib.finish(
        dataset, batch_size, training, shuffle_buffer=shuffle_buffer, seed=seed, cache=bool(cache)
    )


def mini_urmp_pipeline(
    split="train",
    batch_size=16,
    training=True,
    image_size=64,
    data_dir=None,
    config="default",
    **kwargs,
):
    """The batched CAR-GAN pipeline on mini-URMP (`pipeline("mini_urmp", ...)`)."""
    return pipeline(
        "mini_urmp",
        split=split,
        batch_size=batch_size,
        training=training,
        image_size=image_size,
        data_dir=data_dir,
        config=config,
        **kwargs,
    )


def benchmark_mini_urmp(batch_size=16, image_size=64, num_batches=50, data_dir=None, config="default"):
    """Examples/s of the mini-URMP pipelines (built first if needed); JSON-able dict.

    Two numbers: `convert` — TFDS read, PNG decode, resize and log-mel per
    example, without caching or shuffling; `train` — the training pipeline in
    its steady state (cached, shuffled), timed after one full epoch of
    warm-up (the shuffle buffer holds the whole epoch, so the first batch
    waits for all of it).
    """
    dataset, count = mini_urmp.load_with_count("train", image_size, data_dir, config)
    convert = dataset.repeat().batch(batch_size).prefetch(pipeline_lib.AUTOTUNE)
    train = mini_urmp_pipeline(batch_size=batch_size, image_size=image_size, data_dir=data_dir, config=config)
    epoch_batches = -(-count // batch_size)
    return {
        "source": "mini_urmp",
        "config": mini_urmp.builder_config(config).name,
        "batch_size": batch_size,
        "image_size": image_size,
        "convert": pipeline_lib.measure_throughput(convert, num_batches=num_batches),
        "train": pipeline_lib.measure_throughput(train, num_batches=num_batches, warmup_batches=epoch_batches + 2),
    }
