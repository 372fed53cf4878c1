"""Face augmentation in the graph: random crops, flips and colour jitter of `(S, S, 3)` images in [0, 255]."""

import tensorflow as tf

# --- augmentation and pipelines ---------------------------------------------


def augment_faces(
    images,
    seed,
    max_translation=0.08,
    max_zoom=0.1,
    max_brightness=0.1,
    contrast_range=(0.8, 1.25),
):
    """Training augmentation for a batch of faces, one random draw per image.

    Random horizontal flip (p = 0.5), zoom about the centre by a factor in
    [1 - max_zoom, 1 + max_zoom] with a shift of up to ±max_translation of
    the side (reflect padding), brightness shift up to ±max_brightness × 255
    and contrast factor in `contrast_range` (about each image's channel
    means); then clipped to [0, 255]. Stateless: the same `seed` gives the
    same result, and it runs in parallel `tf.data` maps deterministically.

    Args:
        images: float32 `(batch, height, width, 3)` in [0, 255].
        seed: int tensor of shape (2,).

    Returns:
        float32 `(batch, height, width, 3)` in [0, 255].
    """
    images = tf.convert_to_tensor(images, tf.float32)
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    u = tf.random.stateless_uniform([batch, 6], seed=seed)
    flip = u[:, 0] < 0.5
    images = tf.where(flip[:, None, None, None], tf.reverse(images, axis=[2]), images)

    zoom = 1.0 + (2.0 * u[:, 1] - 1.0) * max_zoom
    h = tf.cast(height, tf.float32)
    w = tf.cast(width, tf.float32)
    shift_x = (2.0 * u[:, 2] - 1.0) * max_translation * w
    shift_y = (2.0 * u[:, 3] - 1.0) * max_translation * h
    # The transform maps each output pixel to the input pixel it samples:
    # x_in = (x_out - c) / zoom + c - shift, so zoom > 1 magnifies.
    cx, cy = (w - 1.0) / 2.0, (h - 1.0) / 2.0
    inverse = 1.0 / zoom
    zeros = tf.zeros_like(zoom)
    transforms = tf.stack(
        [
            inverse,
            zeros,
            cx - cx * inverse - shift_x,
            zeros,
            inverse,
            cy - cy * inverse - shift_y,
            zeros,
            zeros,
        ],
        axis=1,
    )
    images = tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.stack([height, width]),
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="REFLECT",
    )

    brightness = (2.0 * u[:, 4] - 1.0) * max_brightness * 255.0
    low, high = contrast_range
    contrast = low + u[:, 5] * (high - low)
    mean = tf.reduce_mean(images, axis=[1, 2], keepdims=True)
    images = (images - mean) * contrast[:, None, None, None] + mean + brightness[:, None, None, None]
    return tf.clip_by_value(images, 0.0, 255.0)
