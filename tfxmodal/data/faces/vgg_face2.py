"""TFDS builder `vgg_face2`: VGGFace2 from a manual download (TFDS 4.9.10 has none).

VGGFace2 (Cao et al. 2018) is distributed after registration, so TFDS cannot
fetch it: download and extract it yourself, then point `manual_dir` at the
folder. The builder never touches the network (`tfds_utils.offline_tfds` is
applied before every TFDS call).

Usage::

    from tfxmodal.data.faces import vgg_face2
    vgg_face2.prepare("/data/vggface2", data_dir=None)  # once; TFDS_DATA_DIR honoured
    dataset = tfxmodal.data.faces.sources.vgg_face2("train", image_size=224)

Features: `image` (the original JPEG bytes, variable size, decoded to RGB),
`identity` (the identity folder name, e.g. ``n000002``), `label` (int64: the
index of `identity` in the sorted list of identity folders **of that
split** — VGGFace2's train and test identities are disjoint, so train labels
run 0..8630 and test labels 0..499), `file_name` (``n000002/0001_01.jpg``).
"""

import os
from typing import ClassVar

import numpy as np
import tensorflow_datasets as tfds

from tfxmodal.data.images import check_images, is_image_name
from tfxmodal.data.tfds_utils import (
    build_offline,
    offline_tfds,
    tfds_data_dir,
)
from tfxmodal.errors import DatasetLayoutError

SPLITS = ("train", "test")

MANUAL_DOWNLOAD_INSTRUCTIONS = """\
Register at the VGGFace2 distributor, download `vggface2_train.tar.gz` and
(optionally) `vggface2_test.tar.gz` with `train_list.txt` / `test_list.txt`,
and extract them so that the manual directory holds:

  <manual_dir>/train/<identity>/<image>.jpg    (required, e.g. train/n000002/0001_01.jpg)
  <manual_dir>/test/<identity>/<image>.jpg     (optional: the test split)
  <manual_dir>/train_list.txt                  (optional, lines like n000002/0001_01.jpg)
  <manual_dir>/test_list.txt                   (optional)

When a split's list file is present exactly the listed images are used, in
that list's order, and a listed image that is missing is an error; without
it every .jpg/.jpeg/.png under <manual_dir>/<split>/<identity>/ is used.
Images sitting directly in <manual_dir>/<split>/ (outside an identity folder)
and empty identity folders are errors. Every image is validated (header
checks for more than 10 000 images, a full decode below that) and a bad one
stops the build with its path.
"""


