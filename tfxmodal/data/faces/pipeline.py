"""The face pipeline: one source by name, augmented, batched (`pipeline`)."""

import tensorflow as tf

from tfxmodal.data import pipeline as pipeline_lib
from tfxmodal.data.faces.augment import augment_faces
from tfxmodal.data.faces.embeddings import embeddings_source
from tfxmodal.data.faces.index import index_identity_folders, index_image_folder, report_skipped
from tfxmodal.data.faces.sources import (
    LFW_NUM_FACES,
    bytes_per_image_example,
    files_dataset,
    lfw_faces,
    vgg_face2,
    vgg_face2_builder,
)
from tfxmodal.data.images import (
    fits_in_cache,
)

SOURCES = ("lfw", "identity_folders", "image_folder", "vgg_face2", "embeddings")


def _source(source, image_size, input_context, source_kwargs):
    """(unbatched dataset, examples in this shard (approximately), bytes per example)."""
    if source not in SOURCES:
        raise ValueError(f"source={source!r}: expected one of {SOURCES}")
    pipelines = 1 if input_context is None else max(1, input_context.num_input_pipelines)
    image_bytes = bytes_per_image_example(image_size)
    if source == "lfw":
        return lfw_faces(image_size, input_context, **source_kwargs), LFW_NUM_FACES // pipelines, image_bytes
    if source in ("identity_folders", "image_folder"):
        kwargs = dict(source_kwargs)
        root = kwargs.pop("root")
        indexer = index_identity_folders if source == "identity_folders" else index_image_folder
        index = indexer(root, **kwargs)
        report_skipped(index, root)
        return (
            files_dataset(index, image_size, input_context),
            len(index.paths) // pipelines,
            image_bytes,
        )
    if source == "vgg_face2":
        kwargs = dict(source_kwargs)
        split = kwargs.get("split", "train")
        builder = vgg_face2_builder(kwargs.get("data_dir"), kwargs.get("manual_dir"))
        count = builder.info.splits[split].num_examples
        return (
            vgg_face2(image_size=image_size, input_context=input_context, **kwargs),
            count // pipelines,
            image_bytes,
        )
    dataset, count, dim = embeddings_source(source_kwargs["path"], source_kwargs.get("identities"))
    return pipeline_lib.shard(dataset, input_context), count // pipelines, dim * 4 + 4


def pipeline(
    source="lfw",
    batch_size=32,
    training=True,
    image_size=64,
    seed=0,
    input_context=None,
    augment=None,
    shuffle_buffer=4096,
    cache="auto",
    batch_size_is_global=True,
    **source_kwargs,
):
    """The faces `tf.data` pipeline.

    Source → shard → decode → cache → shuffle → batch → augment → prefetch.

    Args:
        source: one of `SOURCES` (module docstring).
        batch_size: the global batch size when `batch_size_is_global` (divided
            over replicas through `input_context`), else per pipeline.
        training: shuffle, repeat, drop the remainder (equal GAN batches)
            and augment; otherwise one ordered pass keeping the remainder.
        image_size: output side in pixels (224 for the ResNet-50 embedder).
        seed: shuffle and augmentation seed.
        input_context: `tf.distribute.InputContext` (from
            `strategy.distribute_datasets_from_function`).
        augment: apply `augment_faces` (default: `training`); ignored for
            embeddings.
        shuffle_buffer: examples in the shuffle buffer.
        cache: ``"auto"`` caches decoded examples in memory when this
            shard fits in `images.CACHE_BUDGET_BYTES` (1 GiB); or a bool.
        **source_kwargs: for the source: `root`, `validate`,
            `skip_bad_files` (folders); `split`, `data_dir`, `manual_dir`
            (vgg_face2); `path`, `identities` (embeddings). A seeded sample of
            a source, read in slices, is `face_selection.FaceSource`'s.

    Returns:
        batched `tf.data.Dataset` of the source's format with a leading
        batch axis.
    """
    dataset, count, bytes_per_example = _source(source, image_size, input_context, source_kwargs)
    if cache == "auto":
        cache = fits_in_cache(count, bytes_per_example)
    if batch_size_is_global:
        batch_size = pipeline_lib.per_replica_batch_size(batch_size, input_context)
    dataset = pipeline_lib.finish(
        dataset, batch_size, training, shuffle_buffer=shuffle_buffer, seed=seed, cache=bool(cache)
    )
    if augment is None:
        augment = training
    if augment and source != "embeddings":
        stream = 0 if input_context is None else input_context.input_pipeline_id

        def augment_batch(step, batch):
            # A distinct stateless seed per batch and per input pipeline.
            batch_seed = tf.stack([tf.constant(seed * 1009 + stream, tf.int64), step])
            return {**batch, "image": augment_faces(batch["image"], batch_seed)}

        dataset = dataset.enumerate().map(augment_batch, num_parallel_calls=pipeline_lib.AUTOTUNE)
        dataset = dataset.prefetch(pipeline_lib.AUTOTUNE)
    return dataset
