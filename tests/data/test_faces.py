"""faces: the embedded LFW faces, folder trees, embeddings, augmentation, pipelines.

All inputs are real files written here: JPEG/PNG trees, `.npy` arrays and
TFRecords of `tf.train.Example`.
"""

import json
import logging
import os

import numpy as np
import pytest
import tensorflow as tf

from tests.data.test_images import noise, save, truncated_copy
from tfxmodal.data import faces
from tfxmodal.data.faces import EmbeddingFileError
from tfxmodal.data.images import DatasetLayoutError, ImageFileError

# Identity folder name -> the solid colour its images are drawn in, so every
# decoded example shows which folder it came from.
COLOURS = {"alice": (220, 30, 30), "bob": (30, 220, 30), "carol": (30, 30, 220)}


def solid(colour, height=40, width=30):
    image = np.zeros((height, width, 3), np.uint8)
    image[:] = colour
    return image


@pytest.fixture(scope="module")
def identity_tree(tmp_path_factory):
    """<root>/<identity>/<image>: alice 3 JPEGs, bob a grey and an RGBA PNG, carol 2 nested PNGs."""
    root = tmp_path_factory.mktemp("identities")
    for i in range(3):
        save(root / "alice" / f"{i}.jpg", solid(COLOURS["alice"]), quality=95)
    bob = COLOURS["bob"]
    save(root / "bob" / "grey.png", np.full((30, 40), bob[1], np.uint8), "L")
    rgba = np.zeros((30, 30, 4), np.uint8)
    rgba[..., :3] = bob
    rgba[..., 3] = 0  # fully transparent: dropping alpha must keep the colour
    save(root / "bob" / "alpha.png", rgba, "RGBA")
    for i in range(2):
        save(root / "carol" / "session1" / f"{i}.png", solid(COLOURS["carol"], 50, 80))
    (root / "carol" / "README.txt").write_text("not an image")
    return root


def colour_identity(image):
    """The identity whose colour an [0, 255] RGB image shows (bob's grey PNG: grey)."""
    mean = image.reshape(-1, 3).mean(axis=0)
    if np.ptp(mean) < 1.0:  # grey replicated to RGB
        return 1
    return int(np.argmax(mean))  # red alice 0, green bob 1, blue carol 2


def collect(dataset):
    return [{k: v.numpy() for k, v in example.items()} for example in dataset]


def test_lfw_faces_are_the_first_100_skimage_images_in_rgb():
    from skimage.data import lfw_subset

    examples = collect(faces.lfw_faces(image_size=25))
    assert len(examples) == faces.LFW_NUM_FACES == 100
    expected = lfw_subset()[:100] * 255.0
    for example, face in zip(examples, expected):
        assert example["image"].shape == (25, 25, 3) and example["image"].dtype == np.float32
        assert example["identity"] == -1 and example["identity"].dtype == np.int32
        for channel in range(3):
            np.testing.assert_allclose(example["image"][..., channel], face, atol=1e-3)
    big = next(iter(faces.lfw_faces(image_size=64)))["image"].numpy()
    assert big.shape == (64, 64, 3) and 0.0 <= big.min() and big.max() <= 255.0


def test_lfw_pipeline_batches_augments_deterministically_and_evaluates_plainly():
    first = [next(iter(faces.pipeline("lfw", batch_size=16, image_size=32, seed=3)))["image"].numpy() for _ in range(2)]
    np.testing.assert_array_equal(first[0], first[1])  # seeded: a rebuilt pipeline repeats itself
    other = next(iter(faces.pipeline("lfw", batch_size=16, image_size=32, seed=4)))["image"].numpy()
    assert not np.array_equal(first[0], other)
    assert first[0].shape == (16, 32, 32, 3) and 0.0 <= first[0].min() and first[0].max() <= 255.0
    batches = collect(faces.pipeline("lfw", batch_size=32, training=False, image_size=32))
    assert [len(b["image"]) for b in batches] == [32, 32, 32, 4]  # eval keeps the remainder
    plain = np.stack([e["image"] for e in collect(faces.lfw_faces(32))])
    np.testing.assert_array_equal(np.concatenate([b["image"] for b in batches]), plain)
    # Training batches are augmented: none equals its un-augmented face.
    distances = np.abs(first[0][:, None] - plain[None]).mean(axis=(2, 3, 4)).min(axis=1)
    assert (distances > 0.5).all()


