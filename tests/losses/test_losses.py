import itertools

import numpy as np
import pytest
import tensorflow as tf

from tfxmodal.losses import (
    hinge_discriminator_loss,
    hinge_generator_loss,
    metric_preservation_loss,
    pairwise_distance_stats,
    pairwise_distances,
    triplet_semihard_loss,
)


def test_hinge_losses_by_hand():
    real = np.array([[2.0], [0.5], [-1.0]], "float32")
    fake = np.array([[-2.0], [0.0], [3.0]], "float32")
    # relu(1 - real) + relu(1 + fake): [0 + 0, 0.5 + 1, 2 + 4]
    np.testing.assert_allclose(hinge_discriminator_loss(real, fake), [0.0, 1.5, 6.0])
    np.testing.assert_allclose(hinge_generator_loss(fake), [2.0, 0.0, -3.0])


def numpy_metric_loss(source, target, source_stats, target_stats):
    terms = []
    for i, j in itertools.combinations(range(len(source)), 2):
        dx = np.linalg.norm(source[i] - source[j])
        dy = np.linalg.norm(target[i] - target[j])
        terms.append(abs((dx - source_stats[0]) / source_stats[1] - (dy - target_stats[0]) / target_stats[1]))
    return np.mean(terms)


def test_metric_preservation_loss_matches_numpy():
    rng = np.random.RandomState(0)
    source = rng.normal(size=(7, 512)).astype("float32")
    target = rng.normal(size=(7, 505)).astype("float32")
    stats = ((31.0, 1.5), (30.5, 2.0))
    expected = numpy_metric_loss(source, target, *stats)
    assert float(metric_preservation_loss(source, target, *stats)) == pytest.approx(expected, rel=1e-4)


def test_metric_loss_is_zero_for_an_affine_match_and_has_finite_gradients():
    rng = np.random.RandomState(1)
    source = rng.normal(size=(5, 4)).astype("float32")
    # Target distances are 3x the source ones: standardization makes them equal.
    target = tf.Variable(np.concatenate([3 * source, source[:1].repeat(5, 0) * 0], axis=1))
    source_stats = (2.0, 0.5)
    target_stats = (6.0, 1.5)
    with tf.GradientTape() as tape:
        loss = metric_preservation_loss(source, target, source_stats, target_stats)
    assert float(loss) == pytest.approx(0.0, abs=1e-5)
    duplicated = tf.Variable(np.repeat(source[:2], 2, axis=0))
    with tf.GradientTape() as tape:
        loss = metric_preservation_loss(source[:4], duplicated, source_stats, target_stats)
    assert np.all(np.isfinite(tape.gradient(loss, duplicated).numpy()))


def test_pairwise_distances_match_numpy():
    points = np.random.RandomState(2).normal(size=(6, 3))
    expected = np.linalg.norm(points[:, None] - points[None], axis=-1)
    np.testing.assert_allclose(pairwise_distances(points), expected, atol=1e-5)


def test_pairwise_distance_stats_match_brute_force():
    points = np.random.RandomState(3).normal(size=(40, 5))
    distances = [np.linalg.norm(a - b) for a, b in itertools.combinations(points, 2)]
    mean, std = pairwise_distance_stats(points, block=7)
    assert mean == pytest.approx(np.mean(distances), rel=1e-9)
    assert std == pytest.approx(np.std(distances), rel=1e-6)
    subset_mean, _ = pairwise_distance_stats(points, max_points=20, seed=1)
    assert subset_mean != mean and subset_mean == pytest.approx(mean, rel=0.2)
    with pytest.raises(ValueError, match="at least 2"):
        pairwise_distance_stats(points[:1])


def numpy_triplet_semihard(labels, embeddings, margin):
    d = np.linalg.norm(embeddings[:, None] - embeddings[None], axis=-1)
    losses = []
    for a, p in itertools.permutations(range(len(labels)), 2):
        if labels[a] != labels[p]:
            continue
        negatives = [n for n in range(len(labels)) if labels[n] != labels[a]]
        if not negatives:
            continue
        farther = [d[a, n] for n in negatives if d[a, n] > d[a, p]]
        chosen = min(farther) if farther else max(d[a, n] for n in negatives)
        losses.append(max(d[a, p] - chosen + margin, 0.0))
    return np.mean(losses) if losses else 0.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_triplet_semihard_matches_brute_force(seed):
    rng = np.random.RandomState(seed)
    labels = rng.randint(0, 3, size=10)
    embeddings = rng.normal(size=(10, 4))
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    expected = numpy_triplet_semihard(labels, embeddings, 1.0)
    actual = float(triplet_semihard_loss(labels, embeddings.astype("float32"), margin=1.0))
    assert actual == pytest.approx(expected, rel=1e-4, abs=1e-6)


def test_triplet_degenerate_batches_give_zero():
    one_label = triplet_semihard_loss(np.zeros(4), np.eye(4, dtype="float32"))
    all_distinct = triplet_semihard_loss(np.arange(4), np.eye(4, dtype="float32"))
    assert float(one_label) == 0.0 and float(all_distinct) == 0.0
