"""CAR-GAN's options for the authors' released setup: their schedule and their preset."""

import pathlib

import pytest
import tensorflow as tf
import yaml

from tfxmodal.car_gan.config import CARGANConfig
from tfxmodal.car_gan.networks import NUM_CLASSES, build_networks, make_classifier
from tfxmodal.car_gan.run import CARGANRun, linear_decay
from tfxmodal.config import parse
from tfxmodal.errors import ConfigError

CONFIGS = pathlib.Path(__file__).resolve().parents[2] / "configs"


def test_the_authors_linear_decay_follows_their_per_epoch_rule():
    """pix2pix's lambda_rule: 1 − max(0, epoch − n_epochs) / (n_epochs_decay + 1), per epoch."""
    per_epoch, constant, decay = 5, 4, 3
    schedule = linear_decay(8e-4, (constant + decay) * per_epoch, decay, per_epoch)
    for step in range((constant + decay) * per_epoch):
        epoch = step // per_epoch
        expected = 8e-4 * (1 - max(0, epoch - constant) / (decay + 1))
        assert float(schedule(step)) == pytest.approx(expected, rel=1e-6), step
    assert linear_decay(8e-4, 100, 0, 5) == 8e-4


def test_the_authors_preset_is_their_released_setup(tmp_path):
    """configs/car_gan_authors.yaml against tuffr5/CAR-GAN's ltrain.sh and options/*.py."""
    with open(CONFIGS / "car_gan_authors.yaml", encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    assert raw["data"]["source"] == "sub_urmp"
    raw["data"]["root"] = str(tmp_path)  # the preset names a placeholder path
    config = parse(CARGANConfig, raw)
    assert config.data.image_size == 128  # unet_128, load_size = crop_size = 128
    assert (config.model.generator_filters, config.model.discriminator_filters) == (64, 2)  # --ngf 64 --ndf 2
    assert config.train.batch_size == 4 and (config.train.epochs, config.train.decay_epochs) == (200, 100)
    assert (config.train.learning_rate, config.train.beta_1) == (8e-4, 0.9)
    assert config.train.discriminator_first and config.loss.discriminator_real_once
    assert config.model.stage2_sees_lms and config.model.discriminator_labels and config.model.discriminator_tanh
    defaults = parse(CARGANConfig, {"task": "car_gan"})
    assert not (defaults.train.discriminator_first or defaults.loss.discriminator_real_once)
    assert not (
        defaults.model.stage2_sees_lms or defaults.model.discriminator_labels or defaults.model.discriminator_tanh
    )


def test_the_switches_reach_the_networks():
    switches = {"stage2_sees_lms": True, "discriminator_labels": True, "discriminator_tanh": True}
    config = parse(
        CARGANConfig,
        {
            "task": "car_gan",
            "data": {"source": "mini_urmp", "image_size": 32},
            "model": {"generator_filters": 2, "discriminator_filters": 2, **switches},
        },
    )
    cascade, discriminator = build_networks(config, make_classifier(config))
    assert cascade.stage2_sees_lms and cascade.g2.weights[0].shape[-2] == 3 + 1 + NUM_CLASSES
    assert discriminator.label_channels == NUM_CLASSES and discriminator.bounded_output
    plain, plain_d = build_networks(
        parse(
            CARGANConfig,
            {
                "task": "car_gan",
                "data": {"source": "mini_urmp", "image_size": 32},
                "model": {"generator_filters": 2, "discriminator_filters": 2},
            },
        ),
        make_classifier(config),
    )
    assert (
        plain.g2.weights[0].shape[-2] == 3 + NUM_CLASSES and plain_d.label_channels == 0 and not plain_d.bounded_output
    )


def test_the_conditioning_departures_default_to_the_paper_and_reach_the_trainer(tmp_path):
    """train.diff_augment (Zhao et al. 2020), model.discriminator_projection (Miyato & Koyama 2018),
    train.classifier_augment (Olah et al. 2017) and loss.mismatched_pairs (Reed et al. 2016): off by default."""
    defaults = parse(CARGANConfig, {"task": "car_gan"})
    assert defaults.train.diff_augment == "" and not defaults.model.discriminator_projection
    assert defaults.train.classifier_augment == "" and defaults.loss.mismatched_pairs == 0
    with open(CONFIGS / "car_gan_paper.yaml", encoding="utf-8") as handle:
        paper = yaml.safe_load(handle)
    assert not {"diff_augment", "classifier_augment"} & set(paper["train"])
    assert "discriminator_projection" not in paper["model"] and "mismatched_pairs" not in paper.get("loss", {})
    raw = {
        "task": "car_gan",
        "data": {"source": "mini_urmp", "image_size": 32},
        "model": {"generator_filters": 2, "discriminator_filters": 2, "discriminator_projection": True},
        "train": {"diff_augment": "translation,cutout", "classifier_augment": "translation"},
        "loss": {"mismatched_pairs": 0.5},
    }
    config = parse(CARGANConfig, raw)
    config.validate()
    _, discriminator = build_networks(config, make_classifier(config))
    assert discriminator.projection_classes == NUM_CLASSES
    gan = CARGANRun(config, str(tmp_path)).build_gan(tf.distribute.get_strategy(), make_classifier(config))
    assert gan.augment.policy == ("translation", "cutout") and gan.classifier_augment.policy == ("translation",)
    assert gan.loss_weights.mismatched_pairs == 0.5 and "d_mismatched" in gan.loss_names()
    for key in ("diff_augment", "classifier_augment"):
        with pytest.raises(ConfigError, match=f"train.{key}"):
            parse(CARGANConfig, dict(raw, train={key: "flip"})).validate()
