"""train.precision: layers under mixed_bfloat16 near float32, float32 where the maths needs it, short trainings."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfxmodal.layers import ConditionalBatchNorm, MatmulConv1DTranspose, SpectralNormalization
from tfxmodal.models import AudioEmbedder, AudioMetric, AuxDiscriminator, WaveGANDiscriminator, WaveGANGenerator
from tfxmodal.trainers.face2music import Face2MusicGAN
from tfxmodal.utils.precision import check_precision, precision_scope

# bfloat16 keeps 8 significant bits (relative rounding 2⁻⁸ ≈ 0.4 %) and oneDNN accumulates its products in
# float32: a layer's output is within ~1 % of float32's, measured against the output's largest magnitude.
BF16_TOLERANCE = 0.02

LAYERS = {
    "sn_dense": (lambda dtype: SpectralNormalization(keras.layers.Dense(16, dtype=dtype), dtype=dtype), (4, 32)),
    "sn_conv1d": (
        lambda dtype: SpectralNormalization(keras.layers.Conv1D(8, 25, strides=4, padding="same", dtype=dtype), dtype=dtype),
        (4, 64, 3),
    ),
    "sn_matmul_conv1d_transpose": (
        lambda dtype: SpectralNormalization(MatmulConv1DTranspose(8, 25, strides=4, padding="same", dtype=dtype), dtype=dtype),
        (4, 16, 6),
    ),
    "matmul_conv1d_transpose": (lambda dtype: MatmulConv1DTranspose(8, 25, strides=2, padding="same", dtype=dtype), (4, 9, 6)),
}  # fmt: skip


def relative_error(actual, expected):
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    return float(np.max(np.abs(actual - expected)) / np.max(np.abs(expected)))


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_under_bfloat16_is_near_float32_and_keeps_float32_variables(name):
    factory, shape = LAYERS[name]
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    reference, mixed = factory("float32"), factory("mixed_bfloat16")
    reference.build(shape)
    mixed.build(shape)
    mixed.set_weights(reference.get_weights())
    for training in (True, False):
        expected = reference(x, training=training) if "sn" in name else reference(x)
        actual = mixed(x, training=training) if "sn" in name else mixed(x)
        assert actual.dtype == "bfloat16"
        assert relative_error(actual, expected) < BF16_TOLERANCE
    assert all(weight.dtype == "float32" for weight in mixed.weights)
    if "sn" in name:
        # The power iteration runs in float32, on the kernel as Keras's autocast hands it to the call
        # (rounded to bfloat16): u agrees to bfloat16's rounding, and stays a float32 unit vector.
        np.testing.assert_allclose(mixed.vector_u.numpy(), reference.vector_u.numpy(), atol=BF16_TOLERANCE)
        assert mixed.vector_u.dtype == "float32"
        assert np.linalg.norm(mixed.vector_u.numpy()) == pytest.approx(1.0, abs=1e-5)


def test_conditional_batch_norm_statistics_stay_float32():
    x = np.random.default_rng(1).normal(3.0, 2.0, size=(8, 16, 4)).astype("float32")
    labels = np.arange(8) % 3
    reference, mixed = ConditionalBatchNorm(3), ConditionalBatchNorm(3, dtype="mixed_bfloat16")
    expected = reference(x, labels, training=True)
    actual = mixed(x, labels, training=True)
    assert actual.dtype == "bfloat16"
    assert relative_error(actual, expected) < BF16_TOLERANCE
    for variable in mixed.batch_norm.non_trainable_weights:  # the moving mean and variance
        assert variable.dtype == "float32"
    np.testing.assert_allclose(
        [v.numpy() for v in mixed.batch_norm.non_trainable_weights],
        [v.numpy() for v in reference.batch_norm.non_trainable_weights],
        rtol=1e-2,
    )


def test_generator_under_bfloat16_outputs_float32_near_float32():
    rng = np.random.default_rng(2)
    z = rng.normal(size=(4, 512)).astype("float32")
    pitch = rng.integers(0, 61, 4).astype("int32")
    reference = WaveGANGenerator(2, spectral_norm=True, output_batch_norm=False)
    mixed = WaveGANGenerator(2, spectral_norm=True, output_batch_norm=False, dtype="mixed_bfloat16")
    for generator in (reference, mixed):
        generator.build((None, 512))
    mixed.set_weights(reference.get_weights())
    assert mixed.upconvs[0].layer.compute_dtype == "bfloat16" and mixed.norms[0].compute_dtype == "bfloat16"
    for training in (True, False):
        expected, actual = reference(z, pitch, training=training), mixed(z, pitch, training=training)
        assert actual.dtype == "float32"
        # Seven layers of bfloat16 rounding compound: a few percent of the waveform's peak.
        assert relative_error(actual, expected) < 0.05


def tiny_gan(precision):
    with precision_scope(precision):
        generator = WaveGANGenerator(width=2, spectral_norm=True, output_batch_norm=False)
        discriminator = WaveGANDiscriminator(width=2, seed=0, batch_norm=False)
        generator.build((None, 512))
        discriminator.build((None, 8192, 1))
        aux = AuxDiscriminator()
        aux.build((None, 505))
    assert keras.config.dtype_policy().name == "float32"  # restored
    metric = AudioMetric(AudioEmbedder(width=2))  # φ: float32 features whatever the policy
    metric.build()
    gan = Face2MusicGAN(generator, discriminator, "aux", metric, aux, critic_steps=2, target_stats=(1.0, 0.2))
    gan.compile({name: keras.optimizers.Adam(1e-3, beta_1=0.5) for name in ("generator", "discriminator", "aux")})
    return gan


@pytest.mark.slow  # three GANs traced: ~40 s on 2 cores
def test_short_trainings_under_mixed_precision_give_finite_losses_near_float32():
    rng = np.random.default_rng(3)
    t = np.arange(8192) / 16000
    batch = {
        "audio": tf.constant((0.3 * np.sin(2 * np.pi * rng.uniform(100, 1000, (4, 2, 1)) * t)).astype("float32")),
        "pitch": tf.constant(rng.integers(0, 61, (4, 2)).astype("int32")),
        "embedding": tf.constant(rng.normal(size=(4, 3, 512)).astype("float32")),
    }
    keras.utils.set_random_seed(0)
    reference = tiny_gan("float32")
    weights = {name: net.get_weights() for name, net in reference.networks().items()}
    losses = {}
    for precision in ("float32", "mixed_bfloat16", "mixed_float16"):
        gan = reference if precision == "float32" else tiny_gan(precision)
        for name, net in gan.networks().items():
            net.set_weights(weights[name])
        if precision == "mixed_float16":
            assert isinstance(gan.optimizer_named("generator"), keras.optimizers.LossScaleOptimizer)
        else:
            assert not isinstance(gan.optimizer_named("generator"), keras.optimizers.LossScaleOptimizer)
        step = tf.function(gan.train_step)
        for _ in range(3):
            result = {key: float(value) for key, value in step(batch).items()}
        # float16's first steps can overflow at the initial loss scale (2¹⁵): the optimizer skips them
        # and halves the scale, and only their reported gradient norms are inf.
        assert all(np.isfinite(v) for k, v in result.items() if not k.startswith("grad_norm")), (precision, result)
        losses[precision] = result
        if precision == "mixed_float16":  # the optimizers' dynamic loss scale, float32 and finite
            assert 0 < float(gan.loss_scale("generator")) <= 2.0**15
    # float16's skipped first steps make its losses differ; bfloat16 needs no scaling and follows float32.
    for precision in ("mixed_bfloat16",):
        for key in ("d_loss", "g_adversarial", "metric_loss", "aux_d_loss"):
            assert losses[precision][key] == pytest.approx(losses["float32"][key], rel=0.1, abs=0.05), (precision, key)
    # The reported gradient norms are unscaled.
    assert losses["mixed_bfloat16"]["grad_norm_generator"] == pytest.approx(
        losses["float32"]["grad_norm_generator"], rel=0.2
    )


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="precision"):
        check_precision("float16")


def test_networks_made_under_the_policy_keep_it_when_built_after_the_scope():
    """Sub-layers created in build() (the projection head's) take the network's policy, not the global one."""
    with precision_scope("mixed_bfloat16"):
        discriminator = WaveGANDiscriminator(width=2, seed=0, batch_norm=False)
    discriminator.build((None, 8192, 1))  # after the scope: the global policy is float32 again
    assert discriminator.head.linear.compute_dtype == "bfloat16"
    waveform = np.random.default_rng(0).uniform(-0.5, 0.5, (2, 8192, 1)).astype("float32")
    scores = discriminator(waveform, np.array([3, 40]), training=False)
    assert scores.shape == (2, 1) and np.all(np.isfinite(np.asarray(scores, np.float32)))
