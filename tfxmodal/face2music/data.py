"""Data plumbing of the face-to-music task: config sections → models and tf.data.

Keeps `face2music/run.py` about stages; the loaders themselves live in
`tfxmodal.data` (NSynth readers, face loaders).
"""

import contextlib
import os
import re

import numpy as np
import tensorflow as tf

from tfxmodal.data import pipeline as pipeline_lib
from tfxmodal.data.faces import selection as face_selection
from tfxmodal.data.faces.embeddings import embeddings as embedding_examples
from tfxmodal.data.faces.embeddings import read_npz_embeddings
from tfxmodal.data.nsynth.reader import read as read_nsynth
from tfxmodal.data.nsynth.records import bad_data_error, empty_file_message, resolve_tfrecord_paths, scan_tfrecords
from tfxmodal.domain import CLIP_SAMPLES, FACE_EMBEDDING_DIM, HIGHEST_PITCH, LOWEST_PITCH
from tfxmodal.errors import ConfigError, EmbeddingFileError, NsynthDataError, WeightsFileError
from tfxmodal.face2music.face_embedding import embed_selection
from tfxmodal.models import EigenfaceEmbedder, FaceEmbedder
from tfxmodal.models.face_embedder import read_vggface_h5

# config faces.source -> tfxmodal.data.faces.pipeline source
_FACE_SOURCES = {
    "lfw_subset": "lfw",
    "vggface2_dir": "identity_folders",
    "image_folder": "image_folder",
    "vgg_face2_tfds": "vgg_face2",
    "embeddings": "embeddings",
}


# -- faces -----------------------------------------------------------------


def _face_source_kwargs(faces):
    if faces.source in ("vggface2_dir", "image_folder"):
        return {"root": faces.path, "validate": faces.validation, "skip_bad_files": faces.skip_bad_files}
    if faces.source == "vgg_face2_tfds":
        return {"split": faces.split, "data_dir": faces.data_dir}
    if faces.source == "embeddings":
        return {"path": faces.path}
    return {}


def face_source(faces):
    """The config's image source, indexed once (`data.face_selection.FaceSource`); draw samples from it."""
    if faces.source == "embeddings":
        raise ValueError("faces.source 'embeddings' holds no images")
    return face_selection.FaceSource(_FACE_SOURCES[faces.source], **_face_source_kwargs(faces))


def face_batches(selection, image_size, batch_size=64):
    """The drawn faces as `(b, S, S, 3)` float32 batches in [0, 255], in drawn order (one batch in memory)."""
    # One batch ahead, not AUTOTUNE: the embedder is far slower than JPEG decoding, and an autotuned
    # buffer grows with the source (the rehearsal's peak grew 1.3x for 4x the faces).
    for batch in selection.images(0, len(selection), image_size).batch(batch_size).prefetch(1):
        yield batch["image"]


def manifest(selection, paths=None, source=None):
    """What a sample drew, JSON-able: `{"source", "drawn", "of", "identities", "paths", "skipped"}`.

    `source` is the config's `faces.source` name (default: the loader's).
    `identities` counts the distinct identities among the drawn faces (None
    when the source has none); `paths` are in drawn order (for TFDS sources,
    the `file_name`s read while embedding, given as `paths`); `skipped` is
    `[[path, reason]]` of the files and folders left out under
    `faces.skip_bad_files`.
    """
    paths = selection.paths if paths is None else paths
    names = {i for i in (selection.identities or []) if i >= 0}
    return {
        "source": source or selection.source,
        "drawn": len(selection),
        "of": selection.total,
        "identities": len(names) if selection.identity_names else None,
        "paths": list(paths) if paths is not None else None,
        "skipped": [[path, reason] for path, reason in selection.skipped],
    }


def make_face_embedder(spec):
    if spec.kind == "eigenfaces":
        embedder = EigenfaceEmbedder(spec.num_components, FACE_EMBEDDING_DIM, spec.image_size, name="face_embedder")
    else:
        embedder = FaceEmbedder(FACE_EMBEDDING_DIM, spec.image_size, name="face_embedder")
    embedder.build()
    return embedder


