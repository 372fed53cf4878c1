import numpy as np
import pytest
import tensorflow as tf

from tests.support.harness import run_layer_test
from tfxmodal.layers import ConditionalBatchNorm


def make_inputs(shape=(6, 5, 4), seed=0):
    rng = np.random.RandomState(seed)
    x = (rng.normal(size=shape) * 3 + 2).astype("float32")
    labels = np.array([0, 2, 1, 2, 0, 1], dtype="int32")[: shape[0]]
    return x, labels


def numpy_cbn(x, labels, gamma, beta, epsilon=1e-3):
    axes = tuple(range(x.ndim - 1))
    mean = x.mean(axis=axes)
    var = x.var(axis=axes)
    normalized = (x - mean) / np.sqrt(var + epsilon)
    shape = (x.shape[0],) + (1,) * (x.ndim - 2) + (x.shape[-1],)
    return normalized * gamma[labels].reshape(shape) + beta[labels].reshape(shape)


def test_training_output_matches_numpy():
    x, labels = make_inputs()
    layer = ConditionalBatchNorm(num_classes=3)
    layer(x, labels)
    rng = np.random.RandomState(1)
    gamma = rng.uniform(0.5, 2, size=(3, 4)).astype("float32")
    beta = rng.normal(size=(3, 4)).astype("float32")
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    out = layer(x, labels, training=True)
    np.testing.assert_allclose(out, numpy_cbn(x, labels, gamma, beta), rtol=1e-4, atol=1e-4)


def test_each_class_gets_its_own_scale_and_offset():
    x, _ = make_inputs()
    layer = ConditionalBatchNorm(num_classes=3)
    layer(x, np.zeros(6, "int32"))
    layer.gamma.assign(np.array([[1.0] * 4, [2.0] * 4, [3.0] * 4], "float32"))
    same = np.zeros(6, "int32")
    out0 = layer(x, same, training=True).numpy()
    out2 = layer(x, same + 2, training=True).numpy()
    np.testing.assert_allclose(out2, 3 * out0, rtol=1e-5, atol=1e-5)


def test_inference_uses_moving_statistics():
    x, labels = make_inputs()
    layer = ConditionalBatchNorm(num_classes=3, momentum=0.0)
    layer(x, labels, training=True)  # momentum 0: moving stats = batch stats
    np.testing.assert_allclose(layer(x, labels, training=False), layer(x, labels, training=True), rtol=1e-4, atol=1e-4)


def test_accepts_column_labels():
    x, labels = make_inputs()
    layer = ConditionalBatchNorm(num_classes=3)
    np.testing.assert_allclose(layer(x, labels[:, None], training=True), layer(x, labels, training=True))


def test_unknown_label_raises_eagerly():
    x, labels = make_inputs()
    layer = ConditionalBatchNorm(num_classes=3, name="cbn")
    with pytest.raises(ValueError, match=r"cbn: class label out of range \[0, 3\): got \[3\]"):
        layer(x, np.array([0, 1, 2, 3, 0, 1], "int32"))
    with pytest.raises(ValueError, match="out of range"):
        layer(x, -labels - 1)


def test_unknown_label_raises_in_graph():
    x, _ = make_inputs()
    layer = ConditionalBatchNorm(num_classes=3, name="cbn")
    layer(x, np.zeros(6, "int32"))
    graph_call = tf.function(lambda a, b: layer(a, b, training=True))
    with pytest.raises(tf.errors.InvalidArgumentError, match="class label out of range"):
        graph_call(x, np.full(6, 7, "int32"))


def test_rejects_float_labels_and_bad_label_rank():
    x, labels = make_inputs()
    layer = ConditionalBatchNorm(num_classes=3)
    with pytest.raises(TypeError, match="integers"):
        layer(x, labels.astype("float32"))
    with pytest.raises(ValueError, match=r"shape \(batch,\)"):
        layer(x, labels.reshape(2, 3))


def test_rejects_bad_num_classes():
    with pytest.raises(ValueError, match="num_classes"):
        ConditionalBatchNorm(num_classes=0)


def test_standard_layer_checks():
    x, labels = make_inputs()
    run_layer_test(
        ConditionalBatchNorm,
        {"num_classes": 3},
        (x, labels),
        expected_output_shape=x.shape,
        expected_num_trainable_weights=2,
        expected_num_non_trainable_weights=2,
    )
