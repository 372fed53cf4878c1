"""Keras 3 layers of the two papers: spectral norm, conditioning, phase shuffle, attention."""

from tfxmodal.layers.conditional_batch_norm import ConditionalBatchNorm
from tfxmodal.layers.phase_shuffle import PhaseShuffle
from tfxmodal.layers.projection_head import ProjectionHead
from tfxmodal.layers.self_attention import SelfAttention2D
from tfxmodal.layers.spectral_normalization import SpectralNormalization

__all__ = [
    "ConditionalBatchNorm",
    "PhaseShuffle",
    "ProjectionHead",
    "SelfAttention2D",
    "SpectralNormalization",
]