def load_face_embedder_weights(embedder, path):
    """`embedder.load_weights(path)`, a file that is not a `FaceEmbedder` .weights.h5 reported by name."""
    try:
        embedder.load_weights(path)
    except (OSError, ValueError) as error:  # not HDF5 / not this network's weights
        first = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise WeightsFileError(
            f"{path}: neither a keras-vggface ResNet-50 h5 (rcmalli_vggface_tf_notop_resnet50.h5) nor the "
            f".weights.h5 of a FaceEmbedder({embedder.embedding_dim}, {embedder.image_size}) ({first})"
        ) from None


def fit_face_embedder(embedder, spec, faces, seed, source=None):
    """Fits or loads the face metric, streaming the faces; returns a JSON-able description of it.

    `source`: the open `face_source(faces)` (indexed once per stage).
    """
    if spec.kind == "eigenfaces":
        selection = (source or face_source(faces)).sample(faces.max_faces, seed, faces.balance_identities)
        if len(selection) <= spec.num_components:
            raise ConfigError(
                f"face_embedder.num_components: {spec.num_components} eigenfaces need more than that many faces; "
                f"{faces.source} gave {len(selection)}"
            )
        explained = embedder.fit_faces_batches(face_batches(selection, spec.image_size, 256))
        return {
            "kind": "eigenfaces",
            "description": (
                f"eigenfaces: PCA ({spec.num_components} components, {explained:.1%} of the variance) of "
                f"{len(selection)} grey {spec.image_size}x{spec.image_size} faces from {faces.source}; "
                "not the paper's VGGFace2 ResNet-50"
            ),
            "faces": len(selection),
            "explained_variance": explained,
        }
    if spec.weights is None:
        raise ValueError(
            "face_embedder.weights: the vggface2_resnet50 embedder needs a weights file "
            "(rcmalli_vggface_tf_notop_resnet50.h5 or a Keras FaceEmbedder .weights.h5); "
            "without one use face_embedder.kind: eigenfaces"
        )
    try:
        read_vggface_h5(spec.weights)
        is_keras_vggface = True
    except WeightsFileError:
        is_keras_vggface = False
    if not is_keras_vggface:
        load_face_embedder_weights(embedder, spec.weights)
        return {"kind": "vggface2_resnet50", "description": f"FaceEmbedder weights from {spec.weights}"}
    embedder.load_vggface_weights(spec.weights)
    selection = (source or face_source(faces)).sample(spec.projection_faces, seed, faces.balance_identities)
    count = embedder.fit_projection_batches(face_batches(selection, spec.image_size, 32))
    return {
        "kind": "vggface2_resnet50",
        "description": (
            f"VGGFace2 ResNet-50 from {spec.weights}; Dense 512 = PCA of pooled features of "
            f"{count} {faces.source} faces"
        ),
        "projection_faces": int(count),
    }


def check_face_embeddings(embeddings, path, tolerance=1e-3):
    """Precomputed source embeddings must be what the face embedders give: unit-norm rows of 512 floats.

    Raises:
        EmbeddingFileError: naming `path` and the first offending row.
    """
    if embeddings.shape[1] != FACE_EMBEDDING_DIM:
        raise EmbeddingFileError(
            f"{path}: embeddings of width {embeddings.shape[1]}, expected {FACE_EMBEDDING_DIM} (the face embedders' output)"
        )
    norms = np.linalg.norm(embeddings.astype(np.float64), axis=1)
    off = np.flatnonzero(np.abs(norms - 1.0) > tolerance)
    if len(off):
        raise EmbeddingFileError(
            f"{path}: row {int(off[0])}: norm {norms[off[0]]:.4g}, expected unit-norm rows (L2-normalize them; "
            f"{len(off)} of {len(norms)} rows are off)"
        )


