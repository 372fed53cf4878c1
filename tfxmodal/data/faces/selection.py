"""A seeded sample of a face source, read in slices: the faces a stage uses, never all in memory.

`select(source, count, seed, ...)` draws `count` faces uniformly without
replacement over the whole source (`faces.sample_positions`, optionally
balanced by identity), indexing the source once. The `FaceSelection` it
returns streams the decoded images of any slice of the drawn faces, each
with its path and identity, so a stage can embed 200,000 faces a batch at a
time, in shards, and resume from any shard.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from tfxmodal.data.faces.index import (
    FaceIndex,
    index_identity_folders,
    index_image_folder,
    report_skipped,
    sample_positions,
)
from tfxmodal.data.faces.pipeline import SOURCES
from tfxmodal.data.faces.sources import LFW_NUM_FACES, files_dataset, lfw_faces, vgg_face2, vgg_face2_builder


@dataclasses.dataclass
class FaceSelection:
    """The drawn faces of one image source, in drawn order.

    Attributes:
        source: a `faces.SOURCES` image source.
        count: faces drawn.
        total: faces in the whole source (after skipped files).
        paths: per drawn face its image file, or ``lfw:<position>``; None for
            TFDS sources (each example carries its `file_name` instead).
        identities: per drawn face its int identity label (-1: unknown), or
            None for TFDS sources.
        identity_names: label → identity folder name; empty when unknown.
        skipped: `(path, reason)` of files and folders left out.
    """

    source: str
    count: int
    total: int
    paths: list = None
    identities: list = None
    identity_names: list = dataclasses.field(default_factory=list)
    skipped: list = dataclasses.field(default_factory=list)
    reader: object = dataclasses.field(default=None, repr=False)

    def __len__(self):
        return self.count

    def images(self, start, stop, image_size):
        """Faces `start:stop` in drawn order, unbatched.

        Returns:
            `tf.data.Dataset` of ``{"image": float32 (S, S, 3) RGB in [0,
            255], "identity": int32, "path": string}``.
        """
        return self.reader(start, min(stop, self.count), image_size)


class FaceSource:
    """An image source indexed once (folders listed and checked, TFDS split opened), to draw samples from.

    Args:
        source: ``"lfw"``, ``"identity_folders"``, ``"image_folder"`` or
            ``"vgg_face2"``.
        **source_kwargs: as for `faces.pipeline`: `root`, `validate`,
            `skip_bad_files` (folders); `split`, `data_dir`, `manual_dir`
            (vgg_face2).

    Raises:
        DatasetLayoutError, ImageFileError: as the source's indexer.
    """

    def __init__(self, source, **source_kwargs):
        if source not in ("lfw", "identity_folders", "image_folder", "vgg_face2"):
            raise ValueError(f"source={source!r}: expected one of the image sources {SOURCES[:-1]}")
        self.source = source
        self.kwargs = dict(source_kwargs)
        self.index = None
        if source in ("identity_folders", "image_folder"):
            kwargs = dict(source_kwargs)
            root = kwargs.pop("root")
            indexer = index_identity_folders if source == "identity_folders" else index_image_folder
            self.index = indexer(root, **kwargs)
            report_skipped(self.index, root)

    def sample(self, count=None, seed=0, balance_identities=False):
        """Up to `count` faces (all when None): a seeded uniform sample over the whole source.

        `balance_identities`: identities take turns (folder sources only).
        """
        if self.source == "lfw":
            positions = sample_positions(LFW_NUM_FACES, count, seed)
            paths = [f"lfw:{position}" for position in positions]
            return FaceSelection(
                "lfw",
                len(paths),
                LFW_NUM_FACES,
                paths,
                [-1] * len(paths),
                reader=_lfw_reader(positions, paths),
            )
        if self.index is not None:
            drawn = self.index if count is None else self.index.sample(count, seed, balance_identities)
            return FaceSelection(
                self.source,
                len(drawn.paths),
                len(self.index.paths),
                drawn.paths,
                drawn.identities,
                self.index.identity_names,
                self.index.skipped,
                reader=_folder_reader(drawn),
            )
        if balance_identities:
            raise ValueError("faces.balance_identities: not available for the vgg_face2 TFDS source")
        return _select_vgg_face2(count, seed, self.kwargs)


def select(source, count=None, seed=0, balance_identities=False, **source_kwargs):
    """`FaceSource(source, **source_kwargs).sample(count, seed, balance_identities)`: one draw."""
    return FaceSource(source, **source_kwargs).sample(count, seed, balance_identities)


def _with_path(dataset, paths):
    return tf.data.Dataset.zip(dataset, tf.data.Dataset.from_tensor_slices(tf.constant(paths, tf.string))).map(
        lambda example, path: {**example, "path": path}
    )


def _folder_reader(index):
    def read(start, stop, image_size):
        part = FaceIndex(index.paths[start:stop], index.identities[start:stop], [], [], 0)
        return _with_path(files_dataset(part, image_size, None), index.paths[start:stop])

    return read


def _lfw_reader(positions, paths):
    def read(start, stop, image_size):
        return _with_path(lfw_faces(image_size, positions=positions[start:stop]), paths[start:stop])

    return read


def _select_vgg_face2(count, seed, source_kwargs):
    split = source_kwargs.get("split", "train")
    data_dir, manual_dir = source_kwargs.get("data_dir"), source_kwargs.get("manual_dir")
    builder = vgg_face2_builder(data_dir, manual_dir)
    total = builder.info.splits[split].num_examples
    # Drawn faces are taken in record order, so any slice of them is one
    # filtered pass over the split's records (JPEGs decoded only when drawn).
    positions = np.sort(np.asarray(sample_positions(total, count, seed), np.int64))

    def read(start, stop, image_size):
        return vgg_face2(split, image_size, data_dir, manual_dir, positions=positions[start:stop], with_paths=True)

    return FaceSelection("vgg_face2", len(positions), total, reader=read)
