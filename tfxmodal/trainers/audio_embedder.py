"""Training the audio embedding ψ with a semi-hard triplet loss on instrument family."""

import functools

import keras

from tfxmodal.losses import triplet_semihard_loss


def _triplet_loss(margin, family, embeddings):
    return triplet_semihard_loss(family, embeddings, margin=margin)


def compile_for_triplets(embedder, learning_rate=2e-4, margin=1.0, jit_compile=False, beta_1=0.5, beta_2=0.999):
    """Compiles `embedder` (an `AudioEmbedder`) to minimize the triplet loss.

    The dataset then yields `(waveform (B, 8192), family (B,))` pairs; call
    inside the strategy scope that owns the embedder. Kim et al. use margin
    1.0 and Adam 2e-4 (0.5, 0.999) "for all models" (Sec. 5.2) and stop at
    convergence (`trainers.callbacks.ConvergenceStop`).
    """
    embedder.compile(
        optimizer=keras.optimizers.Adam(learning_rate, beta_1=beta_1, beta_2=beta_2),
        loss=functools.partial(_triplet_loss, margin),
        jit_compile=jit_compile,
    )
    return embedder