def test_augment_faces_flip_only_and_full():
    images = np.stack([noise(16, 16, seed=s).astype(np.float32) for s in range(64)])
    seed = tf.constant([7, 1], tf.int64)
    flipped = faces.augment_faces(
        images,
        seed,
        max_translation=0.0,
        max_zoom=0.0,
        max_brightness=0.0,
        contrast_range=(1.0, 1.0),
    ).numpy()
    same = np.all(np.isclose(flipped, images, atol=1e-3), axis=(1, 2, 3))
    mirrored = np.all(np.isclose(flipped, images[:, :, ::-1], atol=1e-3), axis=(1, 2, 3))
    assert (same | mirrored).all() and 10 < mirrored.sum() < 54
    full = faces.augment_faces(images, seed).numpy()
    np.testing.assert_array_equal(full, faces.augment_faces(images, seed).numpy())
    assert not np.array_equal(full, faces.augment_faces(images, tf.constant([7, 2], tf.int64)).numpy())
    assert full.shape == images.shape and 0.0 <= full.min() and full.max() <= 255.0


def test_identity_folders_label_by_sorted_folder_and_convert_documented_formats(identity_tree):
    index = faces.index_identity_folders(identity_tree)
    assert index.identity_names == ["alice", "bob", "carol"]
    assert index.identities == [0, 0, 0, 1, 1, 2, 2]
    assert index.ignored == 1 and index.skipped == []
    assert json.loads(json.dumps(index.summary())) == {
        "images": 7,
        "identities": 3,
        "skipped": 0,
        "ignored_non_image_files": 1,
    }
    examples = collect(faces.identity_folders(identity_tree, image_size=24))
    assert len(examples) == 7
    for example in examples:
        assert example["image"].shape == (24, 24, 3) and example["image"].dtype == np.float32
        assert example["identity"].dtype == np.int32
        assert colour_identity(example["image"]) == example["identity"]  # nothing mislabelled
    alpha = examples[3]["image"]  # bob/alpha.png sorts first: transparent, colour kept
    np.testing.assert_allclose(alpha.reshape(-1, 3).mean(0), COLOURS["bob"], atol=0.5)


def test_identity_folder_errors_and_skipping(tmp_path, caplog):
    root = tmp_path / "ids"
    for name in ("a", "b", "c"):
        save(root / name / "0.jpg", solid(COLOURS["alice"]), quality=95)
    os.makedirs(root / "b2_empty")
    bad = truncated_copy(save(root / "c" / "big.jpg", noise(256, 256)), root / "c" / "cut.jpg")
    with pytest.raises(DatasetLayoutError, match="b2_empty: empty identity folder"):
        faces.index_identity_folders(root)
    os.rmdir(root / "b2_empty")
    with pytest.raises(ImageFileError, match="cut.jpg"):
        faces.index_identity_folders(root, validate="header")
    os.makedirs(root / "b2_empty")
    with caplog.at_level(logging.WARNING, logger="tfxmodal.data.faces"):
        examples = collect(faces.identity_folders(root, image_size=8, skip_bad_files=True))
    index = faces.index_identity_folders(root, skip_bad_files=True)
    assert sorted(p for p, _ in index.skipped) == sorted([str(root / "b2_empty"), bad])
    # Labels are the sorted index among all folders: the empty one keeps its slot.
    assert index.identity_names == ["a", "b", "b2_empty", "c"]
    assert index.identities == [0, 1, 3, 3]
    assert sorted(e["identity"] for e in examples) == [0, 1, 3, 3]
    assert "skipped 2 bad file(s)" in caplog.text
    save(root / "stray.png", noise(8, 8))
    with pytest.raises(DatasetLayoutError, match="stray.png: image outside an identity folder"):
        faces.index_identity_folders(root, skip_bad_files=False)
    with pytest.raises(DatasetLayoutError, match="no identity folders"):
        faces.index_identity_folders(root / "b2_empty")
    with pytest.raises(DatasetLayoutError, match="no such directory"):
        faces.index_identity_folders(tmp_path / "nowhere")