def embed_source_faces(embedder, faces, seed, num_fixed, shard_dir, strategy=None, log=print, source=None):
    """Source embeddings, the faces they came from, and the fixed faces that samples and reports show.

    Every drawn face is embedded once unaugmented and `faces.augment_copies`
    more times augmented, streamed in shards under `shard_dir`
    (`face2music.face_embedding`: resumable, split over workers). With
    `faces.source: embeddings` the file is the source set and there are no
    face images (its paths are kept when it is a `.npz` that has them).

    Returns:
        `{"embeddings": (N, 512) float32 (views stacked, plain first),
        "fixed_embeddings": (n, 512), "fixed_images": (n, S, S, 3) float32
        in [0, 255] or (0, 1, 1, 3), "paths": the plain rows' image paths or
        None, "identities": (n_plain,) int32, "manifest": `manifest` or
        None}` with n ≤ `num_fixed`.
    """
    if faces.source == "embeddings":
        embeddings, identities, paths = read_source_embeddings(faces.path)
        if faces.max_faces:
            chosen = np.random.default_rng(seed).permutation(len(embeddings))[: faces.max_faces]
            embeddings, identities = embeddings[chosen], identities[chosen]
            paths = None if paths is None else [paths[i] for i in chosen]
        return {
            "embeddings": embeddings,
            "fixed_embeddings": embeddings[:num_fixed],
            "fixed_images": np.zeros((0, 1, 1, 3), np.float32),
            "paths": paths,
            "identities": identities,
            "manifest": None,
        }
    size = int(embedder.image_size)
    selection = (source or face_source(faces)).sample(faces.max_faces, seed, faces.balance_identities)
    if len(selection) < 2:
        raise ValueError(f"faces ({faces.source}): need at least 2 faces, found {len(selection)}")
    result = embed_selection(
        embedder,
        selection,
        shard_dir,
        augment_copies=faces.augment_copies,
        seed=seed,
        shard_size=faces.shard_size,
        batch_size=faces.batch_size,
        strategy=strategy,
        log=log,
    )
    fixed = next(iter(selection.images(0, num_fixed, size).batch(num_fixed)))["image"].numpy()
    return {
        "embeddings": result["embeddings"],
        "fixed_embeddings": result["embeddings"][: len(fixed)],
        "fixed_images": fixed.astype(np.float32),
        "paths": result["paths"],
        "identities": result["identities"],
        "manifest": manifest(selection, result["paths"], faces.source),
    }


def read_source_embeddings(path):
    """`(embeddings (N, 512) float32, identities (N,) int32, paths or None)` of a precomputed embeddings file.

    Raises:
        EmbeddingFileError: naming the file and the first bad row.
    """
    paths = None
    if str(path).endswith(".npz"):
        embeddings, identities, paths = read_npz_embeddings(path)
    else:
        rows = [(example["embedding"].numpy(), int(example["identity"])) for example in embedding_examples(path)]
        embeddings = np.stack([row[0] for row in rows]).astype(np.float32)
        identities = np.asarray([row[1] for row in rows], np.int32)
    check_face_embeddings(embeddings, path)
    return embeddings, identities, paths


# -- target audio ------------------------------------------------------------


def _audio_source(audio):
    """(nsynth.read source, data_dir) for the config's audio section."""
    if audio.source == "mini_nsynth":
        from tfxmodal.data.nsynth import mini as mini_nsynth  # noqa: PLC0415 — TensorFlow Datasets only for the mini_nsynth source

        # A soundfont list builds under a config name of its own (mini_nsynth.config_name).
        built = mini_nsynth.prepare(audio.data_dir, audio.mini_nsynth_config, audio.soundfonts)
        return built["dataset"], audio.data_dir
    if audio.source == "tfds":
        return audio.tfds_name, audio.data_dir
    return split_files(audio.files, audio.split), None


def split_files(files, split):
    """The record files of `split` among `files` (files, globs or directories).

    Files named as the Magenta release names them (`nsynth-{split}.tfrecord*`)
    are taken by split, so one `audio.files` list serves the train, valid
    and test readers; a list with no such names is read whole for any split.

    Raises:
        NsynthDataError: files carry Magenta split names but none is `split`'s.
    """
    resolved = resolve_tfrecord_paths(list(files))
    pattern = re.compile(r"nsynth-([A-Za-z0-9_]+)\.tfrecord")
    named = [pattern.search(os.path.basename(path)) for path in resolved]
    if not all(named):
        return resolved
    chosen = [path for path, match in zip(resolved, named) if match.group(1) == split]
    if not chosen:
        found = sorted({match.group(1) for match in named})
        raise NsynthDataError(
            f"audio.files: no nsynth-{split}.tfrecord* among {len(resolved)} file(s) (splits found: {found})"
        )
    return chosen


