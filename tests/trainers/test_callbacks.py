"""The GAN-run callbacks against real optimizers, strategies and event files."""

import glob
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfxmodal.trainers.callbacks import ConvergenceStop, GANSummaries, NaNGuard, TensorBoard


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


def test_convergence_stop_ends_after_patience_checks_without_improvement_and_keeps_the_best_weights():
    """Scores 0.1, 0.3, 0.2, 0.25 with patience 2: best at the 2nd check, stop after the 4th, weights of the 2nd."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    planned, weights_seen = iter([0.1, 0.3, 0.2, 0.25, 0.9, 0.9]), []

    def score(trained):
        weights_seen.append([w.copy() for w in trained.get_weights()])
        return next(planned)

    stop = ConvergenceStop(score, patience=2, log=lambda message: None)
    model.fit(x, y, batch_size=4, epochs=6, verbose=0, callbacks=[stop])
    assert [check["score"] for check in stop.history] == [0.1, 0.3, 0.2, 0.25]
    assert [check["step"] for check in stop.history] == [2, 4, 6, 8] and stop.best_step == 4
    for kept, best in zip(model.get_weights(), weights_seen[1]):
        np.testing.assert_array_equal(kept, best)
    assert not np.allclose(weights_seen[1][0], weights_seen[3][0])  # training did move the weights after


def test_weight_histograms_of_a_paper_size_kernel_are_taken_from_a_strided_subset(tmp_path):
    model = keras.Sequential(
        [keras.Input((3000,)), keras.layers.Dense(1100, name="big"), keras.layers.Dense(2, name="small")]
    )
    callback = TensorBoard(str(tmp_path), histogram_freq=1, write_graph=False, max_values=1 << 20)
    callback.set_model(model)
    callback.on_epoch_end(0)
    counts = {}
    for path in glob.glob(str(tmp_path / "train" / "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                # Tags are "<model name>/<layer>/<weight>/histogram".
                counts[value.tag.split("/", 1)[1]] = float(np.sum(tf.make_ndarray(value.tensor)[:, 2]))
    big = 3000 * 1100  # 3.3 M values: every 4th (ceil(3.3 M / 2^20) = 4)
    assert counts["big/kernel/histogram"] == len(range(0, big, 4))
    assert counts["small/kernel/histogram"] == 1100 * 2  # whole, as Keras does
    assert counts["big/bias/histogram"] == 1100
