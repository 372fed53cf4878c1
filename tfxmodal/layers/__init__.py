"""Keras 3 layers of the two papers: spectral norm, conditioning, phase shuffle, attention, transposed 1-D convolution."""

from tfxmodal.layers.conditional_batch_norm import ConditionalBatchNorm
from tfxmodal.layers.diff_augment import DiffAugment as DiffAugment
from tfxmodal.layers.phase_shuffle import PhaseShuffle
from tfxmodal.layers.projection_head import ProjectionHead
from tfxmodal.layers.self_attention import SelfAttention2D
from tfxmodal.layers.spectral_normalization import SpectralNormalization
from tfxmodal.layers.transposed_conv1d import MatmulConv1DTranspose

__all__ = [
    "ConditionalBatchNorm",
    "MatmulConv1DTranspose",
    "PhaseShuffle",
    "ProjectionHead",
    "SelfAttention2D",
    "SpectralNormalization",
]
