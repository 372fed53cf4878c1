"""The CAR-GAN networks of a config: the classifier C, the cascade G1 → C → G2 and the PatchGAN critic D.

The networks themselves are in `tfxmodal.models` (`ImageClassifier`,
`UNetGenerator`, `CARGenerator`, `PatchGANDiscriminator`); this module
builds them as a config asks.
"""

from tfxmodal.car_gan import data
from tfxmodal.domain import NUM_INSTRUMENTS
from tfxmodal.models.car_gan import CARGenerator
from tfxmodal.models.image_classifier import ImageClassifier
from tfxmodal.models.patchgan import PatchGANDiscriminator
from tfxmodal.models.unet import UNetGenerator

NUM_CLASSES = NUM_INSTRUMENTS


def num_downs(image_size):
    """U-Net depth that takes an S×S input to a 1×1 bottleneck (pix2pix: 8 at 256)."""
    return int(image_size).bit_length() - 1


def make_classifier(config, backbone_weights=None):

    classifier = ImageClassifier(
        NUM_CLASSES, config.data.image_size, backbone_weights=backbone_weights, name="classifier"
    )
    classifier.build((None, config.data.image_size, config.data.image_size, 3))
    return classifier


def build_networks(config, classifier):
    """`(CARGenerator, PatchGANDiscriminator)` of `config`, built (call in the strategy scope)."""
    model, size = config.model, config.data.image_size

    def generator(name, seed):
        return UNetGenerator(
            output_channels=3,
            base_filters=model.generator_filters,
            num_downs=num_downs(size),
            attention=model.attention,
            dropout=model.dropout,
            key_channels_divisor=model.key_channels_divisor,
            downsample_keys=model.downsample_keys,
            init_stddev=model.init_stddev,
            seed=seed,
            name=name,
        )

    g1 = generator("g1", config.seed)
    g2 = generator("g2", config.seed + 100) if model.second_stage else None
    cascade = CARGenerator(
        g1,
        classifier,
        g2,
        residue=model.residue,
        num_classes=NUM_CLASSES,
        stage2_sees_lms=model.stage2_sees_lms,
        name="car_generator",
    )
    lms_channels = data.lms_channels(config.data)  # 1 from audio; 3 from the authors' spectrogram pictures
    cascade.build((None, size, size, lms_channels))
    discriminator = PatchGANDiscriminator(
        **model.trunk_arguments(),
        seed=config.seed + 200,
        label_channels=NUM_CLASSES if model.discriminator_labels else 0,
        bounded_output=model.discriminator_tanh,
        projection_classes=NUM_CLASSES if model.discriminator_projection else 0,
        name="discriminator",
    )
    discriminator.build((None, size, size, lms_channels), (None, size, size, 3))
    return cascade, discriminator
