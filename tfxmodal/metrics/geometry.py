"""Geometry-preservation metrics of a translation (Kim et al. 2020, Sec. 3.1.3-3.1.4)."""

import numpy as np
from scipy.spatial.distance import pdist
from scipy.stats import pearsonr


def pairwise_distance_correlation(source, target):
    """PC: Pearson correlation between pairwise L2 distances of two aligned sets.

    Args:
        source: `(n, ds)` source points (face embeddings f(x)).
        target: `(n, dt)` their translations in the target metric (φ(G(f(x)))).

    Returns:
        float in [−1, 1] over the n(n−1)/2 pairs.
    """
    source = np.asarray(source, np.float64)
    target = np.asarray(target, np.float64)
    if len(source) != len(target) or len(source) < 3:
        raise ValueError(
            f"pairwise_distance_correlation: need two aligned sets of >= 3 points, got {len(source)} and {len(target)}"
        )
    return float(pearsonr(pdist(source), pdist(target))[0])


def assign_nearest_cluster(points, cluster_points, cluster_labels):
    """Label of the nearest cluster for each point: `(n,)` int.

    A cluster is all reference points with one label; a point joins the
    cluster whose centroid is nearest (L2). Sec. 3.1.4 assigns each
    translation "based on its closest cluster of real audio samples in the
    audio metric space"; the centroid is our reading of "closest cluster".
    """
    cluster_points = np.asarray(cluster_points, np.float64)
    cluster_labels = np.asarray(cluster_labels)
    labels = np.unique(cluster_labels)
    centroids = np.stack([cluster_points[cluster_labels == label].mean(axis=0) for label in labels])
    distances = np.linalg.norm(np.asarray(points, np.float64)[:, None, :] - centroids[None], axis=-1)
    return labels[np.argmin(distances, axis=1)]


def silhouette_value(points, labels):
    """SV: mean silhouette (Rousseeuw 1987) of `points` `(n, d)` grouped by `labels` `(n,)`.

    In [−1, 1]; 0 when fewer than 2 labels occur (a silhouette needs at least
    two clusters) — the paper's SVs are near 0 for the baseline.
    """
    from sklearn.metrics import silhouette_score  # noqa: PLC0415 — scikit-learn's metrics (a slow import) only for SV

    labels = np.asarray(labels)
    if len(np.unique(labels)) < 2 or len(np.unique(labels)) >= len(labels):
        return 0.0
    return float(silhouette_score(np.asarray(points, np.float64), labels, metric="euclidean"))
