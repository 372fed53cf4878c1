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
    convergence (`ConvergenceStop`).
    """
    embedder.compile(
        optimizer=keras.optimizers.Adam(learning_rate, beta_1=beta_1, beta_2=beta_2),
        loss=functools.partial(_triplet_loss, margin),
        jit_compile=jit_compile,
    )
    return embedder


class ConvergenceStop(keras.callbacks.Callback):
    """Stops training when a validation score has not improved for `patience` checks; keeps the best weights.

    Called at the end of every Keras epoch (fit with `steps_per_epoch` = the
    check interval). `score(model) -> float` is higher-is-better (for ψ: the
    1-nearest-neighbour family accuracy of validation notes against training
    notes). At the end the model holds the weights of the best check.

    Attributes:
        history: `[{"step": optimizer steps, "score": float}]`, one per check.
        best_step: the step of the best score (None before any check).
    """

    def __init__(self, score, patience, log=print):
        super().__init__()
        self.score = score
        self.patience = int(patience)
        self.log = log
        self.history = []
        self.best_step = None
        self._best_score = None
        self._best_weights = None
        self._since_best = 0

    def on_epoch_end(self, epoch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        value = float(self.score(self.model))
        self.history.append({"step": step, "score": value})
        if self._best_score is None or value > self._best_score:
            self._best_score, self.best_step, self._since_best = value, step, 0
            self._best_weights = self.model.get_weights()
        else:
            self._since_best += 1
        self.log(f"validation at step {step}: {value:.4f} (best {self._best_score:.4f} at step {self.best_step})")
        if self._since_best >= self.patience:
            self.log(f"converged: no improvement for {self.patience} checks; keeping step {self.best_step}")
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self._best_weights is not None:
            self.model.set_weights(self._best_weights)
