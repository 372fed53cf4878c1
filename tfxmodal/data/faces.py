"""Face loaders for the face embedder (Kim et al. 2020): one output format, many sources.

Every image source yields unbatched examples::

    {"image": float32 (image_size, image_size, 3), RGB in [0, 255],
     "identity": int32 scalar, -1 when unknown}

and precomputed embeddings yield::

    {"embedding": float32 (D,), "identity": int32 scalar, -1 when unknown}

Sources (`pipeline(source=...)`):

* ``"lfw"`` (embedded default): the 100 real LFW faces bundled with
  scikit-image (`skimage.data.lfw_subset()`, whose first 100 images are
  faces and last 100 non-faces). They are 25×25 grey, so at 64×64 they are
  upsampled and blurry, and 100 faces is tiny: enough to exercise the code
  and the demo, not to learn a face embedding. Identities are unknown (-1).
* ``"identity_folders"``: a VGGFace2-style tree ``<root>/<identity>/<image>``;
  the identity label is the index of the folder name among the sorted
  identity folders (so labels never shift when a folder is empty or
  skipped).
* ``"image_folder"``: every image under a folder, recursively, no labels.
* ``"vgg_face2"``: the TFDS `vgg_face2` dataset built from a manual download
  (`tfxmodal.data.vgg_face2`); identity = its per-split `label`.
* ``"embeddings"``: precomputed embeddings, a `.npy` of shape (N, D) (with
  optional identities) or TFRecord files of `tf.train.Example` with a float
  feature ``embedding`` (D values) and an optional int feature ``identity``.
  At VGGFace2 scale, embed once and train from embeddings.

Images are resized keeping their aspect ratio (shorter side to `image_size`,
then the central square) — VGGFace2 crops are loose and not square. Files
are validated in Python while indexing (see `tfxmodal.data.images`); bad
files raise an error naming the file, or with `skip_bad_files=True` are
left out, counted in the index's `skipped` and reported with a warning.
"""

import dataclasses
import logging
import os

import numpy as np
import tensorflow as tf

from tfxmodal.data import pipeline as pipeline_lib
from tfxmodal.data.images import (
    DatasetLayoutError,
    check_images,
    decode_image,
    fits_in_cache,
    is_image_name,
    list_images,
    read_image,
    resize_image,
)
from tfxmodal.data.pipeline import measure_throughput
from tfxmodal.utils.files import save_npz

logger = logging.getLogger(__name__)

SOURCES = ("lfw", "identity_folders", "image_folder", "vgg_face2", "embeddings")
LFW_NUM_FACES = 100
# Embeddings arrays larger than this are streamed from a memory map in
# chunks rather than embedded in the graph (graph protos are capped at 2 GB).
_IN_GRAPH_ARRAY_BYTES = 256 << 20
_EMBEDDING_CHUNK = 4096


class EmbeddingFileError(ValueError):
    """An embeddings file that is missing, unreadable or of the wrong shape."""


@dataclasses.dataclass
class FaceIndex:
    """The validated files of an image source.

    Attributes:
        paths: image files, sorted.
        identities: one int per path, -1 when unknown.
        identity_names: sorted identity folder names (label i is
            `identity_names[i]`); empty for unlabelled folders.
        skipped: `(path, reason)` for each file or folder left out under
            `skip_bad_files=True`.
        ignored: non-image files seen (not an error).
    """

    paths: list
    identities: list
    identity_names: list
    skipped: list
    ignored: int

    def sample(self, count, seed, balance_identities=False):
        """A `FaceIndex` of `count` files drawn uniformly without replacement (all if fewer), seeded.

        The drawn files come in the drawn order. With `balance_identities`,
        identities take turns (in a seeded order; each identity's files
        shuffled) so every identity gives as many files as it can, ±1.
        """
        positions = sample_positions(len(self.paths), count, seed, self.identities if balance_identities else None)
        return FaceIndex(
            [self.paths[i] for i in positions],
            [self.identities[i] for i in positions],
            self.identity_names,
            self.skipped,
            self.ignored,
        )

    def summary(self):
        """JSON-able counts."""
        return {
            "images": len(self.paths),
            "identities": len(self.identity_names),
            "skipped": len(self.skipped),
            "ignored_non_image_files": self.ignored,
        }


