"""Differentiable augmentation of a critic's inputs (DiffAugment; Zhao, Liu, Lin, Zhu, Han 2020, NeurIPS).

"Differentiable Augmentation for Data-Efficient GAN Training" augments
every image the discriminator sees — real and generated alike, in the
discriminator's step and in the generator's — with transforms the
generator's gradient passes through, so that a small training set is not
memorised by D. Their policy `color,translation,cutout` (reference code
`DiffAugment_tf.py`), reproduced here for (LMS, image) pairs:

- `translation`: each example shifted by integers (dy, dx) drawn
  uniformly in [−r, r], r = round(ratio · side) (ratio 1/8), zero fill;
- `cutout`: a square of side round(ratio · side) (ratio 1/2), centred at
  a uniform pixel, set to zero (clipped at the borders);
- `color`: on the image's channels only, brightness x + U(−½, ½), then
  saturation (x − channel mean) · U(0, 2) + channel mean, then contrast
  (x − image mean) · U(½, 3⁄2) + image mean.

For a pair, the geometric transforms (translation, cutout) are the same
on both halves, so the pixel correspondence between the LMS and the image
that a conditional critic judges is kept.

Randomness comes from a `tf.random.Generator` (one per trainer, made in
its strategy scope): Keras seed generators would draw the same values on
every replica (DESIGN.md, GAN pitfall 5).
"""

import tensorflow as tf

POLICIES = ("color", "translation", "cutout")
TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def parse_policy(policy):
    """`"color,translation"` → `("color", "translation")` in `POLICIES` order; `""` → `()`."""
    names = [name.strip() for name in (policy or "").split(",") if name.strip()]
    unknown = sorted(set(names) - set(POLICIES))
    if unknown:
        raise ValueError(f"DiffAugment policy: unknown {unknown}; expected a comma-separated subset of {POLICIES}")
    return tuple(name for name in POLICIES if name in names)


def draw_parameters(
    generator, batch, height, width, policy, translation_ratio=TRANSLATION_RATIO, cutout_ratio=CUTOUT_RATIO
):
    """The random draws of one augmentation of a batch, per example.

    Args:
        generator: `tf.random.Generator`.
        batch, height, width: the batch's shape (batch may be a tensor).
        policy: tuple of names in `POLICIES` (`parse_policy`).

    Returns:
        dict of tensors of shape `(batch,)`: `brightness` in [−½, ½),
        `saturation` in [0, 2), `contrast` in [½, 3⁄2) (with "color");
        int32 `shift_y`, `shift_x` in [−r, r] (with "translation"); int32
        `cutout_y` in [0, height), `cutout_x` in [0, width) (the square's
        centre, with "cutout").
    """
    parameters = {}
    if "color" in policy:
        parameters["brightness"] = generator.uniform([batch], -0.5, 0.5)
        parameters["saturation"] = generator.uniform([batch], 0.0, 2.0)
        parameters["contrast"] = generator.uniform([batch], 0.5, 1.5)
    if "translation" in policy:
        shift_y, shift_x = int(height * translation_ratio + 0.5), int(width * translation_ratio + 0.5)
        parameters["shift_y"] = generator.uniform([batch], -shift_y, shift_y + 1, dtype=tf.int32)
        parameters["shift_x"] = generator.uniform([batch], -shift_x, shift_x + 1, dtype=tf.int32)
    if "cutout" in policy:
        parameters["cutout_y"] = generator.uniform([batch], 0, height, dtype=tf.int32)
        parameters["cutout_x"] = generator.uniform([batch], 0, width, dtype=tf.int32)
    return parameters


def colour(images, brightness, saturation, contrast):
    """DiffAugment's colour transforms of `(batch, H, W, C)` images, factors `(batch,)` each."""
    x = images + brightness[:, None, None, None]
    mean = tf.reduce_mean(x, axis=3, keepdims=True)
    x = (x - mean) * saturation[:, None, None, None] + mean
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * contrast[:, None, None, None] + mean


