import itertools

import numpy as np
import pytest
from sklearn.metrics import silhouette_score

from tfxmodal.metrics import (
    assign_nearest_cluster,
    frechet_distance,
    inception_score,
    pairwise_distance_correlation,
    silhouette_value,
)


def test_fid_of_a_set_with_itself_is_zero():
    features = np.random.RandomState(0).normal(size=(500, 16))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-8)


def test_fid_grows_with_a_mean_shift_as_the_closed_form_says():
    rng = np.random.RandomState(1)
    features = rng.normal(size=(2000, 8)) @ rng.normal(size=(8, 8))
    for shift in (0.5, 1.0, 2.0):
        delta = np.full(8, shift)
        # Same covariance: FID = |Δμ|² exactly.
        assert frechet_distance(features, features + delta) == pytest.approx(8 * shift**2, rel=1e-6)


def test_fid_matches_the_gaussian_closed_form_for_scaled_covariance():
    rng = np.random.RandomState(2)
    a = rng.normal(size=(4000, 4))
    b = 3.0 * a
    cov_a = np.cov(a, rowvar=False)
    # Σb = 9 Σa: Tr(Σa + 9Σa − 2·3Σa) = 4 Tr(Σa); means are ~0 and scale too.
    expected = np.sum((a.mean(0) - b.mean(0)) ** 2) + 4 * np.trace(cov_a)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)


def test_fid_is_finite_with_fewer_samples_than_dimensions():
    rng = np.random.RandomState(3)
    value = frechet_distance(rng.normal(size=(10, 64)), rng.normal(size=(12, 64)))
    assert np.isfinite(value) and value > 0


def test_inception_score_bounds():
    assert inception_score(np.full((100, 10), 0.1)) == pytest.approx(1.0)
    same_class = np.tile(np.eye(10)[3], (50, 1))
    assert inception_score(same_class) == pytest.approx(1.0)
    confident_balanced = np.tile(np.eye(10), (20, 1)) * 0.999 + 0.0001
    assert inception_score(confident_balanced) == pytest.approx(10.0, rel=0.02)
    mean, std = inception_score(np.tile(np.eye(5), (40, 1)), splits=4)
    assert mean == pytest.approx(5.0, rel=1e-6) and std == pytest.approx(0.0, abs=1e-9)


def test_inception_score_rejects_non_distributions():
    with pytest.raises(ValueError, match="probability distributions"):
        inception_score(np.full((4, 3), 0.5))


def test_pc_matches_scipy_pearson_on_pairwise_distances():
    rng = np.random.RandomState(4)
    source = rng.normal(size=(30, 5))
    target = np.concatenate([2 * source, rng.normal(size=(30, 3))], axis=1)
    pairs = list(itertools.combinations(range(30), 2))
    ds = [np.linalg.norm(source[i] - source[j]) for i, j in pairs]
    dt = [np.linalg.norm(target[i] - target[j]) for i, j in pairs]
    assert pairwise_distance_correlation(source, target) == pytest.approx(np.corrcoef(ds, dt)[0, 1], rel=1e-10)
    assert pairwise_distance_correlation(source, 3 * source) == pytest.approx(1.0)


def test_sv_matches_scikit_learn_and_handles_one_cluster():
    rng = np.random.RandomState(5)
    points = np.concatenate([rng.normal(0, 1, (20, 3)), rng.normal(5, 1, (20, 3))])
    labels = np.repeat([0, 1], 20)
    assert silhouette_value(points, labels) == pytest.approx(silhouette_score(points, labels))
    assert silhouette_value(points, labels) > 0.5
    assert silhouette_value(points, np.zeros(40)) == 0.0


def test_nearest_cluster_assignment():
    references = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 10.0], [10.0, 11.0]])
    labels = np.array([3, 3, 7, 7])
    queries = np.array([[1.0, 0.5], [9.0, 9.0], [5.4, 5.6]])
    np.testing.assert_array_equal(assign_nearest_cluster(queries, references, labels), [3, 7, 7])
