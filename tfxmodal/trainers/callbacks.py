"""Keras callbacks of a run: NaN guard, checkpoints, TensorBoard extras, the stop at convergence."""

import math

import keras
import numpy as np
import tensorflow as tf

from tfxmodal.trainers.distribute import average_replica_local_variables
from tfxmodal.utils.tracing import infer


class NaNGuard(keras.callbacks.Callback):
    """Stops training at the first non-finite loss and remembers where.

    Runs before `CheckpointSaver` (list it first), which then refuses to save,
    so the last checkpoint on disk is the last good one.
    """

    def __init__(self):
        super().__init__()
        self.failure = None

    def on_train_batch_end(self, batch, logs=None):
        bad = {k: v for k, v in (logs or {}).items() if not math.isfinite(float(v))}
        if bad and self.failure is None:
            self.failure = {"batch": int(batch), "losses": {k: float(v) for k, v in bad.items()}}
            self.model.stop_training = True


class CheckpointSaver(keras.callbacks.Callback):
    """Saves a checkpoint at the end of every Keras epoch (= `checkpoint_every` steps).

    Args:
        checkpoints: a `RunCheckpoints`.
        step_variable: variable holding the number of generator steps done.
        nan_guard: the run's `NaNGuard`; no checkpoint is written after a NaN.
        enabled: False on non-chief workers of a multi-worker run.
    """

    def __init__(self, checkpoints, step_variable, nan_guard, enabled=True):
        super().__init__()
        self.checkpoints = checkpoints
        self.step_variable = step_variable
        self.nan_guard = nan_guard
        self.enabled = enabled
        self.last_saved = None

    def on_epoch_end(self, epoch, logs=None):
        if self.nan_guard.failure is not None:
            return
        step = int(self.step_variable.numpy())
        # Every worker must join the save under MultiWorkerMirroredStrategy;
        # only the chief's files are kept (the others write to temp dirs).
        path = self.checkpoints.save(step)
        if self.enabled:
            self.last_saved = (step, path)


class AverageReplicaLocalState(keras.callbacks.Callback):
    """At the end of every epoch, gives all replicas the same batch-norm moving statistics.

    See `tfxmodal.trainers.distribute.average_replica_local_variables`. List
    it before `CheckpointSaver` (which then saves the averaged values) and on
    every worker of a multi-worker run. A no-op with one replica.

    Args:
        networks: the models whose variables to average.
        strategy: the run's `tf.distribute` strategy.
    """

    def __init__(self, networks, strategy):
        super().__init__()
        self.networks = list(networks)
        self.strategy = strategy

    def on_epoch_end(self, epoch, logs=None):
        average_replica_local_variables(self.networks, self.strategy)


class GANSummaries(keras.callbacks.Callback):
    """Writes what the stock TensorBoard callback cannot see in a GAN run.

    At train start: the resolved config as text. Every epoch: each
    optimizer's learning rate, the epoch's losses, and whatever
    `write_samples(step)` writes (called inside the summary writer's
    context; subclasses override it to log generated samples).

    Args:
        log_dir: TensorBoard directory (its `train/` subdirectory is used).
        optimizers: `{name: optimizer}`.
        step_variable: generator step counter (x axis).
        config_text: YAML of the resolved config.
    """

    def __init__(self, log_dir, optimizers, step_variable, config_text):
        super().__init__()
        self.writer = tf.summary.create_file_writer(f"{log_dir}/train")
        self.optimizers = optimizers
        self.step_variable = step_variable
        self.config_text = config_text

    def on_train_begin(self, logs=None):
        with self.writer.as_default():
            tf.summary.text("config", "```\n" + self.config_text + "\n```", step=int(self.step_variable.numpy()))
        self.writer.flush()

    def write_samples(self, step):
        """Hook: log generated samples at `step` (the writer is the default)."""

    def on_epoch_end(self, epoch, logs=None):
        step = int(self.step_variable.numpy())
        with self.writer.as_default():
            for name, optimizer in self.optimizers.items():
                # Under a strategy the rate is a MirroredVariable, which float() rejects.
                rate = float(tf.convert_to_tensor(optimizer.learning_rate))
                tf.summary.scalar(f"learning_rate/{name}", rate, step=step)
            for name, value in (logs or {}).items():
                tf.summary.scalar(f"losses/{name}", float(value), step=step)
            self.write_samples(step)
        self.writer.flush()


class TrainingSummaries(GANSummaries):
    """`GANSummaries` of the face-to-music run: logs audio of fixed faces.

    Every epoch, the audio the generator makes for a fixed set of face
    embeddings and pitches (`tf.summary.audio`, 16 kHz), besides the
    config, learning rates and losses of `GANSummaries`.

    Args:
        log_dir: TensorBoard directory (its `train/` subdirectory is used).
        optimizers: `{name: optimizer}`.
        step_variable: generator step counter (x axis).
        config_text: YAML of the resolved config.
        generator: the generator to sample.
        fixed_embeddings: `(n, 512)` float32 face embeddings.
        fixed_pitches: `(n,)` int32 pitch classes.
        sample_rate: Hz.
    """

    def __init__(
        self,
        log_dir,
        optimizers,
        step_variable,
        config_text,
        generator,
        fixed_embeddings,
        fixed_pitches,
        sample_rate=16000,
    ):
        super().__init__(log_dir, optimizers, step_variable, config_text)
        self.generator = generator
        self.fixed_embeddings = np.asarray(fixed_embeddings, np.float32)
        self.fixed_pitches = np.asarray(fixed_pitches, np.int32)
        self.sample_rate = sample_rate

    def write_samples(self, step):
        audio = infer(self.generator, self.fixed_embeddings, self.fixed_pitches)
        tf.summary.audio("fixed_faces", audio, self.sample_rate, step=step, max_outputs=len(audio))


class ImageSummaries(GANSummaries):
    """`GANSummaries` that also logs images made by a callable every epoch.

    Args:
        log_dir, optimizers, step_variable, config_text: as `GANSummaries`.
        make_images: `() -> {name: images}` with images `(n, H, W, C)`
            float in [0, 1] or uint8, C in {1, 3, 4} (e.g. a sample grid).
    """

    def __init__(self, log_dir, optimizers, step_variable, config_text, make_images):
        super().__init__(log_dir, optimizers, step_variable, config_text)
        self.make_images = make_images

    def write_samples(self, step):
        for name, images in self.make_images().items():
            tf.summary.image(name, images, step=step, max_outputs=len(images))


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


class TensorBoard(keras.callbacks.TensorBoard):
    """Keras's TensorBoard callback whose weight histograms stay small at the paper's width.

    TensorBoard's `histogram` one-hot encodes every value into 30 float64
    buckets: for the d = 64 generator's largest kernel (25 × 1024 × 2048 =
    52 M values) that is a 12.6 GB tensor, which kills the run. Each weight
    is histogrammed from at most `max_values` of its values, taken at an
    even stride (the same positions every time, so histograms compare
    across steps); smaller weights are histogrammed whole, as by Keras.
    """

    def __init__(self, *args, max_values=1 << 20, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_values = int(max_values)

    def _log_weights(self, epoch):
        with self._train_writer.as_default():
            for layer in self.model.layers:
                for weight in layer.weights:
                    values = tf.reshape(tf.convert_to_tensor(weight), [-1])
                    count = int(values.shape[0])
                    if count > self.max_values:
                        values = values[:: -(-count // self.max_values)]
                    self.summary.histogram(f"{weight.path.replace(':', '_')}/histogram", values, step=epoch)
            self._train_writer.flush()
