"""Indexing face folders: bad files named or skipped, seeded uniform samples."""

import logging
import os

import numpy as np
import pytest

from tests.support.face_trees import COLOURS, collect, solid, uneven_tree
from tests.support.image_files import noise, save, truncated_copy
from tfxmodal.data.faces.index import index_identity_folders, sample_positions
from tfxmodal.data.faces.sources import identity_folders
from tfxmodal.errors import DatasetLayoutError, ImageFileError


def test_identity_folder_errors_and_skipping(tmp_path, caplog):
    root = tmp_path / "ids"
    for name in ("a", "b", "c"):
        save(root / name / "0.jpg", solid(COLOURS["alice"]), quality=95)
    os.makedirs(root / "b2_empty")
    bad = truncated_copy(save(root / "c" / "big.jpg", noise(256, 256)), root / "c" / "cut.jpg")
    with pytest.raises(DatasetLayoutError, match="b2_empty: empty identity folder"):
        index_identity_folders(root)
    os.rmdir(root / "b2_empty")
    with pytest.raises(ImageFileError, match=r"cut.jpg"):
        index_identity_folders(root, validate="header")
    os.makedirs(root / "b2_empty")
    with caplog.at_level(logging.WARNING, logger="tfxmodal.data.faces"):
        examples = collect(identity_folders(root, image_size=8, skip_bad_files=True))
    index = index_identity_folders(root, skip_bad_files=True)
    assert sorted(p for p, _ in index.skipped) == sorted([str(root / "b2_empty"), bad])
    # Labels are the sorted index among all folders: the empty one keeps its slot.
    assert index.identity_names == ["a", "b", "b2_empty", "c"]
    assert index.identities == [0, 1, 3, 3]
    assert sorted(e["identity"] for e in examples) == [0, 1, 3, 3]
    assert "skipped 2 bad file(s)" in caplog.text
    save(root / "stray.png", noise(8, 8))
    with pytest.raises(DatasetLayoutError, match=r"stray.png: image outside an identity folder"):
        index_identity_folders(root, skip_bad_files=False)
    with pytest.raises(DatasetLayoutError, match="no identity folders"):
        index_identity_folders(root / "b2_empty")
    with pytest.raises(DatasetLayoutError, match="no such directory"):
        index_identity_folders(tmp_path / "nowhere")


def test_samples_are_seeded_uniform_draws_over_the_whole_source_not_prefixes(tmp_path):
    root = uneven_tree(tmp_path / "faces", [30] + [2] * 20)  # one large identity first in path order
    index = index_identity_folders(root)
    drawn = index.sample(20, seed=0)
    assert len(set(drawn.paths)) == 20 and drawn.paths != index.paths[:20]
    assert drawn.paths == index.sample(20, seed=0).paths and drawn.paths != index.sample(20, seed=1).paths
    assert len(set(drawn.identities)) > 1  # a prefix would be 20 files of id00
    # Uniform: over many seeds each file is drawn about 20 / 70 of the time.
    counts = np.zeros(len(index.paths))
    for seed in range(400):
        counts[sample_positions(len(index.paths), 20, seed)] += 1
    assert np.all(np.abs(counts / 400 - 20 / 70) < 0.12)
    balanced = index.sample(21, seed=0, balance_identities=True)
    per_identity = np.bincount(balanced.identities, minlength=21)
    assert per_identity.max() - per_identity.min() <= 1 and per_identity.sum() == 21
    assert index.sample(1000, seed=0).paths == [index.paths[i] for i in sample_positions(70, 70, 0)]
