"""Training the audio embedding ψ with a semi-hard triplet loss on instrument family."""

import functools

import keras

from tfxmodal.losses import triplet_semihard_loss


def _triplet_loss(margin, family, embeddings):
    return triplet_semihard_loss(family, embeddings, margin=margin)


def compile_for_triplets(embedder, learning_rate=1e-3, margin=1.0, jit_compile=False):
    """Compiles `embedder` (an `AudioEmbedder`) to minimize the triplet loss.

    The dataset then yields `(waveform (B, 8192), family (B,))` pairs; call
    inside the strategy scope that owns the embedder. Kim et al. use margin
    1.0 and stop when the loss converges; we train a fixed number of steps.
    """
    embedder.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=functools.partial(_triplet_loss, margin),
        jit_compile=jit_compile,
    )
    return embedder