def target_examples(audio, input_context=None):
    """Unbatched target notes: `{"audio": (8192,), "pitch": pitch class 0-60, "family": int32, ...}`.

    The generator is conditioned on 61 pitch classes, so notes outside MIDI
    24-84 are dropped even when `audio.paper_filter` is off (which then keeps
    electronic and synthetic notes). TFRecord records that fail the schema
    checks fail the iteration (see `reading_target_notes`), or are left out
    with `audio.skip_bad_records`.
    """
    source, data_dir = _audio_source(audio)
    options = {"skip_bad_records": audio.skip_bad_records} if audio.source == "tfrecord" else {}
    examples = read_nsynth(
        source,
        audio.split,
        data_dir=data_dir,
        paper_filter=audio.paper_filter,
        num_samples=CLIP_SAMPLES,
        input_context=input_context,
        **options,
    )
    in_range = examples.filter(lambda e: (e["pitch"] >= LOWEST_PITCH) & (e["pitch"] <= HIGHEST_PITCH))
    return in_range.map(lambda e: {**e, "pitch": e["pitch"] - LOWEST_PITCH}, num_parallel_calls=pipeline_lib.AUTOTUNE)


def _kept_by_filters(audio, pitch, source):
    """Which notes `target_examples` keeps, from their MIDI pitches and sources (NumPy arrays)."""
    kept = (pitch >= LOWEST_PITCH) & (pitch <= HIGHEST_PITCH)
    return kept & (source == 0) if audio.paper_filter else kept


def filter_description(audio):
    """What `target_examples` keeps, in words naming `audio.paper_filter` as it is set."""
    if audio.paper_filter:
        return f"acoustic notes of pitch {LOWEST_PITCH}-{HIGHEST_PITCH} (audio.paper_filter on)"
    return f"notes of pitch {LOWEST_PITCH}-{HIGHEST_PITCH} (audio.paper_filter off)"


def check_target_notes(audio):
    """Reads the target split once, checking every note; returns a JSON-able manifest of it.

    For `audio.source: tfrecord` every record of the split's files is
    checked (`nsynth.scan_tfrecords`): a bad record, an empty file or
    damaged data is an error naming the file and the record, unless
    `audio.skip_bad_records`, which lists them under `skipped`. Other
    sources are counted through `target_examples`.

    Returns:
        dict: `source`, `split`, `notes` (what `target_examples` yields),
        and for TFRecords also `files`, `records` (readable records),
        `skipped_count` and `skipped` (`[path, record index or None, reason]`
        of each bad record, damaged tail and empty file).

    Raises:
        NsynthDataError: naming the file (and the record) of the first problem.
    """
    manifest = {"source": audio.source, "split": audio.split}
    if audio.source != "tfrecord":
        manifest["notes"] = _count_notes(audio)
        return manifest
    files = split_files(audio.files, audio.split)
    scans = scan_tfrecords(files)
    skipped = []
    for scan in scans:
        if scan["empty"]:
            skipped.append([scan["path"], None, empty_file_message(scan["path"])])
        skipped.extend([scan["path"], index, message] for index, message in _bad_records(scan))
        if scan["unreadable"]:
            skipped.append([scan["path"], scan["records"], scan["unreadable"]])
    if skipped and not audio.skip_bad_records:
        bad = sum(len(scan["bad"]) for scan in scans)
        found = [f"{bad} bad record(s)"] if bad else []
        if len(skipped) > bad:
            found.append(f"{len(skipped) - bad} empty or damaged file(s)")
        raise NsynthDataError(
            f"{skipped[0][2]} (split {audio.split} of audio.files: {', '.join(found)}; "
            "audio.skip_bad_records: true leaves them out)"
        )
    notes = sum(int(_kept_by_filters(audio, scan["labels"]["pitch"], scan["labels"]["source"]).sum()) for scan in scans)
    return manifest | {
        "notes": notes,
        "files": files,
        "records": sum(scan["records"] for scan in scans),
        "skipped_count": len(skipped),
        "skipped": skipped,
    }


