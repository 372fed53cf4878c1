"""Embedding the source faces (face → music stage 3): streamed, sharded, resumable.

The drawn faces (`data.face_selection`) are cut into shards of
`shard_size` consecutive faces. Each shard is read a batch at a time,
embedded once unaugmented and `augment_copies` more times augmented, and
written as one `.npz` file atomically — so at most one batch of images is
ever in memory and a killed run continues from its last complete shard.
Under `MultiWorkerMirroredStrategy` worker w embeds the shards j with
j mod W = w; the workers then exchange the shards they lack through a
collective sum, so every worker ends with all of them (each keeps its own
run directory).

A shard file ``shard-JJJJJ-of-NNNNN.npz`` holds ``embedding`` float32
`(views, n, 512)` (view 0 unaugmented), ``path`` (n,) str and ``identity``
(n,) int32.
"""

import glob
import os
import time

import numpy as np
import tensorflow as tf

from tfxmodal.data.faces.augment import augment_faces
from tfxmodal.data.faces.embeddings import save_npz_embeddings
from tfxmodal.domain import FACE_EMBEDDING_DIM
from tfxmodal.models.face_embedder import embed
from tfxmodal.trainers.distribute import sum_over_workers, worker_position

# Longest path kept when shards are exchanged between workers (UTF-8 bytes).
_MAX_PATH_BYTES = 512


class Progress:
    """A text progress bar for a log: items done, items/s and ETA, at most every `interval` seconds."""

    def __init__(self, total, unit, log, interval=10.0, clock=time.monotonic):
        self.total, self.unit, self.log, self.interval, self.clock = total, unit, log, interval, clock
        self.started = self.clock()
        self.last = None
        self.done = 0

    def update(self, count, done=None):
        """Adds `count` items (or sets the total done with `done`); logs when due or finished."""
        self.done = self.done + count if done is None else done
        now = self.clock()
        if self.last is None or now - self.last >= self.interval or self.done >= self.total:
            self.last = now
            self.log(self.line(now))

    def line(self, now=None):
        elapsed = max((self.clock() if now is None else now) - self.started, 1e-9)
        rate = self.done / elapsed
        fraction = self.done / self.total if self.total else 1.0
        bar = "#" * round(20 * fraction)
        eta = (self.total - self.done) / rate if rate > 0 else float("inf")
        eta_text = "?" if not np.isfinite(eta) else time.strftime("%H:%M:%S", time.gmtime(eta))
        return (
            f"[{bar:<20}] {self.done:,}/{self.total:,} {self.unit} ({fraction:.0%}), "
            f"{rate:.1f} {self.unit}/s, ETA {eta_text}"
        )


def shard_name(index, count):
    return f"shard-{index:05d}-of-{count:05d}.npz"


def shard_ranges(count, shard_size):
    """`[(start, stop)]` of each shard over `count` drawn faces."""
    return [(start, min(start + shard_size, count)) for start in range(0, count, shard_size)]


def read_shard(path):
    """`{"embedding": (views, n, 512), "path": (n,) str, "identity": (n,) int32}` of one shard file."""
    with np.load(path, allow_pickle=False) as shard:
        return {key: shard[key] for key in ("embedding", "path", "identity")}


def _embed_shard(embedder, selection, start, stop, augment_copies, seed, shard_index, batch_size, progress):
    size = int(embedder.image_size)
    views = [[] for _ in range(augment_copies + 1)]
    paths, identities = [], []
    # One batch ahead: an autotuned buffer of decoded faces grows while the embedder lags.
    batches = selection.images(start, stop, size).batch(batch_size).prefetch(1)
    for batch_index, batch in enumerate(batches):
        images = batch["image"]
        views[0].append(embed(embedder, images))
        for copy in range(1, augment_copies + 1):
            # Stateless seeds from (seed, copy, shard, batch): a resumed shard is augmented as before.
            batch_seed = tf.constant([seed * 1009 + copy, shard_index * 100003 + batch_index], tf.int64)
            augmented = augment_faces(images, batch_seed)
            views[copy].append(embed(embedder, augmented))
        paths.extend(p.decode() for p in batch["path"].numpy())
        identities.extend(int(i) for i in batch["identity"].numpy())
        progress.update(int(images.shape[0]))
    if len(paths) != stop - start:
        raise RuntimeError(
            f"faces {start}:{stop} of {selection.source}: read {len(paths)} faces, expected {stop - start}"
        )
    return np.stack([np.concatenate(view) for view in views]), paths, identities


