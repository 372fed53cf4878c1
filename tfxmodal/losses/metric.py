"""Distance-preservation loss (Kim et al. 2020, Eq. 4; Benaim & Wolf 2017)."""

import numpy as np
import tensorflow as tf

# Below this squared distance the square root's gradient would blow up.
_MIN_SQUARED_DISTANCE = 1e-12


def pairwise_distances(points):
    """L2 distances between all rows: `(n, dim)` → `(n, n)`.

    The square root is clamped away from 0 so that identical rows (the
    diagonal, duplicated inputs) give a finite gradient.
    """
    points = tf.convert_to_tensor(points)
    squared_norms = tf.reduce_sum(tf.square(points), axis=1)
    squared = squared_norms[:, None] + squared_norms[None, :] - 2.0 * tf.matmul(points, points, transpose_b=True)
    return tf.sqrt(tf.maximum(squared, _MIN_SQUARED_DISTANCE))


def _upper_triangle(matrix):
    n = tf.shape(matrix)[0]
    rows, cols = tf.meshgrid(tf.range(n), tf.range(n), indexing="ij")
    return tf.boolean_mask(matrix, rows < cols)


def metric_preservation_loss(source, target, source_stats, target_stats):
    """Mean |standardized source distance − standardized target distance| over pairs i < j.

    Eq. 4: `(1/Z) Σ_{i<j} |(‖f(x_i) − f(x_j)‖ − μx)/σx − (‖φ(y_i) − φ(y_j)‖ − μy)/σy|`
    with Z = n(n−1)/2 pairs of the batch.

    Args:
        source: `(n, dx)` source embeddings f(x) (face embeddings).
        target: `(n, dy)` target features φ(y) of their translations.
        source_stats: `(μx, σx)`, mean and std of pairwise source distances
            over the source dataset.
        target_stats: `(μy, σy)`, the same over the target dataset.

    Returns:
        Scalar float32.
    """
    mu_x, sigma_x = source_stats
    mu_y, sigma_y = target_stats
    source_d = _upper_triangle(pairwise_distances(source))
    target_d = _upper_triangle(pairwise_distances(target))
    standardized = (source_d - mu_x) / sigma_x - (target_d - mu_y) / sigma_y
    return tf.reduce_mean(tf.abs(standardized))


def pairwise_distance_stats(points, max_points=None, seed=0, block=1024):
    """`(mean, std)` of the L2 distances over all pairs i < j of `points` `(n, dim)`.

    Exact over all pairs (computed in blocks); with `max_points`, over a
    seeded random subset of that many rows.
    """
    points = np.asarray(points, np.float64)
    if max_points is not None and len(points) > max_points:
        points = points[np.random.default_rng(seed).choice(len(points), max_points, replace=False)]
    n = len(points)
    if n < 2:
        raise ValueError(f"pairwise_distance_stats: need at least 2 points, got {n}")
    squared = np.sum(points**2, axis=1)
    total = total_sq = 0.0
    for start in range(0, n, block):
        rows = points[start : start + block]
        d2 = squared[start : start + block, None] + squared[None, :] - 2.0 * rows @ points.T
        d = np.sqrt(np.maximum(d2, 0.0))
        upper = np.arange(start, start + len(rows))[:, None] < np.arange(n)[None, :]
        total += d[upper].sum()
        total_sq += (d[upper] ** 2).sum()
    pairs = n * (n - 1) / 2
    mean = total / pairs
    return float(mean), float(np.sqrt(max(total_sq / pairs - mean**2, 0.0)))