class VggFace2(tfds.core.GeneratorBasedBuilder):
    """VGGFace2 face images by identity, read from a manual download."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES: ClassVar[dict] = {"1.0.0": "Initial release (tfxmodal)."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = MANUAL_DOWNLOAD_INSTRUCTIONS

    def _info(self):
        return self.dataset_info_from_configs(
            description=(
                "VGGFace2: 3.31 M images of 9131 identities (8631 train, 500 test), loose face crops of varying size."
            ),
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(None, None, 3), encoding_format="jpeg"),
                    "identity": tfds.features.Text(),
                    "label": tfds.features.Scalar(dtype=np.int64),
                    "file_name": tfds.features.Text(),
                }
            ),
            supervised_keys=("image", "label"),
            homepage="https://github.com/ox-vgg/vgg_face2",
            citation=(
                "@inproceedings{Cao18, author = {Cao, Q. and Shen, L. and Xie, W. "
                "and Parkhi, O. M. and Zisserman, A.}, title = {VGGFace2: A "
                "dataset for recognising faces across pose and age}, booktitle "
                "= {International Conference on Automatic Face and Gesture "
                "Recognition}, year = {2018}}"
            ),
        )

    def _split_generators(self, dl_manager):
        manual_dir = os.fspath(dl_manager.manual_dir)
        present = [s for s in SPLITS if os.path.isdir(os.path.join(manual_dir, s))]
        if "train" not in present:
            raise DatasetLayoutError(
                f"{manual_dir}: no train/ folder; expected the extracted VGGFace2 download, "
                "<manual_dir>/train/<identity>/<image>.jpg (the layout in full below)\n" + MANUAL_DOWNLOAD_INSTRUCTIONS
            )
        return {split: self._generate_examples(index_split(manual_dir, split)) for split in present}

    def _generate_examples(self, entries):
        for path, identity, label, file_name in entries:
            yield (
                file_name,
                {
                    "image": path,
                    "identity": identity,
                    "label": label,
                    "file_name": file_name,
                },
            )


def index_split(manual_dir, split, validate="auto"):
    """The examples of one split of an extracted VGGFace2 download.

    Args:
        manual_dir: the manual directory (layout in
            `MANUAL_DOWNLOAD_INSTRUCTIONS`).
        split: ``"train"`` or ``"test"``.
        validate: image validation depth (`tfxmodal.data.images`).

    Returns:
        list of `(path, identity, label, file_name)`; `label` is the index
        of `identity` among the split's sorted identity folders.

    Raises:
        DatasetLayoutError: a layout problem, naming the path.
        ImageFileError: a bad image, naming the file.
    """
    root = os.path.join(os.fspath(manual_dir), split)
    if not os.path.isdir(root):
        raise DatasetLayoutError(f"{root}: no such directory (expected {split}/<identity>/<image>.jpg)")
    names = sorted(n for n in os.listdir(root) if not n.startswith("."))
    identities = [n for n in names if os.path.isdir(os.path.join(root, n))]
    strays = [n for n in names if is_image_name(n) and n not in identities]
    if strays:
        raise DatasetLayoutError(
            f"{os.path.join(root, strays[0])}: image outside an identity folder "
            f"(expected {split}/<identity>/<image>.jpg)"
        )
    if not identities:
        raise DatasetLayoutError(f"{root}: no identity folders (expected {split}/<identity>/<image>.jpg)")
    labels = {identity: index for index, identity in enumerate(identities)}
    list_path = os.path.join(os.fspath(manual_dir), f"{split}_list.txt")
    if os.path.isfile(list_path):
        file_names = _read_list(list_path, root, labels)
    else:
        file_names = []
        for identity in identities:
            images = sorted(n for n in os.listdir(os.path.join(root, identity)) if is_image_name(n))
            if not images:
                raise DatasetLayoutError(
                    f"{os.path.join(root, identity)}: empty identity folder (expected .jpg images)"
                )
            file_names.extend(f"{identity}/{n}" for n in images)
    paths = [os.path.join(root, *name.split("/")) for name in file_names]
    check_images(paths, validate=validate)
    return [(path, name.split("/")[0], labels[name.split("/")[0]], name) for path, name in zip(paths, file_names)]


def _read_list(list_path, root, labels):
    file_names = []
    with open(list_path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            name = line.strip()
            if not name:
                continue
            parts = name.split("/")
            if len(parts) != 2 or parts[0] not in labels:
                raise DatasetLayoutError(
                    f"{list_path}:{number}: {name!r} is not <identity>/<image> with an identity folder under {root}"
                )
            if not os.path.isfile(os.path.join(root, parts[0], parts[1])):
                raise DatasetLayoutError(
                    f"{list_path}:{number}: listed image {os.path.join(root, parts[0], parts[1])} is missing"
                )
            file_names.append(name)
    if not file_names:
        raise DatasetLayoutError(f"{list_path}: list holds no images")
    return file_names


def builder(data_dir=None):
    """The `vgg_face2` builder over `data_dir` (None: TFDS default, honours `TFDS_DATA_DIR`)."""
    offline_tfds()
    return VggFace2(data_dir=tfds_data_dir(data_dir))


def prepare(manual_dir, data_dir=None):
    """Builds the TFDS dataset from an extracted download; returns a JSON-able summary.

    Args:
        manual_dir: folder laid out as in `MANUAL_DOWNLOAD_INSTRUCTIONS`.
        data_dir: TFDS data dir (None: TFDS default).

    Returns:
        dict: `path` (the prepared dataset folder) and `splits`
        (examples per split).
    """
    if not os.path.isdir(os.fspath(manual_dir)):
        raise DatasetLayoutError(
            f"{manual_dir}: no such directory; expected the extracted VGGFace2 download, "
            "<manual_dir>/train/<identity>/<image>.jpg (the layout in full below)\n" + MANUAL_DOWNLOAD_INSTRUCTIONS
        )
    dataset_builder = builder(data_dir)
    build_offline(dataset_builder, manual_dir)
    return {
        "path": os.fspath(dataset_builder.data_dir),
        "splits": {name: info.num_examples for name, info in dataset_builder.info.splits.items()},
    }