def embed_selection(
    embedder,
    selection,
    shard_dir,
    augment_copies=0,
    seed=0,
    shard_size=4096,
    batch_size=64,
    strategy=None,
    log=print,
):
    """Embeds the drawn faces into shards under `shard_dir`; returns the assembled result.

    Args:
        embedder: maps `(B, S, S, 3)` float32 faces in [0, 255] to `(B, 512)`
            unit vectors; `embedder.image_size` = S.
        selection: `FaceSelection` of the faces to embed.
        shard_dir: where the shard files go (created).
        augment_copies: augmented views per face besides the plain one.
        seed: augmentation seed.
        shard_size: faces per shard file.
        batch_size: faces per embedder call (the images held in memory).
        strategy: a `tf.distribute` strategy; under multi-worker each worker
            embeds its share and the shards are exchanged.
        log: message sink.

    Returns:
        `{"embeddings": (views * n, 512) float32, views stacked (every face
        unaugmented first, then each augmented copy), "paths": n str,
        "identities": (n,) int32, "embedded_here": shards this call
        embedded, "resumed": shards found complete}`.
    """
    os.makedirs(shard_dir, exist_ok=True)
    ranges = shard_ranges(len(selection), shard_size)
    names = [os.path.join(shard_dir, shard_name(j, len(ranges))) for j in range(len(ranges))]
    for stale in glob.glob(os.path.join(glob.escape(shard_dir), "shard-*.npz")):
        if stale not in names:
            raise ValueError(
                f"{stale}: a shard of another sharding (this run cuts {len(selection)} faces into {len(ranges)} "
                f"shards of {shard_size}); remove {shard_dir} to embed again"
            )
    worker, workers = worker_position(strategy) if strategy is not None else (0, 1)
    mine = [j for j in range(len(ranges)) if j % workers == worker]
    todo = [j for j in mine if not os.path.exists(names[j])]
    resumed = len(mine) - len(todo)
    faces_todo = sum(ranges[j][1] - ranges[j][0] for j in todo)
    if resumed:
        log(f"embedding faces: {resumed} of {len(mine)} shard(s) already complete, resuming")
    if workers > 1:
        log(f"embedding faces: worker {worker} of {workers} embeds shards {mine[:8]}{' ...' if len(mine) > 8 else ''}")
    progress = Progress(faces_todo, "faces", log)
    for j in todo:
        start, stop = ranges[j]
        embedding, paths, identities = _embed_shard(
            embedder, selection, start, stop, augment_copies, seed, j, batch_size, progress
        )
        save_npz_embeddings(names[j], embedding, identities, paths)
    if workers > 1:
        _exchange_shards(strategy, names, ranges, augment_copies + 1, worker, workers)
    shards = [read_shard(name) for name in names]
    views = np.concatenate([shard["embedding"] for shard in shards], axis=1)
    return {
        "embeddings": views.reshape(-1, views.shape[-1]),
        "paths": [str(p) for shard in shards for p in shard["path"]],
        "identities": np.concatenate([shard["identity"] for shard in shards]).astype(np.int32),
        "embedded_here": len(todo),
        "resumed": resumed,
    }


def _exchange_shards(strategy, names, ranges, views, worker, workers):
    """Every worker writes the shards the others embedded (a collective, shard by shard)."""
    for j, (start, stop) in enumerate(ranges):
        count = stop - start
        owner = j % workers == worker
        embedding = np.zeros((views, count, FACE_EMBEDDING_DIM), np.float32)
        path_bytes = np.zeros((count, _MAX_PATH_BYTES), np.float32)
        identity = np.zeros((count,), np.float32)
        if owner:
            shard = read_shard(names[j])
            embedding = shard["embedding"]
            for row, path in enumerate(shard["path"]):
                encoded = str(path).encode()[:_MAX_PATH_BYTES]
                path_bytes[row, : len(encoded)] = np.frombuffer(encoded, np.uint8)
            identity = shard["identity"].astype(np.float32)
        embedding = sum_over_workers(strategy, embedding)
        path_bytes = sum_over_workers(strategy, path_bytes)
        identity = sum_over_workers(strategy, identity)
        if not owner and not os.path.exists(names[j]):
            paths = [bytes(row[row > 0].astype(np.uint8)).decode() for row in path_bytes]
            save_npz_embeddings(names[j], embedding, identity.astype(np.int32), paths)
