"""Face augmentation."""

import numpy as np
import tensorflow as tf

from tests.support.image_files import noise
from tfxmodal.data.faces.augment import augment_faces


def test_augment_faces_flip_only_and_full():
    images = np.stack([noise(16, 16, seed=s).astype(np.float32) for s in range(64)])
    seed = tf.constant([7, 1], tf.int64)
    flipped = augment_faces(
        images,
        seed,
        max_translation=0.0,
        max_zoom=0.0,
        max_brightness=0.0,
        contrast_range=(1.0, 1.0),
    ).numpy()
    same = np.all(np.isclose(flipped, images, atol=1e-3), axis=(1, 2, 3))
    mirrored = np.all(np.isclose(flipped, images[:, :, ::-1], atol=1e-3), axis=(1, 2, 3))
    assert (same | mirrored).all() and 10 < mirrored.sum() < 54
    full = augment_faces(images, seed).numpy()
    np.testing.assert_array_equal(full, augment_faces(images, seed).numpy())
    assert not np.array_equal(full, augment_faces(images, tf.constant([7, 2], tf.int64)).numpy())
    assert full.shape == images.shape and full.min() >= 0.0 and full.max() <= 255.0
