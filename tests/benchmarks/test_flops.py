"""FLOPs from the traced graph against a hand count of the WaveGAN generator (Kim et al. 2020, Table 3)."""

import numpy as np
import pytest
import tensorflow as tf

from tfxmodal.benchmarks.flops import matmul_flops
from tfxmodal.face2music.bench import projection
from tfxmodal.models import WaveGANGenerator


def generator_macs_per_note(d):
    """Dense 512 → 16 × 32d, then five k = 25 transposed convolutions 32d → 16d → 8d → 4d → 2d → 1 over
    lengths 16 → 64 → 256 → 1024 → 4096 → 8192: each input position × kernel × in × out."""
    dense = 512 * 16 * 32 * d
    upconvs = sum(length * 25 * cin * cout for length, cin, cout in [
        (16, 32 * d, 16 * d), (64, 16 * d, 8 * d), (256, 8 * d, 4 * d), (1024, 4 * d, 2 * d), (4096, 2 * d, 1),
    ])  # fmt: skip
    return dense + upconvs


@pytest.mark.parametrize("d", [1, 3])
def test_the_generators_flops_are_the_hand_count_plus_spectral_norms_sigma(d):
    generator = WaveGANGenerator(d, output_batch_norm=False, spectral_norm=True)
    generator.build((None, 512))
    forward = tf.function(lambda z, pitch: generator(z, pitch, training=False))
    batch = 4
    flops = matmul_flops(forward, tf.TensorSpec([batch, 512]), tf.TensorSpec([batch], tf.int32))
    # Inference σ = uᵀ W v: one product of each kernel (as a matrix) with v per call, whatever the batch.
    kernels = [generator.project.layer.kernel] + [conv.layer.kernel for conv in generator.upconvs]
    sigma = sum(int(np.prod(kernel.shape)) for kernel in kernels)
    assert flops == 2 * (batch * generator_macs_per_note(d) + sigma)
    assert generator_macs_per_note(64) * 2 == pytest.approx(6.77e9, rel=1e-3)  # the paper width's 6.77 GFLOP/note


def test_gradients_count_about_twice_the_forward_pass():
    dense = tf.keras.layers.Dense(32)
    dense.build((None, 64))

    @tf.function
    def train(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(dense(x))
        return tape.gradient(loss, [*dense.trainable_variables, x])

    x = tf.zeros((8, 64))
    assert matmul_flops(tf.function(lambda v: dense(v)), x) == 2 * 8 * 64 * 32
    assert matmul_flops(train, x) == 3 * 2 * 8 * 64 * 32  # forward, kernel gradient, input gradient


@pytest.mark.parametrize(
    "layer",
    [
        tf.keras.layers.Conv1D(6, 5, strides=2, padding="same"),
        tf.keras.layers.Conv1DTranspose(6, 5, strides=2, padding="same"),
    ],
)
def test_a_convolutions_training_step_counts_forward_kernel_and_input_gradients(layer):
    x = tf.zeros((3, 16, 4))
    layer.build(x.shape)

    @tf.function
    def train(v):
        with tf.GradientTape() as tape:
            tape.watch(v)
            loss = tf.reduce_sum(layer(v))
        return tape.gradient(loss, [*layer.trainable_variables, v])

    # A strided convolution computes its 8 output positions; a transposed one scatters its 16 input positions.
    positions = 16 if isinstance(layer, tf.keras.layers.Conv1DTranspose) else 8
    forward = 2 * 3 * positions * 5 * 4 * 6
    assert matmul_flops(tf.function(lambda v: layer(v)), x) == forward
    assert matmul_flops(train, x) == 3 * forward


def test_loops_and_dynamic_shapes_are_refused():
    @tf.function
    def looped(x):
        return tf.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, tf.matmul(v, v)), [0, x])[1]

    with pytest.raises(ValueError, match="loop; its trip count is not in the graph"):
        matmul_flops(looped, tf.zeros((4, 4)))
    with pytest.raises(ValueError, match="not static"):
        matmul_flops(tf.function(lambda v: tf.matmul(v, v, transpose_b=True)), tf.TensorSpec([None, 4]))


def test_the_projection_is_iterations_times_the_measured_step():
    result = projection(flops_per_iteration=2e12, seconds_per_iteration=4.0, iterations=1000)
    assert result["achieved_gflops_per_second"] == 500.0 and result["projected_hours_here"] == round(4000 / 3600, 1)
    assert result["projected_hours_one_gpu"] == round(1000 * 2e12 / (494.7e12 * 0.3) / 3600, 2)
