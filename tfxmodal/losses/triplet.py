"""Triplet loss with online semi-hard negative mining (Schroff et al. 2015, FaceNet)."""

import tensorflow as tf

from tfxmodal.losses.metric import pairwise_distances


def triplet_semihard_loss(labels, embeddings, margin=1.0):
    """Mean over anchor-positive pairs of `relu(d(a, p) − d(a, n) + margin)`.

    For every ordered pair (a, p) of distinct examples with the same label,
    the negative n (another label) is the closest one that is still farther
    than p ("semi-hard"); if no negative is farther than p, the farthest
    negative is used. L2 (not squared) distances; Kim et al. train ψ with
    margin 1.0 on instrument family.

    Args:
        labels: int `(batch,)`.
        embeddings: float `(batch, dim)`.
        margin: float.

    Returns:
        Scalar float32; 0 when the batch has no positive pair or no negative.
    """
    labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
    distances = pairwise_distances(embeddings)
    same = tf.equal(labels[:, None], labels[None, :])
    batch = tf.shape(labels)[0]
    positive_pairs = tf.logical_and(same, tf.logical_not(tf.eye(batch, dtype=tf.bool)))
    negatives = tf.logical_not(same)

    # d_an[a, n] broadcast against d_ap[a, p]: [a, p, n]
    d_ap = distances[:, :, None]
    d_an = distances[:, None, :]
    is_negative = negatives[:, None, :]
    semihard = tf.logical_and(is_negative, d_an > d_ap)
    inf = tf.constant(float("inf"), distances.dtype)
    closest_semihard = tf.reduce_min(tf.where(semihard, d_an, inf), axis=2)
    farthest_negative = tf.reduce_max(tf.where(is_negative, d_an, -inf), axis=2)
    chosen = tf.where(tf.reduce_any(semihard, axis=2), closest_semihard, farthest_negative)

    has_negative = tf.reduce_any(negatives, axis=1)[:, None]
    # Anchors without any negative are masked out below; keep their values finite.
    chosen = tf.where(has_negative, chosen, tf.zeros_like(chosen))
    valid = tf.logical_and(positive_pairs, has_negative)
    losses = tf.nn.relu(distances - chosen + margin)
    count = tf.reduce_sum(tf.cast(valid, distances.dtype))
    return tf.math.divide_no_nan(tf.reduce_sum(tf.where(valid, losses, tf.zeros_like(losses))), count)
