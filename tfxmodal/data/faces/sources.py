"""The image sources of the face pipeline: LFW (bundled), identity folders, an image folder, TFDS `vgg_face2`.

Each yields unbatched `{"image": float32 (S, S, 3) in [0, 255], "identity": int32}` examples
(see `tfxmodal.data.faces`).
"""

import numpy as np
import tensorflow as tf
from skimage.data import lfw_subset

from tfxmodal.data import pipeline as pipeline_lib
from tfxmodal.data.faces.index import index_identity_folders, index_image_folder, report_skipped
from tfxmodal.data.images import (
    decode_image,
    read_image,
    resize_image,
)
from tfxmodal.errors import DatasetLayoutError

LFW_NUM_FACES = 100


def image_example(image, identity, image_size):
    image = resize_image(image, image_size, crop=True)
    return {
        "image": tf.clip_by_value(image, 0.0, 255.0),
        "identity": tf.cast(identity, tf.int32),
    }


def bytes_per_image_example(image_size):
    return image_size * image_size * 3 * 4 + 4


def lfw_faces(image_size=64, input_context=None, positions=None):
    """The 100 embedded LFW faces (scikit-image), unbatched, no augmentation.

    Args:
        image_size: output side in pixels (upsampled from 25×25).
        input_context: `tf.distribute.InputContext` to shard by.
        positions: optional face positions (0..99) to read, in this order
            (a drawn sample, `sample_positions`; LFW's faces carry no identity).

    Returns:
        `tf.data.Dataset` of ``{"image": float32 (S, S, 3) in [0, 255],
        "identity": int32 -1}``, 100 examples (fewer per shard).
    """
    faces = lfw_subset()[:LFW_NUM_FACES]  # float64 in [0, 1]; the rest are non-faces
    images = (faces * 255.0).astype(np.float32)[..., None]
    if positions is not None:
        images = images[np.asarray(positions, np.int64)]
    dataset = tf.data.Dataset.from_tensor_slices(images)
    dataset = pipeline_lib.shard(dataset, input_context)

    def convert(image):
        return image_example(tf.image.grayscale_to_rgb(image), -1, image_size)

    return dataset.map(convert, num_parallel_calls=pipeline_lib.AUTOTUNE)


def files_dataset(index, image_size, input_context):
    dataset = tf.data.Dataset.from_tensor_slices(
        (tf.constant(index.paths, tf.string), tf.constant(index.identities, tf.int32))
    )
    dataset = pipeline_lib.shard(dataset, input_context)
    return dataset.map(
        lambda path, identity: image_example(read_image(path), identity, image_size),
        num_parallel_calls=pipeline_lib.AUTOTUNE,
    )


def identity_folders(root, image_size=224, validate="auto", skip_bad_files=False, input_context=None):
    """Faces from ``<root>/<identity>/<image>``; identity = sorted folder index.

    Returns:
        unbatched `tf.data.Dataset` in the image format (module docstring).
        Skipped files are logged; use `index_identity_folders` for counts.
    """
    index = index_identity_folders(root, validate=validate, skip_bad_files=skip_bad_files)
    report_skipped(index, root)
    return files_dataset(index, image_size, input_context)


def image_folder(root, image_size=224, validate="auto", skip_bad_files=False, input_context=None):
    """Faces from every image under `root` (recursive), identity -1.

    Returns:
        unbatched `tf.data.Dataset` in the image format (module docstring).
    """
    index = index_image_folder(root, validate=validate, skip_bad_files=skip_bad_files)
    report_skipped(index, root)
    return files_dataset(index, image_size, input_context)


def vgg_face2_builder(data_dir, manual_dir):
    from tfxmodal.data.faces import vgg_face2 as vgg_face2_lib  # noqa: PLC0415 — TensorFlow Datasets (a slow import) only for the vgg_face2 source

    builder = vgg_face2_lib.builder(data_dir)
    if not builder.is_prepared():
        if manual_dir is None:
            raise DatasetLayoutError(
                f"{builder.data_dir}: vgg_face2 is not prepared there; run "
                "tfxmodal.data.faces.vgg_face2.prepare(MANUAL_DIR, data_dir) first, or pass "
                "manual_dir= (the manual directory's layout below)\n" + vgg_face2_lib.MANUAL_DOWNLOAD_INSTRUCTIONS
            )
        vgg_face2_lib.prepare(manual_dir, data_dir)
        builder = vgg_face2_lib.builder(data_dir)
    return builder


def vgg_face2(
    split="train", image_size=224, data_dir=None, manual_dir=None, input_context=None, positions=None, with_paths=False
):
    """Faces from the TFDS `vgg_face2` dataset.

    Args:
        split: a TFDS split (``"train"``, ``"test"``, ``"train[:10%]"``, ...).
        image_size: output side in pixels.
        data_dir: TFDS data dir (None: TFDS default, honours `TFDS_DATA_DIR`).
        manual_dir: the extracted download, used to prepare the dataset
            when it is not prepared yet.
        input_context: `tf.distribute.InputContext` to shard by (records are
            sharded before JPEG decoding).
        positions: optional record positions of the split to read (a drawn
            sample, `sample_positions`). They come in record order whatever
            the order given: one filtered pass over the records, JPEGs
            decoded only when chosen.
        with_paths: add ``"path"``, the record's `file_name`.

    Returns:
        unbatched `tf.data.Dataset` in the image format; identity = `label`.
    """
    import tensorflow_datasets as tfds  # noqa: PLC0415 — TensorFlow Datasets (a slow import) only for the vgg_face2 source

    builder = vgg_face2_builder(data_dir, manual_dir)
    dataset = builder.as_dataset(split=split, decoders={"image": tfds.decode.SkipDecoding()}, shuffle_files=False)
    if positions is not None:
        chosen = np.zeros(builder.info.splits[split].num_examples, bool)
        chosen[np.asarray(positions, np.int64)] = True
        mask = tf.constant(chosen)  # one byte per record: 3.3 MB for VGGFace2's train split
        dataset = dataset.enumerate().filter(lambda position, example: tf.gather(mask, position))
        dataset = dataset.map(lambda position, example: example)
    dataset = pipeline_lib.shard(dataset, input_context)

    def convert(example):
        converted = image_example(decode_image(example["image"]), example["label"], image_size)
        return {**converted, "path": example["file_name"]} if with_paths else converted

    return dataset.map(convert, num_parallel_calls=pipeline_lib.AUTOTUNE)
