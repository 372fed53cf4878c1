import numpy as np
import pytest
import tensorflow as tf

from tests.support.harness import run_layer_test
from tfxmodal.layers import PhaseShuffle


def numpy_shift(x, shift):
    """x shifted right by `shift` samples (left if negative), reflect-padded."""
    length = x.shape[1]
    left, right = max(shift, 0), max(-shift, 0)
    padded = np.pad(x, ((0, 0), (left, right), (0, 0)), mode="reflect")
    return padded[:, right : right + length]


def observed_shift(x, y, radius):
    matches = [s for s in range(-radius, radius + 1) if np.array_equal(numpy_shift(x, s), y)]
    assert len(matches) == 1, f"output is no single reflect-shift of the input: {matches}"
    return matches[0]


def ramp(batch=2, length=10, channels=3):
    return np.arange(batch * length * channels, dtype="float32").reshape(batch, length, channels)


def test_identity_at_inference():
    x = ramp()
    layer = PhaseShuffle(radius=2)
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_array_equal(layer(x, training=False), x)


def test_training_applies_one_reflect_shift_per_call_and_covers_all_shifts():
    x = ramp()
    layer = PhaseShuffle(radius=2, seed=3)
    seen = set()
    for _ in range(60):
        y = layer(x, training=True).numpy()
        assert y.shape == x.shape
        seen.add(observed_shift(x, y, 2))
    assert seen == {-2, -1, 0, 1, 2}


def test_same_shift_for_the_whole_batch():
    x = ramp(batch=4)
    layer = PhaseShuffle(radius=2, seed=1)
    for _ in range(10):
        y = layer(x, training=True).numpy()
        shifts = {observed_shift(x[i : i + 1], y[i : i + 1], 2) for i in range(4)}
        assert len(shifts) == 1


def test_seed_makes_shifts_reproducible():
    x = ramp()
    a, b = PhaseShuffle(radius=2, seed=7), PhaseShuffle(radius=2, seed=7)
    for _ in range(8):
        np.testing.assert_array_equal(a(x, training=True), b(x, training=True))


def test_works_inside_tf_function():
    x = ramp()
    layer = PhaseShuffle(radius=1, seed=0)
    graph_call = tf.function(lambda v: layer(v, training=True))
    shifts = {observed_shift(x, graph_call(x).numpy(), 1) for _ in range(30)}
    assert shifts == {-1, 0, 1}


def test_replicas_draw_their_own_shifts(two_cpu_strategy):
    x = ramp(batch=2)
    with two_cpu_strategy.scope():
        layer = PhaseShuffle(radius=2)
        layer.build(x.shape)

    @tf.function
    def step(batch):
        return two_cpu_strategy.run(lambda b: layer(b, training=True), (batch,))

    dataset = two_cpu_strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensors(np.concatenate([x[:1], x[:1]])).repeat(12)
    )
    differ = 0
    for batch in dataset:
        first, second = two_cpu_strategy.experimental_local_results(step(batch))
        differ += observed_shift(x[:1], first.numpy(), 2) != observed_shift(x[:1], second.numpy(), 2)
    assert differ > 0, "both replicas drew the same shift 12 times in a row"


@pytest.mark.parametrize("bad", [-1, 1.5])
def test_rejects_bad_radius(bad):
    with pytest.raises(ValueError, match="radius"):
        PhaseShuffle(radius=bad)


def test_rejects_wrong_rank_and_too_short_inputs():
    with pytest.raises(ValueError, match=r"\(batch, time, channels\)"):
        PhaseShuffle()(np.zeros((2, 10), "float32"))
    with pytest.raises(ValueError, match="more than 2 time steps"):
        PhaseShuffle(radius=2)(np.zeros((2, 2, 1), "float32"))


def test_standard_layer_checks():
    run_layer_test(
        PhaseShuffle,
        {"radius": 2, "seed": 1},
        ramp(),
        expected_output_shape=(2, 10, 3),
        expected_num_trainable_weights=0,
        run_training_check=False,
    )
