"""vgg_face2: a real TFDS build from a tiny manual dir of JPEGs, read back through faces.

The manual dir mimics the extracted official download: train/<id>/<img>.jpg,
test/<id>/<img>.jpg and (in one test) train_list.txt. Each identity's images
are drawn in its own colour, so every example read back shows whether its
identity and label are right.
"""

import os
import pathlib
import socket

import numpy as np
import pytest
import tensorflow_datasets as tfds
from tensorflow_datasets.core.utils import gcs_utils

from tests.support.image_files import noise, save, truncated_copy
from tfxmodal.data.faces import selection as face_selection
from tfxmodal.data.faces import vgg_face2
from tfxmodal.data.faces.index import sample_positions
from tfxmodal.data.faces.pipeline import pipeline as face_pipeline
from tfxmodal.data.faces.selection import FaceSource
from tfxmodal.data.faces.sources import vgg_face2 as vgg_face2_examples
from tfxmodal.errors import DatasetLayoutError, ImageFileError

TRAIN = {"n000002": (200, 40, 40), "n000005": (40, 200, 40), "n000009": (40, 40, 200)}
TEST = {"n000001": (200, 200, 40)}


def face(colour, seed, height=36, width=28):
    image = np.zeros((height, width, 3), np.uint8)
    image[:] = colour
    image[:4, :4] = noise(4, 4, seed=seed)  # distinct files, same dominant colour
    return image


def write_manual_dir(root, train=TRAIN, test=TEST, per_identity=2):
    for split, identities in (("train", train), ("test", test)):
        for identity, colour in identities.items():
            for i in range(per_identity):
                save(root / split / identity / f"{i + 1:04d}_01.jpg", face(colour, i), quality=95)
    return root


def dominant(image):
    return tuple(np.round(np.median(image.reshape(-1, 3), axis=0)).astype(int))


def refuse(*args, **kwargs):
    raise AssertionError(f"network access attempted: {args[:2]}")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """A real `vgg_face2` build (train 6, test 2 images); GCS and sockets refused while building."""
    manual = write_manual_dir(tmp_path_factory.mktemp("vggface2_manual"))
    data_dir = tmp_path_factory.mktemp("tfds")
    with pytest.MonkeyPatch.context() as patch:
        # As an older TFDS (or a user) may leave it: GCS lookups switched on.
        # Our code must switch them off before any gs:// probe.
        patch.setattr(gcs_utils, "_is_gcs_disabled", False)
        patch.setattr(gcs_utils, "exists", refuse)
        patch.setattr(socket, "getaddrinfo", refuse)
        patch.setattr(socket.socket, "connect", refuse)
        summary = vgg_face2.prepare(manual, data_dir=str(data_dir))
    return {"summary": summary, "data_dir": str(data_dir), "manual": manual}


def test_build_records_identity_label_and_file_name(prepared):
    assert prepared["summary"]["splits"] == {"train": 6, "test": 2}
    assert sorted(os.listdir(prepared["data_dir"])) == ["vgg_face2"]  # no empty downloads/ left
    builder = vgg_face2.builder(prepared["data_dir"])
    assert builder.is_prepared() and builder.name == "vgg_face2"
    examples = list(tfds.as_numpy(builder.as_dataset(split="train")))
    assert sorted(e["file_name"].decode() for e in examples) == sorted(
        f"{identity}/{i:04d}_01.jpg" for identity in TRAIN for i in (1, 2)
    )
    for example in examples:
        identity = example["identity"].decode()
        assert example["file_name"].decode().startswith(identity + "/")
        assert example["label"] == sorted(TRAIN).index(identity)
        assert example["image"].shape == (36, 28, 3)
        assert np.abs(np.subtract(dominant(example["image"]), TRAIN[identity])).max() <= 3
    # Stored bytes are the original JPEG files, not re-encoded.
    raw = builder.as_dataset(split="test", decoders={"image": tfds.decode.SkipDecoding()})
    for example in tfds.as_numpy(raw):
        path = os.path.join(prepared["manual"], "test", *example["file_name"].decode().split("/"))
        assert example["image"] == pathlib.Path(path).read_bytes()
    assert "train_list.txt" in vgg_face2.MANUAL_DOWNLOAD_INSTRUCTIONS


def test_read_back_through_the_faces_loader(prepared):
    for split, identities in (("train", TRAIN), ("test", TEST)):
        dataset = vgg_face2_examples(split, image_size=32, data_dir=prepared["data_dir"])
        examples = [{k: v.numpy() for k, v in e.items()} for e in dataset]
        assert len(examples) == 2 * len(identities)
        names = sorted(identities)
        for example in examples:
            assert example["image"].shape == (32, 32, 3) and example["image"].dtype == np.float32
            assert example["identity"].dtype == np.int32
            colour = identities[names[example["identity"]]]
            assert np.abs(np.subtract(dominant(example["image"]), colour)).max() <= 4
    batch = next(iter(face_pipeline("vgg_face2", batch_size=4, image_size=16, data_dir=prepared["data_dir"])))
    assert batch["image"].shape == (4, 16, 16, 3) and batch["identity"].shape == (4,)


