"""The common tail of every tf.data pipeline: shard, cache, shuffle, batch, prefetch."""

import time

import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE


def shard(dataset, input_context=None):
    """Keeps this input pipeline's shard of `dataset` (call before costly maps).

    `input_context` is the `tf.distribute.InputContext` handed to the dataset
    function of `strategy.distribute_datasets_from_function`; with one input
    pipeline (or none given) the dataset is returned whole.
    """
    if input_context is not None and input_context.num_input_pipelines > 1:
        return dataset.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
    return dataset


def per_replica_batch_size(global_batch_size, input_context=None):
    """The batch one replica sees: the global batch divided over replicas."""
    if input_context is None:
        return global_batch_size
    return input_context.get_per_replica_batch_size(global_batch_size)


def finish(dataset, batch_size, training, shuffle_buffer=4096, seed=None, cache=False):
    """Cache → (shuffle, repeat) → batch → prefetch.

    Args:
        dataset: unbatched, already mapped examples.
        batch_size: batch size of this pipeline (per replica under a strategy).
        training: shuffle, repeat forever and drop the last partial batch (GAN
            steps need full, equal batches); otherwise one ordered pass that
            keeps the remainder.
        shuffle_buffer: examples in the shuffle buffer.
        seed: shuffle seed, for reproducible runs.
        cache: cache decoded examples in memory (small datasets).
    """
    if cache:
        dataset = dataset.cache()
    if training:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.repeat()
    dataset = dataset.batch(batch_size, drop_remainder=training, num_parallel_calls=AUTOTUNE)
    return dataset.prefetch(AUTOTUNE)


def measure_throughput(dataset, num_batches=50, warmup_batches=5):
    """Examples per second delivered by a batched dataset.

    Args:
        dataset: a batched `tf.data.Dataset` (repeated, or long enough).
        num_batches: batches timed.
        warmup_batches: batches drawn first and not timed (tracing, filling
            caches and prefetch buffers).

    Returns:
        JSON-able dict: `batches`, `examples`, `seconds`,
        `examples_per_second`.
    """
    iterator = iter(dataset)
    for _ in range(warmup_batches):
        next(iterator)
    examples = 0
    batches = 0
    start = time.perf_counter()
    for _ in range(num_batches):
        try:
            batch = next(iterator)
        except StopIteration:
            break
        examples += int(tf.nest.flatten(batch)[0].shape[0])
        batches += 1
    seconds = time.perf_counter() - start
    return {
        "batches": batches,
        "examples": examples,
        "seconds": round(seconds, 4),
        "examples_per_second": round(examples / seconds, 1) if seconds > 0 else float("nan"),
    }
