"""DiffAugment of (LMS, image) pairs against NumPy references of each transform."""

import numpy as np
import pytest
import tensorflow as tf

from tfxmodal.layers import DiffAugment
from tfxmodal.layers.diff_augment import augment_pair, colour, cutout_mask, draw_parameters, parse_policy, translate


def numpy_translate(images, shift_y, shift_x):
    out = np.zeros_like(images)
    batch, height, width, _ = images.shape
    for b in range(batch):
        for i in range(height):
            for j in range(width):
                source_i, source_j = i - shift_y[b], j - shift_x[b]
                if 0 <= source_i < height and 0 <= source_j < width:
                    out[b, i, j] = images[b, source_i, source_j]
    return out


def test_translation_shifts_by_the_drawn_amount_with_zero_fill():
    images = np.random.default_rng(0).normal(size=(3, 8, 8, 2)).astype("float32")
    shift_y, shift_x = np.array([1, -2, 0], np.int32), np.array([3, 0, -1], np.int32)
    got = translate(tf.constant(images), tf.constant(shift_y), tf.constant(shift_x)).numpy()
    np.testing.assert_array_equal(got, numpy_translate(images, shift_y, shift_x))
    # Hand-checked corner: example 0 moved down 1, right 3: row 0 and columns 0-2 are zero fill.
    assert np.all(got[0, 0] == 0) and np.all(got[0, :, :3] == 0)
    assert got[0, 1, 3, 0] == images[0, 0, 0, 0]


def test_cutout_zeroes_the_drawn_square_clipped_at_the_border():
    mask = cutout_mask(6, 6, tf.constant([2, 0]), tf.constant([3, 5]), 4, 4).numpy()[..., 0]
    expected = np.ones((2, 6, 6), np.float32)
    expected[0, 0:4, 1:5] = 0  # top-left (2 - 2, 3 - 2)
    expected[1, 0:2, 3:6] = 0  # top-left (-2, 3): clipped
    np.testing.assert_array_equal(mask, expected)


def test_colour_matches_the_reference_formulas():
    images = np.random.default_rng(1).uniform(-1, 1, size=(2, 4, 4, 3)).astype("float32")
    brightness, saturation, contrast = (np.array(v, np.float32) for v in ([0.2, -0.4], [1.5, 0.0], [0.5, 1.2]))
    x = images + brightness[:, None, None, None]
    x = (x - x.mean(3, keepdims=True)) * saturation[:, None, None, None] + x.mean(3, keepdims=True)
    x = (x - x.mean((1, 2, 3), keepdims=True)) * contrast[:, None, None, None] + x.mean((1, 2, 3), keepdims=True)
    got = colour(tf.constant(images), tf.constant(brightness), tf.constant(saturation), tf.constant(contrast))
    np.testing.assert_allclose(got.numpy(), x, atol=1e-6)
    # Saturation 0 leaves grey pixels: the three channels equal.
    np.testing.assert_allclose(got.numpy()[1, ..., 0], got.numpy()[1, ..., 1], atol=1e-6)


def test_the_pair_gets_one_geometric_transform_and_colour_on_the_image_only():
    rng = np.random.default_rng(2)
    lms = rng.normal(size=(4, 16, 16, 1)).astype("float32")
    image = rng.uniform(-1, 1, size=(4, 16, 16, 3)).astype("float32")
    policy = parse_policy("cutout,translation,color")
    assert policy == ("color", "translation", "cutout")
    parameters = draw_parameters(tf.random.Generator.from_seed(3), 4, 16, 16, policy)
    shifts = parameters["shift_y"].numpy(), parameters["shift_x"].numpy()
    assert np.all(np.abs(shifts[0]) <= 2) and np.all(np.abs(shifts[1]) <= 2)  # round(16 / 8)
    got_lms, got_image = augment_pair(tf.constant(lms), tf.constant(image), parameters)
    mask = cutout_mask(16, 16, parameters["cutout_y"], parameters["cutout_x"], 8, 8).numpy()
    np.testing.assert_allclose(got_lms.numpy(), numpy_translate(lms, *shifts) * mask, atol=1e-6)
    coloured = colour(tf.constant(image), parameters["brightness"], parameters["saturation"], parameters["contrast"])
    np.testing.assert_allclose(got_image.numpy(), numpy_translate(coloured.numpy(), *shifts) * mask, atol=1e-6)


def test_the_augmenter_is_seeded_differentiable_and_off_when_empty():
    lms = tf.random.stateless_normal((2, 8, 8, 1), seed=[0, 1])
    image = tf.random.stateless_uniform((2, 8, 8, 3), seed=[0, 2], minval=-1, maxval=1)
    first = DiffAugment("translation,cutout", seed=5)(lms, image)
    second = DiffAugment("translation,cutout", seed=5)(lms, image)
    np.testing.assert_array_equal(first[1].numpy(), second[1].numpy())
    with tf.GradientTape() as tape:
        tape.watch(image)
        total = tf.reduce_sum(DiffAugment("color,translation,cutout", seed=5)(lms, image)[1])
    assert np.any(tape.gradient(total, image).numpy() != 0)
    off = DiffAugment("")
    assert not off and off(lms, image)[1] is image
    with pytest.raises(ValueError, match="unknown"):
        parse_policy("translation,flip")
