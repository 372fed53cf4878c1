"""The shared skeleton of a training run (`TrainingRun`), which every task's run class extends.

`TrainingRun.execute()` does what every run does, in this order: seed
everything, choose the `tf.distribute` strategy, check that the global
batch divides over its replicas, write (or check) the resolved config, then
hand over to the task's `stages(strategy, config_text)`. A GAN stage calls
`fit_gan`, which restores the latest checkpoint, builds the distributed
dataset (reseeded with the step it resumes from), attaches the callbacks
every GAN run needs (NaN guard, batch-norm averaging, checkpoints; on the
chief TensorBoard, summaries and the learning curve), patches Keras for
multi-worker `fit`, trains, and turns a non-finite loss into
`TrainingFailed` (exit 3).
"""

import contextlib
import os
import resource
import sys
import time

import keras

from tfxmodal.errors import ConfigError, TrainingFailed
from tfxmodal.tasks.run_directory import write_resolved_config
from tfxmodal.trainers.callbacks import AverageReplicaLocalState, CheckpointSaver, NaNGuard, TensorBoard
from tfxmodal.trainers.checkpoints import RunCheckpoints
from tfxmodal.trainers.distribute import (
    allow_multi_worker_fit,
    checkpoint_directory,
    describe_strategy,
    is_chief,
    make_strategy,
)
from tfxmodal.utils.files import read_json, save_json


class TrainingRun:
    """One run directory of one task; subclasses define `task`, `stages` and optionally `global_batch_size`.

    Args:
        config: the task's parsed config (with `seed` and `train.strategy`).
        out_dir: the run directory.
    """

    task = None  # the run's tasks.task.Task, set by each subclass

    def __init__(self, config, out_dir):
        self.config = config
        self.out_dir = out_dir
        self.stage_seconds, self.stage_peak_memory_mb = {}, {}

    def path(self, *parts):
        return os.path.join(self.out_dir, *parts)

    def log(self, message):
        print(f"[{self.task.name}] {message}", flush=True)

    @contextlib.contextmanager
    def timed(self, stage):
        """Adds the wall seconds of the `with` body to `self.stage_seconds[stage]` (kept in the run summary).

        Also records the process's peak resident memory so far when the stage
        ends (`self.stage_peak_memory_mb[stage]`, MiB): the first stage whose
        value jumps is where the peak was reached.
        """
        started = time.perf_counter()
        try:
            yield
        finally:
            self.stage_seconds[stage] = round(self.stage_seconds.get(stage, 0.0) + time.perf_counter() - started, 2)
            # ru_maxrss is in KiB on Linux.
            self.stage_peak_memory_mb[stage] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)

    @property
    def strategy_name(self):
        return self.config.train.strategy

    def global_batch_sizes(self):
        """`{config key: global batch}` that must divide over the replicas."""
        return {"train.batch_size": self.config.train.batch_size}

    def stages(self, strategy, config_text):
        """The task's own stages; returns the run summary (a JSON-able dict)."""
        raise NotImplementedError

    def execute(self):
        started = time.time()
        keras.utils.set_random_seed(self.config.seed)
        strategy = make_strategy(self.strategy_name)
        self.log(f"strategy: {describe_strategy(strategy)}")
        for key, batch in self.global_batch_sizes().items():
            if batch % strategy.num_replicas_in_sync:
                raise ConfigError(f"{key}: {batch} does not divide over {strategy.num_replicas_in_sync} replicas")
        config_text = write_resolved_config(self.task, self.config, self.out_dir)
        summary = self.stages(strategy, config_text)
        if is_chief(strategy) and summary is not None:
            summary["seconds"] = round(time.time() - started, 1)
        return summary

    def export_once(self, step, export):
        """The SavedModel of the trained state at `step`: `export()`'s path, exported once per state.

        `<out>/export.json` records the step and the version written for it;
        re-running a finished run reuses that version instead of writing a
        new, identical one (TF Serving would load it as an update).
        """
        record = self.path("export.json")
        if os.path.exists(record):
            done = read_json(record)
            if done.get("step") == step and os.path.isdir(done.get("path", "")):
                self.log(f"the state at step {step} is already exported: {done['path']}")
                return done["path"]
        path = export()
        save_json(record, {"step": step, "path": os.path.abspath(path)})
        return path

    def fit_gan(self, strategy, gan, dataset_fn, total_steps, steps_per_epoch, chief_callbacks=()):
        """Trains `gan` (a `trainers.base.GANTrainer`) up to `total_steps`; returns the final step.

        Args:
            strategy: the run's strategy (the GAN was built in its scope).
            gan: the compiled trainer.
            dataset_fn: `(seed, input_context) -> per-replica tf.data.Dataset`;
                the seed is the config's seed plus the step resumed from, so
                a resumed run does not repeat the batches it already saw.
            total_steps: the run's length in steps (generator updates).
            steps_per_epoch: the checkpoint interval (a Keras epoch).
            chief_callbacks: `(log_dir, config_text) -> [callbacks]` run on
                the chief only (summaries, learning curve), or a list.
        """
        train = self.config.train
        chief = is_chief(strategy)
        checkpoints = RunCheckpoints(
            checkpoint_directory(self.out_dir, strategy), max_to_keep=train.keep_checkpoints, **gan.trackables()
        )
        restored = checkpoints.restore_latest()
        step_variable = gan.step_counter
        start_step = int(step_variable.numpy())
        if restored:
            self.log(f"resumed from {restored} at step {start_step}")
        if start_step >= total_steps:
            self.log(f"already trained for {start_step} steps")
            return start_step
        dataset = strategy.distribute_datasets_from_function(
            lambda context: dataset_fn(self.config.seed + start_step, context)
        )
        nan_guard = NaNGuard()
        callbacks = [
            nan_guard,
            AverageReplicaLocalState(list(gan.networks().values()), strategy),
            CheckpointSaver(checkpoints, step_variable, nan_guard, enabled=chief),
        ]
        if chief:
            callbacks.append(
                TensorBoard(self.path("logs"), histogram_freq=1 if train.histograms else 0, write_graph=False)
            )
            callbacks += list(chief_callbacks)
        allow_multi_worker_fit(gan, strategy)
        self.log(f"training: steps {start_step} -> {total_steps}")
        gan.fit(
            dataset,
            epochs=total_steps // steps_per_epoch,
            initial_epoch=start_step // steps_per_epoch,
            steps_per_epoch=steps_per_epoch,
            callbacks=callbacks,
            # A live progress bar on a terminal; one line per epoch in logs.
            verbose=1 if sys.stdout.isatty() else 2,
        )
        if nan_guard.failure is not None:
            raise TrainingFailed(
                f"non-finite loss {nan_guard.failure['losses']} near step {int(step_variable.numpy())}; "
                f"kept the last good checkpoint {checkpoints.manager.latest_checkpoint}"
            )
        return int(step_variable.numpy())
