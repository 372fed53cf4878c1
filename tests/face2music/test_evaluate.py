"""The evaluation's faces: streamed with thumbnails, or read back from the paths a `.npz` of embeddings carries."""

import types

import numpy as np
from PIL import Image

from tests.support.face_trees import uneven_tree
from tfxmodal.data.faces.embeddings import save_npz_embeddings
from tfxmodal.data.faces.index import index_identity_folders
from tfxmodal.face2music.config import FaceData
from tfxmodal.face2music.evaluate import source_faces


def test_a_run_from_precomputed_embeddings_shows_the_faces_its_npz_names(tmp_path):
    index = index_identity_folders(uneven_tree(tmp_path / "faces", [3, 2, 4]))
    rows = np.random.default_rng(0).normal(size=(len(index.paths), 512))
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    save_npz_embeddings(tmp_path / "emb.npz", rows, index.identities, index.paths)
    run = types.SimpleNamespace(
        config=types.SimpleNamespace(faces=FaceData(source="embeddings", path=str(tmp_path / "emb.npz"))),
        face_embedder=None,
    )
    embeddings, thumbnails, manifest = source_faces(run, limit=5, seed=3)
    assert embeddings.shape == (5, 512) and thumbnails.shape == (5, 64, 64, 3) and manifest is None
    chosen = np.random.default_rng(3).permutation(len(rows))[:5]  # the seeded draw of embed_source_faces
    np.testing.assert_allclose(embeddings, rows[chosen].astype(np.float32), atol=1e-6)
    for thumbnail, row in zip(thumbnails, chosen):
        # Independent: PIL's bilinear enlargement of the 16x16 file (the crop is the whole square).
        expected = np.asarray(Image.open(index.paths[row]).convert("RGB").resize((64, 64), Image.BILINEAR), float)
        assert np.mean(np.abs(thumbnail.astype(float) - expected)) < 6.0


def test_without_paths_there_are_no_thumbnails(tmp_path):
    rows = np.eye(3, 512)
    save_npz_embeddings(tmp_path / "emb.npz", rows, [-1, -1, -1], None)
    run = types.SimpleNamespace(
        config=types.SimpleNamespace(faces=FaceData(source="embeddings", path=str(tmp_path / "emb.npz"))),
        face_embedder=None,
    )
    embeddings, thumbnails, _ = source_faces(run, limit=None, seed=0)
    assert embeddings.shape == (3, 512) and thumbnails is None
