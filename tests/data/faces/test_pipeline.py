"""The face pipeline: batching, augmentation, sharding over input pipelines and replicas."""

import numpy as np
import pytest
import tensorflow as tf

from tests.support.face_trees import collect
from tfxmodal.data.faces.pipeline import pipeline as face_pipeline
from tfxmodal.data.faces.sources import identity_folders, lfw_faces


def test_lfw_pipeline_batches_augments_deterministically_and_evaluates_plainly():
    first = [next(iter(face_pipeline("lfw", batch_size=16, image_size=32, seed=3)))["image"].numpy() for _ in range(2)]
    np.testing.assert_array_equal(first[0], first[1])  # seeded: a rebuilt pipeline repeats itself
    other = next(iter(face_pipeline("lfw", batch_size=16, image_size=32, seed=4)))["image"].numpy()
    assert not np.array_equal(first[0], other)
    assert first[0].shape == (16, 32, 32, 3) and first[0].min() >= 0.0 and first[0].max() <= 255.0
    batches = collect(face_pipeline("lfw", batch_size=32, training=False, image_size=32))
    assert [len(b["image"]) for b in batches] == [32, 32, 32, 4]  # eval keeps the remainder
    plain = np.stack([e["image"] for e in collect(lfw_faces(32))])
    np.testing.assert_array_equal(np.concatenate([b["image"] for b in batches]), plain)
    # Training batches are augmented: none equals its un-augmented face.
    distances = np.abs(first[0][:, None] - plain[None]).mean(axis=(2, 3, 4)).min(axis=1)
    assert (distances > 0.5).all()


def test_sharding_splits_files_disjointly_and_strategy_gets_per_replica_batches(identity_tree, two_cpu_strategy):
    shards = []
    for pipeline_id in range(2):
        context = tf.distribute.InputContext(
            num_input_pipelines=2, input_pipeline_id=pipeline_id, num_replicas_in_sync=2
        )
        shards.append(collect(identity_folders(identity_tree, image_size=8, input_context=context)))
    assert [len(s) for s in shards] == [4, 3]
    everything = collect(identity_folders(identity_tree, image_size=8))
    merged = [e for pair in zip(shards[0], shards[1] + [None]) for e in pair if e is not None]
    for a, b in zip(merged, everything):
        np.testing.assert_array_equal(a["image"], b["image"])
    distributed = two_cpu_strategy.distribute_datasets_from_function(
        lambda context: face_pipeline("lfw", batch_size=8, image_size=16, input_context=context)
    )
    batch = next(iter(distributed))
    local = two_cpu_strategy.experimental_local_results(batch["image"])
    assert [tuple(part.shape) for part in local] == [(4, 16, 16, 3), (4, 16, 16, 3)]


def test_pipeline_rejects_unknown_source():
    with pytest.raises(ValueError, match="source='celeba'"):
        face_pipeline("celeba")
