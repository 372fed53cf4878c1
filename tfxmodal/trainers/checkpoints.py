"""Checkpoints that survive a killed run and a corrupted file."""

import glob
import logging
import os

import keras
import tensorflow as tf

log = logging.getLogger(__name__)


class RunCheckpoints:
    """A `tf.train.CheckpointManager` whose restore skips damaged checkpoints.

    TensorFlow writes a checkpoint's files under temporary names and renames
    them, and rewrites the `checkpoint` index atomically, so a killed run
    leaves the previous checkpoint intact. A truncated or corrupted file
    (disk full, manual copying) is detected on restore: the newest
    checkpoint that restores completely is used and each skipped one is
    reported with a warning.

    Every Keras model, layer or optimizer among the trackables is also saved
    through the list of all its variables (`<name>_variables`, keyed by
    position): `tf.train.Checkpoint` does not see inside the Python lists in
    which Keras 3 models keep sub-layers (a WaveGAN generator's up-sampling
    blocks), so without it only the layers held in plain attributes would be
    saved. The position keys do not depend on Keras's auto-generated layer
    names, which change with what else a process has built.

    Args:
        directory: where checkpoints are written.
        max_to_keep: how many recent checkpoints to keep.
        **trackables: the objects to save (models, optimizers, variables).
    """

    def __init__(self, directory, max_to_keep=3, **trackables):
        self.directory = directory
        self.checkpoint = tf.train.Checkpoint(**with_variable_lists(trackables))
        self.manager = tf.train.CheckpointManager(self.checkpoint, directory, max_to_keep=max_to_keep)

    def save(self, step):
        """Writes checkpoint `ckpt-<step>`; returns its path."""
        return self.manager.save(checkpoint_number=int(step))

    def candidates(self):
        """Checkpoint prefixes to try, newest first.

        The manager's list, plus every `ckpt-<n>` whose `.index` file exists:
        TensorFlow writes the index last, then updates the `checkpoint` state
        file, so a run killed between the two leaves a complete checkpoint
        that the state file does not list yet.
        """
        prefixes = set(self.manager.checkpoints)
        for index_file in glob.glob(os.path.join(self.directory, "ckpt-*.index")):
            prefixes.add(index_file[: -len(".index")])

        def number(prefix):
            suffix = prefix.rsplit("-", 1)[-1]
            return int(suffix) if suffix.isdigit() else -1

        return sorted(prefixes, key=number, reverse=True)

    def restore_latest(self):
        """Restores the newest intact checkpoint; returns its path or None.

        Raises:
            RuntimeError: checkpoints exist but none of them restores.
        """
        candidates = self.candidates()
        skipped = []
        for path in candidates:
            try:
                self.checkpoint.restore(path).expect_partial().assert_existing_objects_matched()
            # A truncated data file surfaces as IndexError ("Read less bytes than requested").
            except (tf.errors.OpError, ValueError, AssertionError, IndexError) as error:
                message = f"checkpoint {path} is damaged or incomplete ({type(error).__name__}: {str(error).splitlines()[0][:200]}); trying the previous one"
                log.warning(message)
                print(f"warning: {message}", flush=True)
                skipped.append(path)
                continue
            return path
        if candidates:
            raise RuntimeError(
                f"no checkpoint in {self.directory} restores: {', '.join(os.path.basename(p) for p in skipped)}"
            )
        return None


def with_variable_lists(trackables):
    """`trackables` plus `<name>_variables: {"0": v0, "1": v1, ...}` for each Keras object."""
    tracked = dict(trackables)
    for name, value in trackables.items():
        if isinstance(value, (keras.layers.Layer, keras.optimizers.Optimizer)):
            if not value.variables:
                raise ValueError(f"RunCheckpoints: {name} has no variables yet; build it before checkpointing")
            tracked[f"{name}_variables"] = {str(index): variable for index, variable in enumerate(value.variables)}
    return tracked