def translate(images, shift_y, shift_x):
    """`images` `(batch, H, W, C)` moved down by `shift_y` and right by `shift_x` pixels `(batch,)`; zero fill.

    `out[b, i, j] = images[b, i − shift_y[b], j − shift_x[b]]` where that
    pixel exists, else 0.
    """
    height, width = tf.shape(images)[1], tf.shape(images)[2]
    rows = tf.range(height)[None, :] - shift_y[:, None]  # (batch, H)
    cols = tf.range(width)[None, :] - shift_x[:, None]  # (batch, W)
    inside_rows = tf.cast((rows >= 0) & (rows < height), images.dtype)
    inside_cols = tf.cast((cols >= 0) & (cols < width), images.dtype)
    x = tf.gather(images, tf.clip_by_value(rows, 0, height - 1), axis=1, batch_dims=1)
    x = tf.gather(x, tf.clip_by_value(cols, 0, width - 1), axis=2, batch_dims=1)
    return x * inside_rows[:, :, None, None] * inside_cols[:, None, :, None]


def cutout_mask(height, width, centre_y, centre_x, size_y, size_x, dtype=tf.float32):
    """`(batch, H, W, 1)`: 0 inside the square of `size_y × size_x` whose top-left is `centre − size // 2`, else 1."""
    top, left = centre_y - size_y // 2, centre_x - size_x // 2
    rows = tf.range(height)[None, :]
    cols = tf.range(width)[None, :]
    in_rows = (rows >= top[:, None]) & (rows < top[:, None] + size_y)
    in_cols = (cols >= left[:, None]) & (cols < left[:, None] + size_x)
    inside = in_rows[:, :, None] & in_cols[:, None, :]
    return tf.cast(~inside, dtype)[..., None]


def augment_pair(lms, image, parameters, cutout_ratio=CUTOUT_RATIO):
    """Applies one drawing of `draw_parameters` to an (LMS, image) pair batch.

    Args:
        lms: `(batch, S, S, C_A)`; image: `(batch, S, S, 3)`.
        parameters: from `draw_parameters` (its keys say which transforms).
        cutout_ratio: the cut square's side as a fraction of the side.

    Returns:
        `(lms, image)` augmented: colour on the image only, translation and
        cutout the same on both.
    """
    if "brightness" in parameters:
        image = colour(image, parameters["brightness"], parameters["saturation"], parameters["contrast"])
    channels = lms.shape[-1]
    x = tf.concat([lms, tf.cast(image, lms.dtype)], axis=-1)
    if "shift_y" in parameters:
        x = translate(x, parameters["shift_y"], parameters["shift_x"])
    if "cutout_y" in parameters:
        height, width = x.shape[1], x.shape[2]
        size_y, size_x = int(height * cutout_ratio + 0.5), int(width * cutout_ratio + 0.5)
        x = x * cutout_mask(height, width, parameters["cutout_y"], parameters["cutout_x"], size_y, size_x, x.dtype)
    return x[..., :channels], x[..., channels:]


class DiffAugment:
    """DiffAugment of (LMS, image) pairs with its own random generator (module docstring).

    Args:
        policy: comma-separated subset of "color,translation,cutout" (the
            paper's full policy); "" is the identity.
        seed: seed of the `tf.random.Generator` (create the object in the
            strategy scope).
        translation_ratio: largest shift as a fraction of the side (1/8).
        cutout_ratio: the cut square's side as a fraction of the side (1/2).

    Call arguments:
        lms: float32 `(batch, S, S, C_A)`; image: float32 `(batch, S, S, 3)`.

    Returns:
        `(lms, image)`, freshly augmented on every call; differentiable in both.
    """

    def __init__(self, policy, seed=0, translation_ratio=TRANSLATION_RATIO, cutout_ratio=CUTOUT_RATIO):
        self.policy = parse_policy(policy)
        self.translation_ratio = float(translation_ratio)
        self.cutout_ratio = float(cutout_ratio)
        self.generator = tf.random.Generator.from_seed(seed)

    def __bool__(self):
        return bool(self.policy)

    def images(self, image):
        """The augmentation of images alone, `(batch, S, S, C)` → same shape (a fresh draw per call)."""
        return self(image[..., :0], image)[1]

    def __call__(self, lms, image):
        if not self.policy:
            return lms, image
        parameters = draw_parameters(
            self.generator,
            tf.shape(image)[0],
            image.shape[1],
            image.shape[2],
            self.policy,
            self.translation_ratio,
            self.cutout_ratio,
        )
        return augment_pair(lms, image, parameters, cutout_ratio=self.cutout_ratio)