def test_given_positions_of_the_tfds_split_are_read_in_record_order_with_their_paths(prepared):
    everything = list(vgg_face2_examples("train", image_size=8, data_dir=prepared["data_dir"], with_paths=True))
    positions = sample_positions(len(everything), 3, 7)
    picked = list(vgg_face2_examples("train", image_size=8, data_dir=prepared["data_dir"], positions=positions))
    assert [int(e["identity"]) for e in picked] == [int(everything[i]["identity"]) for i in sorted(positions)]
    assert "path" not in picked[0] and all(e["path"].numpy().decode().endswith(".jpg") for e in everything)
    with pytest.raises(ValueError, match="balance_identities: not available"):
        face_selection.select("vgg_face2", 3, 7, balance_identities=True, data_dir=prepared["data_dir"])


def test_list_file_selects_images_and_unprepared_dataset_explains(tmp_path):
    manual = write_manual_dir(tmp_path / "manual", test={})
    (manual / "train_list.txt").write_text("n000005/0002_01.jpg\nn000002/0001_01.jpg\n\n")
    entries = vgg_face2.index_split(manual, "train")
    assert [(e[1], e[2], e[3]) for e in entries] == [
        ("n000005", 1, "n000005/0002_01.jpg"),
        ("n000002", 0, "n000002/0001_01.jpg"),
    ]
    with pytest.raises(DatasetLayoutError, match=r"vgg_face2 is not prepared there; run .* manual_dir="):
        vgg_face2_examples("train", data_dir=str(tmp_path / "tfds"))
    # With manual_dir the loader prepares it (train only: no test/ folder).
    examples = list(vgg_face2_examples("train", 8, data_dir=str(tmp_path / "tfds"), manual_dir=manual))
    assert sorted(int(e["identity"]) for e in examples) == [0, 1]
    (manual / "train_list.txt").write_text("n000005/0009_01.jpg\n")
    with pytest.raises(DatasetLayoutError, match=r"train_list.txt:1: listed image .*0009_01.jpg is missing"):
        vgg_face2.index_split(manual, "train")
    (manual / "train_list.txt").write_text("n777777/0001_01.jpg\n")
    with pytest.raises(DatasetLayoutError, match=r"train_list.txt:1: 'n777777/0001_01.jpg' is not"):
        vgg_face2.index_split(manual, "train")


def test_bad_manual_dirs_name_the_path(tmp_path):
    with pytest.raises(DatasetLayoutError, match="no such directory; expected"):
        vgg_face2.prepare(tmp_path / "missing", data_dir=str(tmp_path / "tfds"))
    os.makedirs(tmp_path / "no_train" / "test")
    with pytest.raises(DatasetLayoutError, match="no_train: no train/ folder"):
        vgg_face2.prepare(tmp_path / "no_train", data_dir=str(tmp_path / "tfds"))
    manual = write_manual_dir(tmp_path / "manual", test={})
    os.makedirs(manual / "train" / "n000010")
    with pytest.raises(DatasetLayoutError, match="n000010: empty identity folder"):
        vgg_face2.index_split(manual, "train")
    os.rmdir(manual / "train" / "n000010")
    save(manual / "train" / "loose.jpg", face(TEST["n000001"], 0))
    with pytest.raises(DatasetLayoutError, match=r"loose.jpg: image outside an identity folder"):
        vgg_face2.index_split(manual, "train")
    os.remove(manual / "train" / "loose.jpg")
    big = save(manual / "big.jpg", noise(200, 200))
    truncated_copy(big, manual / "train" / "n000005" / "0003_01.jpg")
    with pytest.raises(ImageFileError, match=r"n000005/0003_01.jpg"):
        vgg_face2.prepare(manual, data_dir=str(tmp_path / "tfds"))
    assert not os.path.exists(tmp_path / "tfds" / "vgg_face2" / "1.0.0")  # nothing half-written


def test_a_face_selection_of_the_tfds_split_streams_its_slices_with_file_names(prepared):
    everything = [(e["file_name"].decode(), int(e["label"])) for e in tfds_records(prepared["data_dir"])]
    selection = FaceSource("vgg_face2", data_dir=prepared["data_dir"]).sample(4, seed=2)
    assert len(selection) == 4 and selection.total == 6 and selection.paths is None
    positions = sorted(sample_positions(6, 4, 2))
    read = [(e["path"].decode(), int(e["identity"])) for e in selection.images(0, 4, 8).as_numpy_iterator()]
    assert read == [everything[i] for i in positions]  # record order, with file_name as the path
    tail = [e["path"].decode() for e in selection.images(2, 4, 8).as_numpy_iterator()]
    assert tail == [everything[i][0] for i in positions[2:]]


def tfds_records(data_dir):
    builder = vgg_face2.builder(data_dir)
    return tfds.as_numpy(builder.as_dataset(split="train", shuffle_files=False))
