"""Indexing face image folders once: `FaceIndex` (paths, identities, what was skipped) and seeded samples of it."""

import dataclasses
import logging
import os

import numpy as np

from tfxmodal.data.images import (
    check_images,
    is_image_name,
    list_images,
)
from tfxmodal.errors import DatasetLayoutError

logger = logging.getLogger(__name__)


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
