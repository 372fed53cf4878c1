"""The CAR-GAN learning-curve probe on a real (untrained) cascade and mini-URMP/tiny."""

import json

import numpy as np
import pytest

from tests.conftest import TINY_CAR_GAN
from tfxmodal.car_gan.config import CARGANConfig
from tfxmodal.car_gan.networks import build_networks, make_classifier
from tfxmodal.car_gan.probe import CARGANProbe, patchgan_trunk_label_probe, score_split, split_arrays
from tfxmodal.config import parse
from tfxmodal.metrics import frechet_distance


@pytest.mark.parametrize("second_stage", [True, False])
def test_the_probe_scores_c_on_both_stages_fid_and_l1(mini_urmp_tiny_dir, second_stage):
    raw = json.loads(json.dumps(TINY_CAR_GAN))
    raw["data"]["data_dir"] = mini_urmp_tiny_dir
    raw["model"]["second_stage"] = second_stage
    config = parse(CARGANConfig, raw)
    cascade, _ = build_networks(config, make_classifier(config))
    probe = CARGANProbe(cascade, config, "test", max_examples=6)
    metrics, images = probe()
    assert images == {}
    expected = {"l1", "fid_c", "accuracy_stage1"} | ({"accuracy_stage2"} if second_stage else set())
    assert set(metrics) == expected
    logits, features, labels, l1 = score_split(probe.step, config, "test", 6)
    final = "stage2" if second_stage else "stage1"
    assert metrics["fid_c"] == pytest.approx(frechet_distance(features[final], features["real"]))
    assert metrics["l1"] == pytest.approx(l1) and 0 < metrics["l1"] <= 2
    assert metrics["accuracy_stage1"] == pytest.approx(np.mean(np.argmax(logits["stage1"], 1) == labels))
    assert 0 <= probe.references["accuracy_stage2"] <= 1 and len(labels) == 6


def tiny_config(data_dir, **model):
    raw = json.loads(json.dumps(TINY_CAR_GAN))
    raw["data"]["data_dir"] = data_dir
    raw["model"].update(model)
    return parse(CARGANConfig, raw)


def test_the_probe_scores_d_on_real_train_real_test_and_fake_pairs(mini_urmp_tiny_dir):
    config = tiny_config(mini_urmp_tiny_dir)
    cascade, discriminator = build_networks(config, make_classifier(config))
    probe = CARGANProbe(cascade, config, "test", max_examples=6, discriminator=discriminator)
    assert [key for key, _, _ in probe.panels][-3:] == ["d_real_train", "d_real_test", "d_fake"]
    moving = [variable.numpy() for variable in discriminator.non_trainable_variables]
    metrics, _ = probe()
    for variable, value in zip(discriminator.non_trainable_variables, moving):
        np.testing.assert_array_equal(variable.numpy(), value)  # D's moving statistics put back
    test = split_arrays(config, "test", 6)
    # Batch 4 (train.batch_size) of a seeded permutation, with batch statistics, averaged per example.
    order = np.random.default_rng(0).permutation(6)
    expected = []
    for rows in (order[:4], order[4:]):
        logits = discriminator(test["lms"][rows], test["image"][rows], training=True).numpy()
        expected.extend((1 / (1 + np.exp(-logits.reshape(len(rows), -1)))).mean(axis=1))
    assert metrics["d_real_test"] == pytest.approx(float(np.mean(expected)), rel=1e-5)
    assert 0 < metrics["d_real_train"] < 1 and 0 < metrics["d_fake"] < 1


def quadrant_pairs(count, rng):
    """Images whose label (0-3) is the bright quadrant; LMS noise that says nothing about it."""
    labels = rng.integers(0, 4, count).astype(np.int32)
    image = np.full((count, 32, 32, 3), -1.0, np.float32)
    for index, label in enumerate(labels):
        row, col = divmod(int(label), 2)
        image[index, row * 16 : row * 16 + 16, col * 16 : col * 16 + 16] = 1.0
    lms = rng.normal(size=(count, 32, 32, 1)).astype(np.float32)
    return {"lms": lms, "image": image, "label": labels}


def test_the_critic_trunk_probe_learns_a_label_the_image_carries_and_not_from_the_lms_alone(mini_urmp_tiny_dir):
    config = tiny_config(mini_urmp_tiny_dir, discriminator_filters=4)
    rng = np.random.default_rng(0)
    train, test = quadrant_pairs(64, rng), quadrant_pairs(32, rng)
    seen = patchgan_trunk_label_probe(config, train, test, steps=200, inputs="image", learning_rate=2e-3)
    assert seen["inputs"] == "image" and seen["steps"] == 200 and np.isfinite(seen["final_loss"])
    assert seen["test_accuracy"] >= 0.9, seen
    # The LMS alone (image zeroed) carries no label: held-out accuracy near chance (1/4).
    blind = patchgan_trunk_label_probe(config, train, test, steps=200, inputs="lms", learning_rate=2e-3)
    assert blind["test_accuracy"] <= 0.5, blind
    with pytest.raises(ValueError, match="inputs must be one of"):
        patchgan_trunk_label_probe(config, train, test, steps=1, inputs="audio")
