"""The image sources: the bundled LFW faces, identity folders, image folders."""

import json

import numpy as np
import pytest
from skimage.data import lfw_subset

from tests.support.face_trees import COLOURS, collect, colour_identity
from tfxmodal.data.faces.index import index_identity_folders, index_image_folder, sample_positions
from tfxmodal.data.faces.pipeline import pipeline as face_pipeline
from tfxmodal.data.faces.sources import LFW_NUM_FACES, identity_folders, image_folder, lfw_faces
from tfxmodal.errors import DatasetLayoutError


def test_lfw_faces_are_the_first_100_skimage_images_in_rgb():
    examples = collect(lfw_faces(image_size=25))
    assert len(examples) == LFW_NUM_FACES == 100
    expected = lfw_subset()[:100] * 255.0
    for example, face in zip(examples, expected):
        assert example["image"].shape == (25, 25, 3) and example["image"].dtype == np.float32
        assert example["identity"] == -1 and example["identity"].dtype == np.int32
        for channel in range(3):
            np.testing.assert_allclose(example["image"][..., channel], face, atol=1e-3)
    big = next(iter(lfw_faces(image_size=64)))["image"].numpy()
    assert big.shape == (64, 64, 3) and big.min() >= 0.0 and big.max() <= 255.0


def test_identity_folders_label_by_sorted_folder_and_convert_documented_formats(identity_tree):
    index = index_identity_folders(identity_tree)
    assert index.identity_names == ["alice", "bob", "carol"]
    assert index.identities == [0, 0, 0, 1, 1, 2, 2]
    assert index.ignored == 1 and index.skipped == []
    assert json.loads(json.dumps(index.summary())) == {
        "images": 7,
        "identities": 3,
        "skipped": 0,
        "ignored_non_image_files": 1,
    }
    examples = collect(identity_folders(identity_tree, image_size=24))
    assert len(examples) == 7
    for example in examples:
        assert example["image"].shape == (24, 24, 3) and example["image"].dtype == np.float32
        assert example["identity"].dtype == np.int32
        assert colour_identity(example["image"]) == example["identity"]  # nothing mislabelled
    alpha = examples[3]["image"]  # bob/alpha.png sorts first: transparent, colour kept
    np.testing.assert_allclose(alpha.reshape(-1, 3).mean(0), COLOURS["bob"], atol=0.5)


def test_image_folder_is_recursive_and_unlabelled(identity_tree, tmp_path):
    index = index_image_folder(identity_tree)
    assert len(index.paths) == 7 and set(index.identities) == {-1}
    examples = collect(image_folder(identity_tree, image_size=16))
    assert len(examples) == 7 and {int(e["identity"]) for e in examples} == {-1}
    (tmp_path / "only.txt").write_text("x")
    with pytest.raises(DatasetLayoutError, match="no images found"):
        index_image_folder(tmp_path)


def test_lfw_reads_the_given_positions_in_their_order():
    positions = sample_positions(100, 10, 0)
    images = np.stack([e["image"].numpy() for e in lfw_faces(25, positions=positions)])
    everything = np.concatenate(
        [b["image"].numpy() for b in face_pipeline("lfw", batch_size=100, training=False, image_size=25, augment=False)]
    )
    np.testing.assert_array_equal(images, everything[positions])
