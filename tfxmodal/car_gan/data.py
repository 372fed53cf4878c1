"""Data plumbing of the CAR-GAN task: the `data:` config section → tf.data and arrays.

Keeps `car_gan/run.py` about stages; the loaders live in
`tfxmodal.data.urmp` (Sub-URMP and mini-URMP).
"""

import numpy as np

from tfxmodal.data import pipeline as pipeline_lib
from tfxmodal.data.images import fits_in_cache
from tfxmodal.data.urmp import mini as mini_urmp
from tfxmodal.data.urmp.dataset import pairs_dataset
from tfxmodal.data.urmp.layout import index as index_urmp
from tfxmodal.data.urmp.lms import bytes_per_example
from tfxmodal.data.urmp.lms import lms_channels as urmp_lms_channels
from tfxmodal.domain import NUM_INSTRUMENTS

NUM_CLASSES = NUM_INSTRUMENTS
GAN_KEYS = ("lms", "image", "label")


def source_kwargs(data):
    """Keyword arguments of `tfxmodal.data.urmp.pipeline.pipeline` for the configured source."""
    if data.source == "mini_urmp":
        return {"data_dir": data.data_dir, "config": data.mini_urmp_config}
    return {"root": data.root, "sample_rate": data.sample_rate, **_layout_kwargs(data)}


def _layout_kwargs(data):
    return {
        "skip_bad_files": data.skip_bad_files,
        "downmix": data.downmix,
        "lms": data.lms,
        "image_dir": data.image_dir,
        "lms_dir": data.lms_dir,
    }


def lms_channels(data):
    """Channels of the LMS input A the networks take: 1 (from audio) or 3 (`data.lms: image`)."""
    return urmp_lms_channels(data.lms)


def examples(data, split, input_context=None):
    """`(unbatched dataset, example count)` of one split in the URMP output format."""
    if data.source == "mini_urmp":
        return mini_urmp.load_with_count(
            split, data.image_size, data.data_dir, data.mini_urmp_config, input_context=input_context
        )
    pair_index = index_urmp(data.root, split, sample_rate=data.sample_rate, **_layout_kwargs(data))
    dataset = pairs_dataset(pair_index, data.image_size, data.sample_rate, input_context)
    return dataset, len(pair_index.labels)


def count_examples(data, split):
    return examples(data, split)[1]


def _cache(data, count):
    if data.cache is not None:
        return data.cache
    return fits_in_cache(count, bytes_per_example(data.image_size, data.sample_rate, data.lms))


def _select(keys):
    return lambda example: {key: example[key] for key in keys}


def gan_dataset(data, batch_size, seed, input_context=None):
    """Training batches `{lms, image, label}` of the train split (shuffled, repeated).

    `batch_size` is the global batch; under a strategy each replica's
    pipeline yields its share (`input_context`).
    """
    dataset, count = examples(data, "train", input_context)
    dataset = dataset.map(_select(GAN_KEYS), num_parallel_calls=pipeline_lib.AUTOTUNE)
    per_replica = pipeline_lib.per_replica_batch_size(batch_size, input_context)
    return pipeline_lib.finish(
        dataset, per_replica, True, shuffle_buffer=data.shuffle_buffer, seed=seed, cache=_cache(data, count)
    )


def classifier_dataset(data, splits, batch_size, seed, training, input_context=None):
    """`(image, label)` batches of the real images of `splits` (to train or test C), and their count.

    `batch_size` is the global batch; given the `input_context` of a
    strategy's dataset function, each pipeline keeps its shard of the
    examples and yields its replicas' share of the batch. The count is of
    all examples, before sharding.
    """
    parts = [examples(data, split, input_context) for split in splits]
    dataset = parts[0][0]
    for part, _ in parts[1:]:
        dataset = dataset.concatenate(part)
    count = sum(n for _, n in parts)
    dataset = dataset.map(lambda e: (e["image"], e["label"]), num_parallel_calls=pipeline_lib.AUTOTUNE)
    return pipeline_lib.finish(
        dataset,
        pipeline_lib.per_replica_batch_size(batch_size, input_context),
        training,
        shuffle_buffer=min(count, data.shuffle_buffer),
        seed=seed,
        cache=_cache(data, count),
    ), count


def eval_batches(data, split, batch_size=64, limit=None):
    """One ordered pass over `split`: batches `{lms, image, audio, label}` (no `audio` with `data.lms: image`), at most `limit` examples."""
    dataset, _ = examples(data, split)
    if limit is not None:
        dataset = dataset.take(limit)
    return pipeline_lib.finish(dataset, batch_size, training=False)


def fixed_examples(data, count, split="test"):
    """`count` fixed examples of `split` as NumPy arrays `{lms, image, label}`.

    The first example of each instrument in dataset order, then further
    examples in order: the grid shows every class before repeating one.
    """
    firsts, rest = [], []
    seen = set()
    dataset, _ = examples(data, split)
    for example in dataset.map(_select(GAN_KEYS)).as_numpy_iterator():
        label = int(example["label"])
        if label not in seen:
            seen.add(label)
            firsts.append(example)
            if len(firsts) >= count:
                break
        elif len(rest) < count:
            rest.append(example)
        if len(seen) == NUM_CLASSES and len(firsts) + len(rest) >= count:
            break
    chosen = (sorted(firsts, key=lambda e: int(e["label"])) + rest)[:count]
    return {key: np.stack([e[key] for e in chosen]) for key in GAN_KEYS}
