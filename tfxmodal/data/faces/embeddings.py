"""Precomputed face embeddings: `.npy` / `.npz` files and TFRecords of `tf.train.Example`, read and written.

Each yields unbatched `{"embedding": float32 (D,), "identity": int32}` examples (see
`tfxmodal.data.faces`); a file that cannot be used raises `EmbeddingFileError` naming it.
"""

import os

import numpy as np
import tensorflow as tf

from tfxmodal.data import pipeline as pipeline_lib
from tfxmodal.errors import EmbeddingFileError
from tfxmodal.utils.files import save_npz

# Embeddings arrays larger than this are streamed from a memory map in
# chunks rather than embedded in the graph (graph protos are capped at 2 GB).
_IN_GRAPH_ARRAY_BYTES = 256 << 20


_EMBEDDING_CHUNK = 4096


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
    dataset, _, _ = embeddings_source(path, identities)
    return pipeline_lib.shard(dataset, input_context)


def embeddings_source(path, identities):
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
