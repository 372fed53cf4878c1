"""Evaluation metrics: FID and IS (GAN fidelity), PC and SV (geometry preservation)."""

from tfxmodal.metrics.gan_scores import frechet_distance, gaussian_statistics, inception_score
from tfxmodal.metrics.geometry import assign_nearest_cluster, pairwise_distance_correlation, silhouette_value

__all__ = [
    "assign_nearest_cluster",
    "frechet_distance",
    "gaussian_statistics",
    "inception_score",
    "pairwise_distance_correlation",
    "silhouette_value",
]