def test_image_folder_is_recursive_and_unlabelled(identity_tree, tmp_path):
    index = faces.index_image_folder(identity_tree)
    assert len(index.paths) == 7 and set(index.identities) == {-1}
    examples = collect(faces.image_folder(identity_tree, image_size=16))
    assert len(examples) == 7 and {int(e["identity"]) for e in examples} == {-1}
    (tmp_path / "only.txt").write_text("x")
    with pytest.raises(DatasetLayoutError, match="no images found"):
        faces.index_image_folder(tmp_path)


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
    from_npy = collect(faces.embeddings(str(tmp_path / "emb.npy"), identities=str(tmp_path / "ids.npy")))
    np.testing.assert_array_equal(np.stack([e["embedding"] for e in from_npy]), values)
    assert [int(e["identity"]) for e in from_npy] == list(ids)
    unlabelled = collect(faces.embeddings(tmp_path / "emb.npy"))
    assert {int(e["identity"]) for e in unlabelled} == {-1}
    with_ids = write_embedding_records(tmp_path / "a.tfrecord", values[:6], ids[:6])
    without = write_embedding_records(tmp_path / "b.tfrecord", values[6:])
    records = collect(faces.embeddings([with_ids, without]))
    np.testing.assert_allclose(np.stack([e["embedding"] for e in records]), values)
    assert [int(e["identity"]) for e in records] == list(ids[:6]) + [-1] * 4
    assert records[0]["embedding"].dtype == np.float32 and records[0]["identity"].dtype == np.int32
    batch = next(iter(faces.pipeline("embeddings", batch_size=4, path=str(tmp_path / "emb.npy"))))
    assert batch["embedding"].shape == (4, 6) and batch["identity"].shape == (4,)


def test_large_npy_is_streamed_from_a_memory_map(tmp_path, monkeypatch):
    monkeypatch.setattr(faces, "_IN_GRAPH_ARRAY_BYTES", 100)
    monkeypatch.setattr(faces, "_EMBEDDING_CHUNK", 7)
    values = np.arange(20 * 3, dtype=np.float64).reshape(20, 3)
    np.save(tmp_path / "big.npy", values)
    out = collect(faces.embeddings(str(tmp_path / "big.npy"), identities=np.arange(20)))
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
            faces.embeddings(path)
    with pytest.raises(EmbeddingFileError, match=r"identities must be integers of shape \(3,\)"):
        faces.embeddings(str(tmp_path / "ok.npy"), identities=np.zeros(4, int))
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
        faces.embeddings(str(wrong))
    mixed = write_embedding_records(tmp_path / "mixed.tfrecord", [[1.0, 2.0], [1.0, 2.0, 3.0]])
    with pytest.raises(EmbeddingFileError, match="mixed.tfrecord: bad record"):
        faces.embeddings(mixed)
    good = write_embedding_records(tmp_path / "good.tfrecord", np.ones((50, 8), np.float32))
    size = os.path.getsize(good)
    framed = size // 50  # every record has the same length: 12-byte header, data, 4-byte CRC
    for cut_at in (size - 5, size - framed + 6):  # inside the last record's data; inside its header
        cut = tmp_path / "cut.tfrecord"
        cut.write_bytes(open(good, "rb").read()[:cut_at])
        with pytest.raises(EmbeddingFileError, match="cut.tfrecord: bad record"):
            faces.embeddings(str(cut))
    other_size = write_embedding_records(tmp_path / "four.tfrecord", np.ones((2, 4), np.float32))
    with pytest.raises(EmbeddingFileError, match="four.tfrecord: embeddings of size 4, expected 8"):
        faces.embeddings([good, other_size])


