"""MatmulConv1DTranspose is keras.layers.Conv1DTranspose: values, gradients, variables and weights files.

Both of its computations are checked: the matrix product (short inputs) and the polyphase
convolution (inputs from `polyphase_from_length` positions on).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.support.harness import run_layer_test
from tfxmodal.layers import MatmulConv1DTranspose, SpectralNormalization
from tfxmodal.models import WaveGANGenerator

# (stride, kernel size, input length, padding): the generator's k = 25 with strides 4 and 2 at odd and
# even lengths, an even kernel, a kernel shorter than the stride, and "valid".
CASES = [
    (4, 25, 16, "same"),
    (4, 25, 7, "same"),
    (2, 25, 10, "same"),
    (2, 25, 9, "same"),
    (4, 24, 6, "same"),
    (4, 3, 5, "same"),
    (3, 5, 5, "valid"),
    (1, 25, 11, "same"),
]


def numpy_reference(x, kernel, bias, stride, padding):
    """The transposed convolution by definition: input position i, tap j adds x[i] · W[j]ᵀ at i·s + j − pad."""
    batch, length, _ = x.shape
    taps, filters, _ = kernel.shape
    full = np.zeros((batch, max((length - 1) * stride + taps, length * stride), filters))
    for i in range(length):
        for j in range(taps):
            full[:, i * stride + j] += x[:, i].astype(np.float64) @ kernel[j].T.astype(np.float64)
    if padding == "same":
        start, size = max(taps - stride, 0) // 2, length * stride
    else:
        start, size = 0, (length - 1) * stride + taps
    return full[:, start : start + size] + bias


# MatmulConv1DTranspose's polyphase_from_length: never (the product) or from 1 position (the convolution).
METHODS = {"matmul": None, "polyphase": 1}


def pair(stride, taps, shape, padding, seed=0, method="matmul"):
    """A Keras layer and a MatmulConv1DTranspose with the same random kernel and bias."""
    rng = np.random.default_rng(seed)
    layers = [
        keras.layers.Conv1DTranspose(5, taps, strides=stride, padding=padding),
        MatmulConv1DTranspose(5, taps, strides=stride, padding=padding, polyphase_from_length=METHODS[method]),
    ]
    for layer in layers:
        layer.build(shape)
    kernel = rng.normal(size=layers[0].kernel.shape).astype("float32")
    bias = rng.normal(size=layers[0].bias.shape).astype("float32")
    for layer in layers:
        layer.kernel.assign(kernel)
        layer.bias.assign(bias)
    return layers, kernel, bias


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("stride, taps, length, padding", CASES)
def test_equals_keras_conv1d_transpose_and_the_definition(stride, taps, length, padding, method):
    shape = (3, length, 6)
    (reference, layer), kernel, bias = pair(stride, taps, shape, padding, method=method)
    x = np.random.default_rng(1).normal(size=shape).astype("float32")
    expected = reference(x).numpy()
    assert tuple(layer.compute_output_shape(shape)) == expected.shape
    np.testing.assert_allclose(layer(x).numpy(), expected, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(expected, numpy_reference(x, kernel, bias, stride, padding), atol=1e-4, rtol=1e-5)
    np.testing.assert_allclose(tf.function(layer)(x).numpy(), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("stride, taps, length, padding", CASES[:5])
def test_gradients_equal_keras_w_r_t_inputs_kernel_and_bias(stride, taps, length, padding, method):
    shape = (2, length, 4)
    layers, _, _ = pair(stride, taps, shape, padding, seed=2, method=method)
    x = tf.constant(np.random.default_rng(3).normal(size=shape).astype("float32"))
    cotangent = None
    gradients = []
    for layer in layers:
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
            if cotangent is None:
                cotangent = tf.constant(np.random.default_rng(4).normal(size=y.shape).astype("float32"))
            loss = tf.reduce_sum(tf.sin(y) * cotangent)
        gradients.append(tape.gradient(loss, [x, layer.kernel, layer.bias]))
    for expected, actual, what in zip(gradients[0], gradients[1], ("inputs", "kernel", "bias")):
        np.testing.assert_allclose(actual.numpy(), expected.numpy(), atol=1e-5, rtol=1e-5, err_msg=what)


def test_unsupported_configurations_fall_back_to_keras():
    shape = (2, 6, 3)
    x = np.random.default_rng(5).normal(size=shape).astype("float32")
    for kwargs in ({"output_padding": 1}, {"dilation_rate": 2, "strides": 1}):
        kwargs = {"strides": 2, **kwargs}
        reference = keras.layers.Conv1DTranspose(4, 3, **kwargs)
        layer = MatmulConv1DTranspose(4, 3, **kwargs)
        reference.build(shape)
        layer.build(shape)
        layer.set_weights(reference.get_weights())
        assert not layer.uses_matmul(shape)
        np.testing.assert_allclose(layer(x).numpy(), reference(x).numpy(), atol=1e-5)


@pytest.mark.parametrize("method", METHODS)
def test_standard_layer_checks(method):
    run_layer_test(
        MatmulConv1DTranspose,
        {
            "filters": 4,
            "kernel_size": 25,
            "strides": 4,
            "padding": "same",
            "activation": "tanh",
            "polyphase_from_length": METHODS[method],
        },
        np.random.default_rng(6).normal(size=(2, 8, 3)).astype("float32"),
        expected_output_shape=(2, 32, 4),
        expected_num_trainable_weights=2,
        expected_num_non_trainable_weights=0,
    )


def test_spectral_normalization_uses_the_matmul_op():
    shape = (2, 8, 3)
    x = np.random.default_rng(7).normal(size=shape).astype("float32")
    wrapped = [
        SpectralNormalization(cls(4, 25, strides=4, padding="same"))
        for cls in (keras.layers.Conv1DTranspose, MatmulConv1DTranspose)
    ]
    for layer in wrapped:
        layer.build(shape)
    wrapped[1].set_weights(wrapped[0].get_weights())
    for training in (True, False):
        np.testing.assert_allclose(wrapped[1](x, training=training), wrapped[0](x, training=training), atol=1e-5)


def test_generator_weights_written_with_keras_layers_load_into_matmul_and_polyphase_layers(tmp_path):
    generators = {}
    for name in ("keras", "matmul", "polyphase"):
        generator = WaveGANGenerator(
            2, spectral_norm=True, output_batch_norm=False, transposed_conv=name, name="generator"
        )
        generator.build((None, 512))
        generators[name] = generator
    assert isinstance(generators["matmul"].upconvs[0].layer, MatmulConv1DTranspose)
    assert [v.path for v in generators["keras"].weights] == [v.path for v in generators["matmul"].weights]
    rng = np.random.default_rng(8)
    z = rng.normal(size=(3, 512)).astype("float32")
    pitch = rng.integers(0, 61, 3).astype("int32")
    generators["keras"](z, pitch, training=True)  # move u and the batch-norm statistics off their initial values
    path = str(tmp_path / "generator.weights.h5")
    generators["keras"].save_weights(path)
    expected = generators["keras"](z, pitch, training=False).numpy()
    for name in ("matmul", "polyphase"):
        generators[name].load_weights(path)
        np.testing.assert_allclose(generators[name](z, pitch, training=False).numpy(), expected, atol=1e-5)
    with pytest.raises(ValueError, match="transposed_conv"):
        WaveGANGenerator(2, transposed_conv="winograd")


def test_auto_takes_the_product_for_short_inputs_and_the_polyphase_convolution_for_the_last_two_layers():
    """At d >= 32 (upconv inputs of 16, 64, 256, 1,024 and 4,096 positions); Keras's op at d = 8."""
    wide = WaveGANGenerator(32, spectral_norm=True)
    wide.build((None, 512))
    lengths = [16 * 4**index for index in range(5)]
    chosen = [
        sn.layer.computation((None, length, sn.layer.kernel.shape[2])) for sn, length in zip(wide.upconvs, lengths)
    ]
    assert chosen == ["matmul", "matmul", "matmul", "polyphase", "polyphase"]
    narrow = WaveGANGenerator(8, spectral_norm=False)
    assert all(type(layer) is keras.layers.Conv1DTranspose for layer in narrow.upconvs)
    assert MatmulConv1DTranspose(4, 3, strides=2, output_padding=1).computation((None, 4096, 3)) == "keras"
