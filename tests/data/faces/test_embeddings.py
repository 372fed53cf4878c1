"""Precomputed embeddings: `.npy` and TFRecord files, memory-mapped reads, bad files named."""

import os
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from tests.support.face_trees import collect
from tfxmodal.data.faces import embeddings as embeddings_module
from tfxmodal.data.faces.embeddings import embeddings as embedding_examples
from tfxmodal.data.faces.pipeline import pipeline as face_pipeline
from tfxmodal.errors import EmbeddingFileError


def write_embedding_records(path, embeddings, identities=None):
    with tf.io.TFRecordWriter(str(path)) as writer:
        for i, row in enumerate(embeddings):
            feature = {"embedding": tf.train.Feature(float_list=tf.train.FloatList(value=row))}
            if identities is not None:
                feature["identity"] = tf.train.Feature(int64_list=tf.train.Int64List(value=[identities[i]]))
            writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    return str(path)


def test_embeddings_from_npy_and_tfrecord(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.normal(size=(10, 6)).astype(np.float32)
    ids = np.arange(10) % 3
    np.save(tmp_path / "emb.npy", values)
    np.save(tmp_path / "ids.npy", ids)
    from_npy = collect(embedding_examples(str(tmp_path / "emb.npy"), identities=str(tmp_path / "ids.npy")))
    np.testing.assert_array_equal(np.stack([e["embedding"] for e in from_npy]), values)
    assert [int(e["identity"]) for e in from_npy] == list(ids)
    unlabelled = collect(embedding_examples(tmp_path / "emb.npy"))
    assert {int(e["identity"]) for e in unlabelled} == {-1}
    with_ids = write_embedding_records(tmp_path / "a.tfrecord", values[:6], ids[:6])
    without = write_embedding_records(tmp_path / "b.tfrecord", values[6:])
    records = collect(embedding_examples([with_ids, without]))
    np.testing.assert_allclose(np.stack([e["embedding"] for e in records]), values)
    assert [int(e["identity"]) for e in records] == list(ids[:6]) + [-1] * 4
    assert records[0]["embedding"].dtype == np.float32 and records[0]["identity"].dtype == np.int32
    batch = next(iter(face_pipeline("embeddings", batch_size=4, path=str(tmp_path / "emb.npy"))))
    assert batch["embedding"].shape == (4, 6) and batch["identity"].shape == (4,)


def test_large_npy_is_streamed_from_a_memory_map(tmp_path, monkeypatch):
    monkeypatch.setattr(embeddings_module, "_IN_GRAPH_ARRAY_BYTES", 100)
    monkeypatch.setattr(embeddings_module, "_EMBEDDING_CHUNK", 7)
    values = np.arange(20 * 3, dtype=np.float64).reshape(20, 3)
    np.save(tmp_path / "big.npy", values)
    out = collect(embedding_examples(str(tmp_path / "big.npy"), identities=np.arange(20)))
    np.testing.assert_array_equal(np.stack([e["embedding"] for e in out]), values.astype(np.float32))
    assert [int(e["identity"]) for e in out] == list(range(20))


def test_bad_embedding_files_name_the_file(tmp_path):
    np.save(tmp_path / "flat.npy", np.zeros(5, np.float32))
    nan = np.zeros((3, 2), np.float32)
    nan[1, 1] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    np.save(tmp_path / "ok.npy", np.zeros((3, 2), np.float32))
    (tmp_path / "empty.npy").write_bytes(b"")
    cases = {
        str(tmp_path / "missing.npy"): "missing.npy: no such embeddings file",
        str(tmp_path / "empty.npy"): "empty.npy: empty file",
        str(tmp_path / "flat.npy"): r"flat.npy: expected float embeddings of shape \(N, D\), got float32 \(5,\)",
        str(tmp_path / "nan.npy"): "nan.npy: row 1: embedding contains NaN",
    }
    for path, message in cases.items():
        with pytest.raises(EmbeddingFileError, match=message):
            embedding_examples(path)
    with pytest.raises(EmbeddingFileError, match=r"identities must be integers of shape \(3,\)"):
        embedding_examples(str(tmp_path / "ok.npy"), identities=np.zeros(4, int))
    # TFRecords: wrong feature, size mismatch inside a file, truncation.
    wrong = tmp_path / "wrong.tfrecord"
    with tf.io.TFRecordWriter(str(wrong)) as writer:
        feature = {"vector": tf.train.Feature(float_list=tf.train.FloatList(value=[1.0]))}
        writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    with pytest.raises(
        EmbeddingFileError,
        match=r"wrong.tfrecord: first record has no float feature 'embedding' "
        r"\(features: \['vector'\]\)",
    ):
        embedding_examples(str(wrong))
    mixed = write_embedding_records(tmp_path / "mixed.tfrecord", [[1.0, 2.0], [1.0, 2.0, 3.0]])
    with pytest.raises(EmbeddingFileError, match=r"mixed.tfrecord: bad record"):
        embedding_examples(mixed)
    good = write_embedding_records(tmp_path / "good.tfrecord", np.ones((50, 8), np.float32))
    size = os.path.getsize(good)
    framed = size // 50  # every record has the same length: 12-byte header, data, 4-byte CRC
    for cut_at in (size - 5, size - framed + 6):  # inside the last record's data; inside its header
        cut = tmp_path / "cut.tfrecord"
        cut.write_bytes(pathlib.Path(good).read_bytes()[:cut_at])
        with pytest.raises(EmbeddingFileError, match=r"cut.tfrecord: bad record"):
            embedding_examples(str(cut))
    other_size = write_embedding_records(tmp_path / "four.tfrecord", np.ones((2, 4), np.float32))
    with pytest.raises(EmbeddingFileError, match=r"four.tfrecord: embeddings of size 4, expected 8"):
        embedding_examples([good, other_size])