def test_sharding_splits_files_disjointly_and_strategy_gets_per_replica_batches(identity_tree, two_cpu_strategy):
    shards = []
    for pipeline_id in range(2):
        context = tf.distribute.InputContext(
            num_input_pipelines=2, input_pipeline_id=pipeline_id, num_replicas_in_sync=2
        )
        shards.append(collect(faces.identity_folders(identity_tree, image_size=8, input_context=context)))
    assert [len(s) for s in shards] == [4, 3]
    everything = collect(faces.identity_folders(identity_tree, image_size=8))
    merged = [e for pair in zip(shards[0], shards[1] + [None]) for e in pair if e is not None]
    for a, b in zip(merged, everything):
        np.testing.assert_array_equal(a["image"], b["image"])
    distributed = two_cpu_strategy.distribute_datasets_from_function(
        lambda context: faces.pipeline("lfw", batch_size=8, image_size=16, input_context=context)
    )
    batch = next(iter(distributed))
    local = two_cpu_strategy.experimental_local_results(batch["image"])
    assert [tuple(part.shape) for part in local] == [(4, 16, 16, 3), (4, 16, 16, 3)]


def test_pipeline_rejects_unknown_source():
    with pytest.raises(ValueError, match="source='celeba'"):
        faces.pipeline("celeba")


def uneven_tree(root, sizes):
    """Identity folders `id00`, `id01`, … holding `sizes[i]` small JPEGs each."""
    for identity, size in enumerate(sizes):
        folder = root / f"id{identity:02d}"
        folder.mkdir(parents=True)
        for index in range(size):
            save(folder / f"{index:03d}.jpg", noise(16, 16, seed=identity * 100 + index))
    return root


def test_samples_are_seeded_uniform_draws_over_the_whole_source_not_prefixes(tmp_path):
    root = uneven_tree(tmp_path / "faces", [30] + [2] * 20)  # one large identity first in path order
    index = faces.index_identity_folders(root)
    drawn = index.sample(20, seed=0)
    assert len(set(drawn.paths)) == 20 and drawn.paths != index.paths[:20]
    assert drawn.paths == index.sample(20, seed=0).paths and drawn.paths != index.sample(20, seed=1).paths
    assert len(set(drawn.identities)) > 1  # a prefix would be 20 files of id00
    # Uniform: over many seeds each file is drawn about 20 / 70 of the time.
    counts = np.zeros(len(index.paths))
    for seed in range(400):
        counts[faces.sample_positions(len(index.paths), 20, seed)] += 1
    assert np.all(np.abs(counts / 400 - 20 / 70) < 0.12)
    balanced = index.sample(21, seed=0, balance_identities=True)
    per_identity = np.bincount(balanced.identities, minlength=21)
    assert per_identity.max() - per_identity.min() <= 1 and per_identity.sum() == 21
    assert index.sample(1000, seed=0).paths == [index.paths[i] for i in faces.sample_positions(70, 70, 0)]


def test_lfw_reads_the_given_positions_in_their_order():
    positions = faces.sample_positions(100, 10, 0)
    images = np.stack([e["image"].numpy() for e in faces.lfw_faces(25, positions=positions)])
    everything = np.concatenate(
        [
            b["image"].numpy()
            for b in faces.pipeline("lfw", batch_size=100, training=False, image_size=25, augment=False)
        ]
    )
    np.testing.assert_array_equal(images, everything[positions])
