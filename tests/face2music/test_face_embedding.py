"""The face-embedding stage: streamed in batches, sharded atomically, resumed from the last complete shard."""

import numpy as np
import pytest

from tests.support.face_trees import uneven_tree
from tfxmodal.data.faces import selection as face_selection
from tfxmodal.data.faces.index import index_identity_folders
from tfxmodal.data.faces.pipeline import pipeline as face_pipeline
from tfxmodal.face2music import face_embedding
from tfxmodal.face2music.face_embedding import Progress, embed_selection, read_shard, shard_name
from tfxmodal.models import EigenfaceEmbedder
from tfxmodal.models.face_embedder import embed


class EmbedCalls:
    """Records the batch of every embedder call the stage makes; can die after some calls (a killed run)."""

    def __init__(self, monkeypatch, die_after=None):
        self.batch_sizes, self.die_after = [], die_after
        monkeypatch.setattr(face_embedding, "embed", self.embed)

    def embed(self, model, images):
        if self.die_after is not None and len(self.batch_sizes) >= self.die_after:
            raise KeyboardInterrupt("killed")
        self.batch_sizes.append(int(images.shape[0]))
        return embed(model, images)


@pytest.fixture(scope="module")
def tree_and_embedder(tmp_path_factory):
    root = uneven_tree(tmp_path_factory.mktemp("faces") / "tree", [9, 3, 5, 1, 7])  # 25 faces, 5 identities
    embedder = EigenfaceEmbedder(num_components=8, image_size=16)
    everything = face_pipeline("identity_folders", batch_size=64, training=False, image_size=16, root=str(root))
    embedder.fit_faces(next(iter(everything))["image"].numpy())
    return root, embedder


def test_shards_hold_every_drawn_face_with_its_path_identity_and_views(tree_and_embedder, tmp_path, monkeypatch):
    root, fitted = tree_and_embedder
    selection = face_selection.select("identity_folders", 20, seed=3, root=str(root))
    calls = EmbedCalls(monkeypatch)
    result = embed_selection(
        fitted, selection, tmp_path / "shards", augment_copies=1, seed=3, shard_size=6, batch_size=4
    )
    assert sorted(p.name for p in (tmp_path / "shards").iterdir()) == [shard_name(j, 4) for j in range(4)]
    assert max(calls.batch_sizes) <= 4  # never more than a batch of images at once
    assert result["paths"] == selection.paths and list(result["identities"]) == selection.identities
    assert result["embeddings"].shape == (40, 512)  # 20 plain, then 20 augmented
    # Independent reference: the plain view is the embedder applied to the drawn files decoded in one go.
    by_path = index_identity_folders(root).paths
    decoded = next(
        iter(face_pipeline("identity_folders", batch_size=64, training=False, image_size=16, root=str(root)))
    )
    order = [by_path.index(p) for p in selection.paths]
    np.testing.assert_allclose(
        result["embeddings"][:20], np.asarray(fitted(decoded["image"].numpy()[order])), atol=1e-5
    )
    assert not np.allclose(result["embeddings"][20:], result["embeddings"][:20], atol=1e-3)  # augmented differ
    shard = read_shard(tmp_path / "shards" / shard_name(3, 4))
    assert shard["embedding"].shape == (2, 2, 512) and list(shard["path"]) == selection.paths[18:]


def test_a_killed_embedding_resumes_from_its_last_complete_shard(tree_and_embedder, tmp_path, monkeypatch):
    root, fitted = tree_and_embedder
    selection = face_selection.select("identity_folders", None, seed=0, root=str(root))
    reference = embed_selection(
        fitted, selection, tmp_path / "whole", augment_copies=1, seed=5, shard_size=5, batch_size=5
    )
    with pytest.raises(KeyboardInterrupt):
        EmbedCalls(monkeypatch, die_after=5)
        embed_selection(fitted, selection, tmp_path / "killed", 1, 5, 5, 5)
    done = sorted(p.name for p in (tmp_path / "killed").iterdir())
    assert done == [shard_name(0, 5), shard_name(1, 5)]  # 2 views per shard: shard 2 died half-way, not written
    messages = []
    again = EmbedCalls(monkeypatch)
    resumed = embed_selection(fitted, selection, tmp_path / "killed", 1, 5, 5, 5, log=messages.append)
    assert resumed["resumed"] == 2 and resumed["embedded_here"] == 3 and len(again.batch_sizes) == 6
    assert any("2 of 5 shard(s) already complete" in m for m in messages)
    np.testing.assert_array_equal(resumed["embeddings"], reference["embeddings"])  # augmentation seeds per shard
    assert resumed["paths"] == reference["paths"]


def test_a_shard_directory_of_another_sharding_is_refused(tree_and_embedder, tmp_path):
    root, fitted = tree_and_embedder
    selection = face_selection.select("identity_folders", 10, seed=0, root=str(root))
    embed_selection(fitted, selection, tmp_path / "shards", shard_size=5)
    with pytest.raises(ValueError, match=r"shard-00000-of-00002.npz: a shard of another sharding .* 4 shards of 3"):
        embed_selection(fitted, selection, tmp_path / "shards", shard_size=3)


def test_progress_reports_rate_and_eta():
    now = [100.0]
    lines = []
    progress = Progress(1000, "faces", lines.append, interval=10.0, clock=lambda: now[0])
    now[0] = 110.0
    progress.update(250)
    now[0] = 112.0
    progress.update(10)  # within the interval: not logged
    now[0] = 140.0
    progress.update(740)
    assert lines[0] == "[#####               ] 250/1,000 faces (25%), 25.0 faces/s, ETA 00:00:30"
    assert len(lines) == 2 and lines[1].startswith("[####################] 1,000/1,000 faces (100%)")


def test_progress_is_reported_per_batch_not_per_shard(tree_and_embedder, tmp_path):
    root, fitted = tree_and_embedder
    selection = face_selection.select("identity_folders", None, seed=0, root=str(root))
    messages = []
    embed_selection(fitted, selection, tmp_path / "shards", shard_size=100, batch_size=10, log=messages.append)
    bars = [m for m in messages if m.startswith("[")]
    assert bars[0].startswith("[########            ] 10/25 faces (40%)") and bars[-1].startswith(
        "[####################] 25/25"
    )
