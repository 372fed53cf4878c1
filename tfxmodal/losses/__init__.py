"""Losses of the two papers, as functions returning per-example or per-batch values."""

from tfxmodal.losses.gan import hinge_discriminator_loss, hinge_generator_loss
from tfxmodal.losses.metric import metric_preservation_loss, pairwise_distance_stats, pairwise_distances
from tfxmodal.losses.triplet import triplet_semihard_loss

__all__ = [
    "hinge_discriminator_loss",
    "hinge_generator_loss",
    "metric_preservation_loss",
    "pairwise_distance_stats",
    "pairwise_distances",
    "triplet_semihard_loss",
]
