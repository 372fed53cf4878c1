"""CAR-GAN's losses (Duan et al. 2020, Eq. 2-6), one value per example.

Each function returns a `(batch,)` tensor; the trainer averages over the
global batch with `tf.nn.compute_average_loss` and applies the λ weights.

- Eq. 3-4, the vanilla conditional-GAN log loss on PatchGAN logit maps
  (averaged over the patches, as pix2pix's `BCEWithLogitsLoss` does):
  `discriminator_log_loss` is −log D(A, I) − log(1 − D(A, I_fake)), and
  `generator_log_loss` is the usual non-saturating −log D(A, I_fake)
  (pix2pix and the authors' code), not log(1 − D).
- Eq. 6's L1 term: mean absolute pixel difference to the ground truth.
- Eq. 2's classification loss: cross-entropy of C's logits with the audio
  label.
"""

import tensorflow as tf


def _per_example_mean(values):
    values = tf.convert_to_tensor(values)
    return tf.reduce_mean(tf.reshape(values, [tf.shape(values)[0], -1]), axis=1)


def discriminator_log_loss(real_logits, fake_logits):
    """−log σ(real) − log(1 − σ(fake)), each averaged over the patches; `(batch,)`.

    Args:
        real_logits: D's logits on real pairs, `(batch, ...)`.
        fake_logits: D's logits on generated pairs, same shape.
    """
    real = tf.nn.softplus(-tf.cast(real_logits, tf.float32))  # −log σ(x)
    fake = tf.nn.softplus(tf.cast(fake_logits, tf.float32))  # −log(1 − σ(x))
    return _per_example_mean(real) + _per_example_mean(fake)


def real_log_loss(real_logits):
    """−log σ(real), averaged over the patches; `(batch,)`."""
    return _per_example_mean(tf.nn.softplus(-tf.cast(real_logits, tf.float32)))


def fake_log_loss(fake_logits):
    """−log(1 − σ(fake)), averaged over the patches; `(batch,)`."""
    return _per_example_mean(tf.nn.softplus(tf.cast(fake_logits, tf.float32)))


def generator_log_loss(fake_logits):
    """Non-saturating generator loss −log σ(fake), averaged over the patches; `(batch,)`."""
    return real_log_loss(fake_logits)


def l1_distance(target, generated):
    """Mean |target − generated| over pixels and channels; `(batch,)`."""
    return _per_example_mean(tf.abs(tf.cast(target, tf.float32) - tf.cast(generated, tf.float32)))


def label_cross_entropy(labels, logits):
    """Cross-entropy of class `logits` `(batch, K)` with int `labels` `(batch,)`; `(batch,)`."""
    return tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(labels, tf.int32), logits=tf.cast(logits, tf.float32)
    )
