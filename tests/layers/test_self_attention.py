import numpy as np
import pytest

from tests.support.harness import run_layer_test
from tfxmodal.layers import SelfAttention2D


def feature_map(shape=(2, 4, 6, 8), seed=0):
    return np.random.RandomState(seed).normal(size=shape).astype("float32")


def conv1x1(x, conv):
    return x @ conv.kernel.numpy()[0, 0] + conv.bias.numpy()


def max_pool_2x2(x):
    b, h, w, c = x.shape
    return x.reshape(b, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def numpy_attention(x, layer, gamma):
    b, h, w, _c = x.shape
    q = conv1x1(x, layer.query_conv).reshape(b, h * w, -1)
    k = conv1x1(x, layer.key_conv)
    v = conv1x1(x, layer.value_conv)
    if layer.downsample_keys:
        k, v = max_pool_2x2(k), max_pool_2x2(v)
    k = k.reshape(b, k.shape[1] * k.shape[2], -1)
    v = v.reshape(b, v.shape[1] * v.shape[2], -1)
    logits = q @ k.transpose(0, 2, 1)
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    return x + gamma * (weights @ v).reshape(x.shape)


def test_starts_as_identity():
    x = feature_map()
    np.testing.assert_allclose(SelfAttention2D()(x), x)


@pytest.mark.parametrize("downsample_keys", [False, True])
def test_matches_numpy_reference(downsample_keys):
    x = feature_map()
    layer = SelfAttention2D(key_channels_divisor=4, downsample_keys=downsample_keys)
    layer(x)
    layer.gamma.assign(0.7)
    assert layer.query_conv.filters == 2 and layer.value_conv.filters == 8
    np.testing.assert_allclose(layer(x), numpy_attention(x, layer, 0.7), rtol=1e-4, atol=1e-4)


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"\(batch, height, width, channels\)"):
        SelfAttention2D()(np.zeros((2, 4, 8), "float32"))
    with pytest.raises(ValueError, match="even height and width"):
        SelfAttention2D(downsample_keys=True)(np.zeros((1, 5, 4, 8), "float32"))
    with pytest.raises(ValueError, match="key_channels_divisor"):
        SelfAttention2D(key_channels_divisor=0)


def test_standard_layer_checks():
    run_layer_test(
        SelfAttention2D,
        {"key_channels_divisor": 4, "downsample_keys": True},
        feature_map(),
        expected_output_shape=(2, 4, 6, 8),
        expected_num_trainable_weights=7,
    )