def sample_positions(total, count, seed, identities=None):
    """`min(count, total)` distinct positions in `range(total)`, a seeded uniform sample in drawn order.

    With `identities` (one int per position), the sample is balanced: the
    identities, in a seeded order, each give their next (shuffled) position
    in turn until `count` are drawn.
    """
    rng = np.random.default_rng(seed)
    count = total if count is None else min(int(count), total)
    if identities is None:
        return [int(i) for i in rng.permutation(total)[:count]]
    by_identity = {}
    for position, identity in enumerate(identities):
        by_identity.setdefault(identity, []).append(position)
    queues = [list(rng.permutation(by_identity[key])) for key in sorted(by_identity)]
    queues = [queues[i] for i in rng.permutation(len(queues))]
    drawn = []
    while len(drawn) < count:
        for queue in queues:
            if queue and len(drawn) < count:
                drawn.append(int(queue.pop()))
    return drawn


def index_identity_folders(root, validate="auto", skip_bad_files=False):
    """Indexes ``<root>/<identity>/<image>`` (images found recursively within each folder).

    Args:
        root: directory of identity folders.
        validate: ``"auto"``, ``"header"`` or ``"full"`` (`tfxmodal.data.images`).
        skip_bad_files: leave out (and count) bad images and empty identity
            folders instead of raising.

    Returns:
        `FaceIndex`.

    Raises:
        DatasetLayoutError: missing `root`, no identity folders, an image
            directly under `root`, an empty identity folder, no images at all.
        ImageFileError: a bad image (unless `skip_bad_files`).
    """
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise DatasetLayoutError(f"{root}: no such directory (expected <root>/<identity>/<image>.jpg)")
    names = sorted(n for n in os.listdir(root) if not n.startswith("."))
    folders = [n for n in names if os.path.isdir(os.path.join(root, n))]
    skipped = []
    for name in names:
        if is_image_name(name) and name not in folders:
            problem = (
                f"{os.path.join(root, name)}: image outside an identity folder (expected <root>/<identity>/<image>.jpg)"
            )
            if not skip_bad_files:
                raise DatasetLayoutError(problem)
            skipped.append((os.path.join(root, name), problem))
    if not folders:
        raise DatasetLayoutError(f"{root}: no identity folders (expected <root>/<identity>/<image>.jpg)")
    paths, identities, ignored = [], [], 0
    for label, folder in enumerate(folders):
        files, other = list_images(os.path.join(root, folder))
        ignored += other
        if not files:
            problem = f"{os.path.join(root, folder)}: empty identity folder (expected images)"
            if not skip_bad_files:
                raise DatasetLayoutError(problem)
            skipped.append((os.path.join(root, folder), problem))
        paths.extend(files)
        identities.extend([label] * len(files))
    good, bad = check_images(paths, validate=validate, skip_bad_files=skip_bad_files)
    if bad:
        keep = set(good)
        identities = [i for p, i in zip(paths, identities) if p in keep]
        skipped.extend(bad)
    if not good:
        raise DatasetLayoutError(f"{root}: no usable images under the identity folders")
    return FaceIndex(good, identities, folders, skipped, ignored)


def index_image_folder(root, validate="auto", skip_bad_files=False):
    """Indexes every image under `root`, recursively, with unknown identity (-1).

    Raises:
        DatasetLayoutError: missing `root` or no images under it.
        ImageFileError: a bad image (unless `skip_bad_files`).
    """
    root = os.fspath(root)
    paths, ignored = list_images(root)
    if not paths:
        raise DatasetLayoutError(f"{root}: no images found (expected .jpg, .jpeg, .png or .bmp files)")
    good, skipped = check_images(paths, validate=validate, skip_bad_files=skip_bad_files)
    if not good:
        raise DatasetLayoutError(f"{root}: no usable images")
    return FaceIndex(good, [-1] * len(good), [], skipped, ignored)


