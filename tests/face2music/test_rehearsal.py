"""The rehearsal's data writers produce what the real loaders accept, and its cuts change only counts."""

import json
import os

import numpy as np
from PIL import Image

from tfxmodal.config import apply_overrides, read_yaml
from tfxmodal.data.faces.index import index_identity_folders
from tfxmodal.data.nsynth.reader import read as read_nsynth
from tfxmodal.face2music.rehearsal import (
    SCALE,
    SMALL,
    cut_settings,
    write_face_tree,
    write_nsynth_shards,
    write_vggface_weights,
)
from tfxmodal.models import FaceEmbedder

PAPER = os.path.join(os.path.dirname(__file__), "..", "..", "configs", "face2music_paper.yaml")


def test_the_face_tree_is_a_vggface2_layout_of_varied_jpegs(tmp_path):
    written = write_face_tree(tmp_path / "train", identities=6, seed=0)
    index = index_identity_folders(tmp_path / "train", validate="full")
    assert written["identities"] == len(index.identity_names) == 6 and written["images"] == len(index.paths)
    assert index.identity_names[0] == "n000001" and index.paths[0].endswith("n000001/0001_01.jpg")
    sizes = {Image.open(path).size for path in index.paths}
    assert len(sizes) > len(index.paths) // 2 and all(200 <= w <= 300 and 220 <= h <= 320 for w, h in sizes)
    assert all(Image.open(path).format == "JPEG" for path in index.paths)


def test_the_nsynth_shards_read_as_the_magenta_release(tmp_path):
    paths = write_nsynth_shards(tmp_path, "train", notes=5, shards=2, seed=0)
    assert [os.path.basename(p) for p in paths] == [
        "nsynth-train.tfrecord-00000-of-00002",
        "nsynth-train.tfrecord-00001-of-00002",
    ]
    notes = list(read_nsynth(str(tmp_path), "train", paper_filter=True).as_numpy_iterator())
    assert len(notes) == 5  # every note acoustic, pitch 24-84
    assert all(n["audio"].shape == (8192,) and 24 <= n["pitch"] <= 84 and n["source"] == 0 for n in notes)
    assert all(0.01 < np.abs(n["audio"]).max() <= 0.8 for n in notes)


def test_the_weights_file_loads_as_a_keras_vggface_resnet50(tmp_path):
    path = write_vggface_weights(str(tmp_path / "rcmalli_vggface_tf_notop_resnet50.h5"))
    embedder = FaceEmbedder(image_size=224)
    assert embedder.load_vggface_weights(path) == 106  # 53 convolutions, 53 batch norms
    pooled = np.asarray(embedder.pooled_features(np.full((1, 224, 224, 3), 128.0, np.float32)))
    assert np.all(np.isfinite(pooled)) and np.std(pooled) > 0


def test_the_cuts_change_counts_and_paths_only():
    paper = read_yaml(PAPER)
    settings = cut_settings({k: v * SCALE for k, v in SMALL.items()}, "/faces", "/nsynth", "/w.h5")
    cut = apply_overrides(paper, [f"{key}={json.dumps(value)}" for key, value in settings.items()])
    assert cut["model"] == paper["model"] and cut["train"]["batch_size"] == 128 and cut["train"]["critic_steps"] == 5
    assert cut["face_embedder"]["image_size"] == 224 and cut["face_embedder"]["kind"] == "vggface2_resnet50"
    assert cut["audio_embedder"]["width"] == 64 and cut["audio_embedder"]["batch_size"] == 128
    assert {k: v for k, v in cut["train"].items() if k not in ("steps", "checkpoint_every", "shuffle_buffer")} == {
        k: v for k, v in paper["train"].items() if k not in ("steps", "checkpoint_every", "shuffle_buffer")
    }
    counts_and_paths = {"faces", "face_embedder.weights", "face_embedder.projection_faces", "audio", "stats", "export"}
    counts_and_paths |= {"audio_embedder.steps", "audio_embedder.validate_every", "audio_embedder.validation_examples"}
    counts_and_paths |= {"train.steps", "train.checkpoint_every", "train.shuffle_buffer", "evaluation"}
    assert all(key in counts_and_paths or key.split(".")[0] in counts_and_paths for key in settings)
