"""Hinge adversarial losses (Kim et al. 2020, Eq. 2-3 and 7-8; Miyato et al. 2018)."""

import tensorflow as tf


def hinge_discriminator_loss(real_scores, fake_scores):
    """Per-example `relu(1 − D(y)) + relu(1 + D(G(z)))`, shape `(batch,)`.

    Minimizing it maximizes Eq. 2's `E[min(0, −1 + D(y))] + E[min(0, −1 −
    D(G(z)))]`. Scores are `(batch,)` or `(batch, 1)`; real and fake batches
    have the same size.
    """
    real = tf.reshape(real_scores, [-1])
    fake = tf.reshape(fake_scores, [-1])
    return tf.nn.relu(1.0 - real) + tf.nn.relu(1.0 + fake)


def hinge_generator_loss(fake_scores):
    """Per-example `−D(G(z))` (Eq. 3), shape `(batch,)`."""
    return -tf.reshape(fake_scores, [-1])
