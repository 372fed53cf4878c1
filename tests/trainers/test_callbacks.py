"""The GAN-run callbacks against real optimizers, strategies and event files."""

import glob
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfxmodal.trainers.callbacks import GANSummaries, NaNGuard


def scalars(log_dir):
    """`{tag: [(step, value)]}` of every scalar summary under `log_dir`."""
    found = {}
    for path in glob.glob(f"{log_dir}/**/events.out.tfevents.*", recursive=True):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name == "scalars":
                    found.setdefault(value.tag, []).append((event.step, float(tf.make_ndarray(value.tensor))))
    return found


def test_summaries_log_learning_rates_of_optimizers_built_under_a_strategy(two_cpu_strategy, tmp_path):
    """An optimizer made in a MirroredStrategy scope holds its rate in a MirroredVariable."""
    with two_cpu_strategy.scope():
        optimizer = keras.optimizers.Adam(2.5e-4)
        optimizer.build([keras.Variable(np.zeros(3, np.float32))])
    step = keras.Variable(6, dtype="int64")
    summaries = GANSummaries(str(tmp_path), {"generator": optimizer}, step, "seed: 0")
    summaries.on_train_begin()
    summaries.on_epoch_end(0, {"g_loss": tf.constant(1.5), "d_loss": 0.25})
    logged = scalars(str(tmp_path))
    assert logged["learning_rate/generator"] == [(6, pytest.approx(2.5e-4))]
    assert logged["losses/g_loss"] == [(6, 1.5)] and logged["losses/d_loss"] == [(6, 0.25)]


def test_nan_guard_stops_at_the_first_non_finite_loss():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    guard = NaNGuard()
    model.stop_training = False  # as fit() sets it
    guard.set_model(model)
    guard.on_train_batch_end(0, {"g_loss": 1.0})
    assert guard.failure is None and not model.stop_training
    guard.on_train_batch_end(1, {"g_loss": float("nan"), "d_loss": 2.0})
    guard.on_train_batch_end(2, {"g_loss": float("inf")})
    assert model.stop_training
    assert guard.failure["batch"] == 1 and list(guard.failure["losses"]) == ["g_loss"]
    assert math.isnan(guard.failure["losses"]["g_loss"])
