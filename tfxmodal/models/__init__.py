"""Networks of the two papers (Keras 3 subclassed models)."""

from tfxmodal.models.audio_encoder import AudioClassifier, AudioConvTrunk, AudioEmbedder
from tfxmodal.models.audio_metric import AudioMetric
from tfxmodal.models.aux_discriminator import AuxDiscriminator
from tfxmodal.models.car_gan import CARGenerator
from tfxmodal.models.face_embedder import EigenfaceEmbedder, FaceEmbedder
from tfxmodal.models.image_classifier import ImageClassifier
from tfxmodal.models.patchgan import PatchGANDiscriminator
from tfxmodal.models.unet import UNetGenerator
from tfxmodal.models.wavegan import WaveGANDiscriminator, WaveGANGenerator

__all__ = [
    "AudioClassifier",
    "AudioConvTrunk",
    "AudioEmbedder",
    "AudioMetric",
    "AuxDiscriminator",
    "CARGenerator",
    "EigenfaceEmbedder",
    "FaceEmbedder",
    "ImageClassifier",
    "PatchGANDiscriminator",
    "UNetGenerator",
    "WaveGANDiscriminator",
    "WaveGANGenerator",
]