def _bad_records(scan):
    for index in scan["bad"]:
        reason = scan["reasons"].get(index)
        yield index, reason or f"{scan['path']}: record {index} fails the same checks (reason not looked up)"


def count_target_examples(audio):
    """Notes in the target split (`check_target_notes`' `notes`)."""
    return check_target_notes(audio)["notes"]


def _count_notes(audio):
    try:
        with reading_target_notes():
            return int(target_examples(audio).reduce(np.int64(0), lambda count, _: count + 1).numpy())
    except tf.errors.DataLossError as error:
        source = f"{audio.source} {audio.tfds_name if audio.source == 'tfds' else ''} in {audio.data_dir}"
        raise NsynthDataError(f"{' '.join(source.split())}: truncated or corrupt data ({_first_line(error)})") from None


@contextlib.contextmanager
def reading_target_notes():
    """Turns the in-graph failure of a bad TFRecord record into `NsynthDataError` naming the file and record."""
    try:
        yield
    except tf.errors.InvalidArgumentError as error:
        converted = bad_data_error(error)
        if converted is None:
            raise
        raise converted from None


def _first_line(error):
    return " ".join(str(error.message if hasattr(error, "message") else error).split())[:200]


def target_subset(audio, limit, seed, with_family=False):
    """A seeded random subset of up to `limit` target clips.

    Returns `(clips (n, 8192), pitch classes (n,))`, plus `families (n,)`
    with `with_family`.
    """
    examples = target_examples(audio).shuffle(max(4 * limit, 10000), seed=seed).take(limit).batch(256)
    columns = {"audio": [], "pitch": [], "family": []}
    with reading_target_notes():
        for batch in examples:
            for key, values in columns.items():
                values.append(batch[key].numpy())
    if sum(len(c) for c in columns["audio"]) < 2:
        raise ValueError(
            f"audio ({audio.source}, split {audio.split}): fewer than 2 notes after filtering: "
            f"{filter_description(audio)}"
        )
    arrays = tuple(np.concatenate(columns[key]) for key in ("audio", "pitch", "family"))
    return arrays if with_family else arrays[:2]


def triplet_dataset(audio, global_batch_size, seed, strategy, cache=True):
    """Distributed `(waveform (B, 8192), family (B,))` batches for training ψ."""

    def dataset_fn(input_context):
        pairs = target_examples(audio, input_context).map(lambda e: (e["audio"], e["family"]))
        batch = pipeline_lib.per_replica_batch_size(global_batch_size, input_context)
        return pipeline_lib.finish(pairs, batch, training=True, seed=seed, cache=cache)

    return strategy.distribute_datasets_from_function(dataset_fn)


def gan_dataset(
    audio, source_embeddings, critic_steps, per_replica_batch, seed, shuffle_buffer, cache, input_context=None
):
    """One replica's GAN batches (see `Face2MusicGAN`): K real notes and K + 1 faces per row.

    `{"audio": (B, K, 8192), "pitch": (B, K), "embedding": (B, K + 1, 512)}`;
    notes and faces are shuffled independently, so every critic step sees
    its own real batch.
    """
    notes = target_examples(audio, input_context).map(lambda e: {"audio": e["audio"], "pitch": e["pitch"]})
    if cache:
        notes = notes.cache()
    notes = notes.shuffle(shuffle_buffer, seed=seed).repeat().batch(critic_steps, drop_remainder=True)
    faces = tf.data.Dataset.from_tensor_slices(np.asarray(source_embeddings, np.float32))
    faces = pipeline_lib.shard(faces, input_context)
    faces = faces.shuffle(len(source_embeddings), seed=seed + 1).repeat().batch(critic_steps + 1, drop_remainder=True)
    rows = tf.data.Dataset.zip(notes, faces).map(
        lambda n, f: {"audio": n["audio"], "pitch": n["pitch"], "embedding": f},
        num_parallel_calls=pipeline_lib.AUTOTUNE,
    )
    return rows.batch(per_replica_batch, drop_remainder=True).prefetch(pipeline_lib.AUTOTUNE)