def report_skipped(index, root):
    if index.skipped:
        shown = "; ".join(reason for _, reason in index.skipped[:3])
        logger.warning(
            "%s: skipped %d bad file(s) or folder(s) (skip_bad_files=True): %s%s",
            root,
            len(index.skipped),
            shown,
            " ..." if len(index.skipped) > 3 else "",
        )


def image_example(image, identity, image_size):
    image = resize_image(image, image_size, crop=True)
    return {
        "image": tf.clip_by_value(image, 0.0, 255.0),
        "identity": tf.cast(identity, tf.int32),
    }


def _bytes_perimage_example(image_size):
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
    from skimage.data import lfw_subset

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
    from tfxmodal.data import vgg_face2 as vgg_face2_lib

    builder = vgg_face2_lib.builder(data_dir)
    if not builder.is_prepared():
        if manual_dir is None:
            raise DatasetLayoutError(
                f"{builder.data_dir}: vgg_face2 is not prepared there; run "
                "tfxmodal.data.vgg_face2.prepare(MANUAL_DIR, data_dir) first, or pass "
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
    import tensorflow_datasets as tfds

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


# --- precomputed embeddings -------------------------------------------------


def _load_identities(identities, count, source):
    if identities is None:
        return np.full([count], -1, np.int32)
    if isinstance(identities, (str, os.PathLike)):
        path = os.fspath(identities)
        if not os.path.isfile(path):
            raise EmbeddingFileError(f"{path}: no such identities file (expected a .npy of shape (N,))")
        try:
            identities = np.load(path, allow_pickle=False)
        except Exception as error:
            raise EmbeddingFileError(f"{path}: not a readable .npy file ({error})") from None
        source = path
    identities = np.asarray(identities)
    if identities.shape != (count,) or identities.dtype.kind not in "iu":
        raise EmbeddingFileError(
            f"{source}: identities must be integers of shape ({count},), got {identities.dtype} {identities.shape}"
        )
    return identities.astype(np.int32)


def _npy_embeddings(path, identities):
    if not os.path.isfile(path):
        raise EmbeddingFileError(f"{path}: no such embeddings file (expected .npy of shape (N, D))")
    if os.path.getsize(path) == 0:
        raise EmbeddingFileError(f"{path}: empty file, expected a .npy of shape (N, D)")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as error:
        raise EmbeddingFileError(f"{path}: not a readable .npy file ({error})") from None
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0 or array.dtype.kind != "f":
        raise EmbeddingFileError(f"{path}: expected float embeddings of shape (N, D), got {array.dtype} {array.shape}")
    for start in range(0, array.shape[0], 65536):  # chunked: the file may not fit in memory
        finite = np.all(np.isfinite(array[start : start + 65536]), axis=1)
        if not np.all(finite):
            row = start + int(np.argmin(finite))
            raise EmbeddingFileError(f"{path}: row {row}: embedding contains NaN or infinity")
    count, dim = array.shape
    identities = _load_identities(identities, count, path)
    if array.nbytes <= _IN_GRAPH_ARRAY_BYTES:
        dataset = tf.data.Dataset.from_tensor_slices(
            {"embedding": np.asarray(array, np.float32), "identity": identities}
        )
        return dataset, count, dim

    def read_chunk(start):
        start = int(start)
        stop = min(start + _EMBEDDING_CHUNK, count)
        return np.asarray(array[start:stop], np.float32), identities[start:stop]

    def load(start):
        embedding, identity = tf.numpy_function(read_chunk, [start], [tf.float32, tf.int32])
        return {
            "embedding": tf.ensure_shape(embedding, [None, dim]),
            "identity": tf.ensure_shape(identity, [None]),
        }

    dataset = tf.data.Dataset.range(0, count, _EMBEDDING_CHUNK).map(load).unbatch()
    return dataset, count, dim


def save_npz_embeddings(path, embeddings, identities=None, paths=None):
    """Writes embeddings in the layout `read_npz_embeddings` reads, atomically.

    `embeddings` `(N, D)` (or `(views, N, D)` for the embedding stage's
    shards) float32, optional `identities` `(N,)` int32 and `paths` `(N,)`
    str, the image each row came from.
    """
    arrays = {"embedding": np.asarray(embeddings, np.float32)}
    if identities is not None:
        arrays["identity"] = np.asarray(identities, np.int32)
    if paths is not None:
        arrays["path"] = np.asarray(paths, dtype=str)
    save_npz(path, **arrays)


def read_npz_embeddings(path):
    """`(embeddings (N, D) float32, identities (N,) int32, paths list or None)` of a `.npz` embeddings file.

    The layout `tfxmodal.train` writes (`<run>/face_embeddings.npz`): arrays
    ``embedding`` (N, D) float, optional ``identity`` (N,) int and optional
    ``path`` (N,) str, the image each row was embedded from.

    Raises:
        EmbeddingFileError: naming the file and the array or row at fault.
    """
    if not os.path.isfile(path):
        raise EmbeddingFileError(f"{path}: no such embeddings file (expected .npz with an 'embedding' array)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except Exception as error:
        raise EmbeddingFileError(f"{path}: not a readable .npz file ({error})") from None
    if "embedding" not in arrays:
        raise EmbeddingFileError(f"{path}: no 'embedding' array (arrays: {sorted(arrays)})")
    array = arrays["embedding"]
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0 or array.dtype.kind != "f":
        raise EmbeddingFileError(f"{path}: 'embedding' must be floats of shape (N, D), got {array.dtype} {array.shape}")
    finite = np.all(np.isfinite(array), axis=1)
    if not np.all(finite):
        raise EmbeddingFileError(f"{path}: row {int(np.argmin(finite))}: embedding contains NaN or infinity")
    identities = _load_identities(arrays.get("identity"), len(array), f"{path}: 'identity'")
    paths = None
    if "path" in arrays:
        if arrays["path"].shape != (len(array),) or arrays["path"].dtype.kind != "U":
            raise EmbeddingFileError(
                f"{path}: 'path' must be strings of shape ({len(array)},), got {arrays['path'].dtype} {arrays['path'].shape}"
            )
        paths = [str(p) for p in arrays["path"]]
    return array.astype(np.float32), identities, paths


def _tfrecord_layout(path):
    """Embedding size and whether `identity` is present, from the first record."""
    if not os.path.isfile(path):
        raise EmbeddingFileError(f"{path}: no such TFRecord file")
    if os.path.getsize(path) == 0:
        raise EmbeddingFileError(f"{path}: empty file, expected TFRecords with an 'embedding' feature")
    try:
        first = next(iter(tf.data.TFRecordDataset(path).take(1)))
        example = tf.train.Example.FromString(first.numpy())
    except (tf.errors.OpError, StopIteration, Exception) as error:
        raise EmbeddingFileError(f"{path}: not a readable TFRecord of tf.train.Example ({error})") from None
    feature = example.features.feature
    if "embedding" not in feature or feature["embedding"].WhichOneof("kind") != "float_list":
        raise EmbeddingFileError(
            f"{path}: first record has no float feature 'embedding' (features: {sorted(feature.keys())})"
        )
    dim = len(feature["embedding"].float_list.value)
    if dim == 0:
        raise EmbeddingFileError(f"{path}: first record has an empty 'embedding'")
    has_identity = "identity" in feature
    if has_identity and feature["identity"].WhichOneof("kind") != "int64_list":
        raise EmbeddingFileError(f"{path}: feature 'identity' must be an int64 list")
    return dim, has_identity


def _tfrecord_embeddings(paths):
    layouts = [_tfrecord_layout(path) for path in paths]
    dim = layouts[0][0]
    for path, (other, _) in zip(paths, layouts):
        if other != dim:
            raise EmbeddingFileError(f"{path}: embeddings of size {other}, expected {dim} like {paths[0]}")
    spec = {
        "embedding": tf.io.FixedLenFeature([dim], tf.float32),
        "identity": tf.io.FixedLenFeature([], tf.int64, default_value=-1),
    }

    def parse(records):
        parsed = tf.io.parse_example(records, spec)
        return {"embedding": parsed["embedding"], "identity": tf.cast(parsed["identity"], tf.int32)}

    # One Python pass per file: counts records and turns corrupt records,
    # wrong sizes and non-finite values into errors that name the file
    # (errors inside the training graph would not). A file cut inside a
    # record header reads as a clean end of file, so the framed record sizes
    # must also add up to the file size.
    count = 0
    for path in paths:
        framed_bytes = 0
        try:
            for records in tf.data.TFRecordDataset(path).batch(1024):
                framed_bytes += int(tf.reduce_sum(tf.strings.length(records))) + 16 * int(records.shape[0])
                batch = parse(records)
                finite = np.all(np.isfinite(batch["embedding"].numpy()), axis=1)
                if not np.all(finite):
                    row = count + int(np.argmin(finite))
                    raise EmbeddingFileError(f"{path}: record {row}: embedding contains NaN or infinity")
                count += int(records.shape[0])
        except tf.errors.OpError as error:
            raise EmbeddingFileError(
                f"{path}: bad record (expected 'embedding' of {dim} floats and an optional "
                f"int 'identity'): {error.message.splitlines()[0]}"
            ) from None
        size = os.path.getsize(path)
        if framed_bytes != size:
            raise EmbeddingFileError(
                f"{path}: bad record: truncated TFRecord file ({size - framed_bytes} bytes "
                "after the last complete record)"
            )
    dataset = tf.data.TFRecordDataset(list(paths)).batch(256).map(parse).unbatch()
    return dataset, count, dim


def embeddings(path, identities=None, input_context=None):
    """Precomputed face embeddings.

    Args:
        path: a `.npy` file of float embeddings, shape (N, D); a `.npz`
            (`read_npz_embeddings`: embeddings with identities and image
            paths, as `tfxmodal.train` writes them); or a TFRecord
            file (any other extension), or a list of TFRecord files, of
            `tf.train.Example` with float ``embedding`` (D values) and
            optional int64 ``identity``.
        identities: for `.npy` only: int identities, shape (N,), as an array
            or a `.npy` path; default all -1.
        input_context: `tf.distribute.InputContext` to shard by.

    Returns:
        unbatched `tf.data.Dataset` of ``{"embedding": float32 (D,),
        "identity": int32}``.

    Raises:
        EmbeddingFileError: naming the file: missing, unreadable, wrong
            shape or dtype, corrupt records, NaN/infinite values.
    """
    dataset, _, _ = _embeddings_source(path, identities)
    return pipeline_lib.shard(dataset, input_context)


def _embeddings_source(path, identities):
    paths = [os.fspath(p) for p in path] if isinstance(path, (list, tuple)) else [os.fspath(path)]
    if len(paths) == 1 and paths[0].endswith(".npy"):
        return _npy_embeddings(paths[0], identities)
    if len(paths) == 1 and paths[0].endswith(".npz"):
        if identities is not None:
            raise ValueError("identities= applies to .npy embeddings; a .npz carries an 'identity' array")
        array, labels, _ = read_npz_embeddings(paths[0])
        dataset = tf.data.Dataset.from_tensor_slices({"embedding": array, "identity": labels})
        return dataset, array.shape[0], array.shape[1]
    if identities is not None:
        raise ValueError("identities= applies to .npy embeddings; TFRecords carry an 'identity' feature")
    if not paths:
        raise EmbeddingFileError("embeddings: no files given")
    return _tfrecord_embeddings(paths)


# --- augmentation and pipelines ---------------------------------------------


def augment_faces(
    images,
    seed,
    max_translation=0.08,
    max_zoom=0.1,
    max_brightness=0.1,
    contrast_range=(0.8, 1.25),
):
    """Training augmentation for a batch of faces, one random draw per image.

    Random horizontal flip (p = 0.5), zoom about the centre by a factor in
    [1 - max_zoom, 1 + max_zoom] with a shift of up to ±max_translation of
    the side (reflect padding), brightness shift up to ±max_brightness × 255
    and contrast factor in `contrast_range` (about each image's channel
    means); then clipped to [0, 255]. Stateless: the same `seed` gives the
    same result, and it runs in parallel `tf.data` maps deterministically.

    Args:
        images: float32 `(batch, height, width, 3)` in [0, 255].
        seed: int tensor of shape (2,).

    Returns:
        float32 `(batch, height, width, 3)` in [0, 255].
    """
    images = tf.convert_to_tensor(images, tf.float32)
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    u = tf.random.stateless_uniform([batch, 6], seed=seed)
    flip = u[:, 0] < 0.5
    images = tf.where(flip[:, None, None, None], tf.reverse(images, axis=[2]), images)

    zoom = 1.0 + (2.0 * u[:, 1] - 1.0) * max_zoom
    h = tf.cast(height, tf.float32)
    w = tf.cast(width, tf.float32)
    shift_x = (2.0 * u[:, 2] - 1.0) * max_translation * w
    shift_y = (2.0 * u[:, 3] - 1.0) * max_translation * h
    # The transform maps each output pixel to the input pixel it samples:
    # x_in = (x_out - c) / zoom + c - shift, so zoom > 1 magnifies.
    cx, cy = (w - 1.0) / 2.0, (h - 1.0) / 2.0
    inverse = 1.0 / zoom
    zeros = tf.zeros_like(zoom)
    transforms = tf.stack(
        [
            inverse,
            zeros,
            cx - cx * inverse - shift_x,
            zeros,
            inverse,
            cy - cy * inverse - shift_y,
            zeros,
            zeros,
        ],
        axis=1,
    )
    images = tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.stack([height, width]),
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="REFLECT",
    )

    brightness = (2.0 * u[:, 4] - 1.0) * max_brightness * 255.0
    low, high = contrast_range
    contrast = low + u[:, 5] * (high - low)
    mean = tf.reduce_mean(images, axis=[1, 2], keepdims=True)
    images = (images - mean) * contrast[:, None, None, None] + mean + brightness[:, None, None, None]
    return tf.clip_by_value(images, 0.0, 255.0)


def _source(source, image_size, input_context, source_kwargs):
    """(unbatched dataset, examples in this shard (approximately), bytes per example)."""
    if source not in SOURCES:
        raise ValueError(f"source={source!r}: expected one of {SOURCES}")
    pipelines = 1 if input_context is None else max(1, input_context.num_input_pipelines)
    image_bytes = _bytes_perimage_example(image_size)
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
    dataset, count, dim = _embeddings_source(source_kwargs["path"], source_kwargs.get("identities"))
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


def benchmark(batch_size=32, image_size=64, num_batches=50):
    """Examples/s of the embedded (LFW) pipelines; JSON-able dict.

    Two numbers: `convert` — the per-example work (resize to RGB) without
    caching or shuffling; `train` — the training pipeline in its steady
    state (cached, shuffled, augmented), timed after one full epoch of
    warm-up (the shuffle buffer holds the whole epoch, so the first batch
    waits for all of it).
    """
    convert = lfw_faces(image_size).repeat().batch(batch_size).prefetch(pipeline_lib.AUTOTUNE)
    train = pipeline("lfw", batch_size=batch_size, training=True, image_size=image_size)
    epoch_batches = -(-LFW_NUM_FACES // batch_size)
    return {
        "source": "lfw",
        "batch_size": batch_size,
        "image_size": image_size,
        "convert": measure_throughput(convert, num_batches=num_batches),
        "train": measure_throughput(train, num_batches=num_batches, warmup_batches=epoch_batches + 2),
    }
