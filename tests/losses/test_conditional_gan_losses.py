"""CAR-GAN's losses against NumPy and hand values."""

import numpy as np
import pytest

from tfxmodal.losses.conditional_gan import (
    discriminator_log_loss,
    fake_log_loss,
    generator_log_loss,
    l1_distance,
    label_cross_entropy,
    real_log_loss,
)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


@pytest.fixture
def logit_maps():
    rng = np.random.RandomState(0)
    return rng.normal(scale=2, size=(3, 4, 4, 1)).astype("float32"), rng.normal(scale=2, size=(3, 4, 4, 1)).astype(
        "float32"
    )


def test_discriminator_log_loss_is_the_patch_mean_binary_cross_entropy(logit_maps):
    real, fake = logit_maps
    expected = -np.log(sigmoid(real)).mean(axis=(1, 2, 3)) - np.log(1 - sigmoid(fake)).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(discriminator_log_loss(real, fake), expected, rtol=1e-5)
    np.testing.assert_allclose(real_log_loss(real) + fake_log_loss(fake), expected, rtol=1e-5)


def test_generator_log_loss_is_non_saturating(logit_maps):
    _, fake = logit_maps
    np.testing.assert_allclose(generator_log_loss(fake), -np.log(sigmoid(fake)).mean(axis=(1, 2, 3)), rtol=1e-5)
    # Hand values: D certain the fake is fake (logit -30) gives a large loss, not a vanishing one.
    assert float(generator_log_loss(np.full((1, 2, 2, 1), -30.0, "float32"))[0]) == pytest.approx(30.0, rel=1e-6)
    assert float(generator_log_loss(np.zeros((1, 2, 2, 1), "float32"))[0]) == pytest.approx(np.log(2), rel=1e-6)


def test_l1_distance_per_example():
    target = np.zeros((2, 2, 2, 3), "float32")
    generated = np.zeros_like(target)
    generated[0] = 0.5
    generated[1, 0, 0, 0] = -1.2  # one of 12 values
    np.testing.assert_allclose(l1_distance(target, generated), [0.5, 0.1], rtol=1e-6)


def test_label_cross_entropy_against_numpy():
    rng = np.random.RandomState(1)
    logits = rng.normal(scale=3, size=(4, 13)).astype("float32")
    labels = np.array([0, 12, 3, 3])
    log_softmax = (
        logits
        - np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1, keepdims=True))
        - logits.max(1, keepdims=True)
    )
    np.testing.assert_allclose(label_cross_entropy(labels, logits), -log_softmax[np.arange(4), labels], rtol=1e-5)
