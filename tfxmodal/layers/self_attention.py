"""SAGAN self-attention over the positions of a 2-D feature map."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfxmodal")
class SelfAttention2D(keras.layers.Layer):
    """Non-local self-attention block of SAGAN (Zhang et al. 2019).

    With `N = H·W` positions, 1×1 convolutions give queries `f(x)` and keys
    `g(x)` with `C // key_channels_divisor` channels and values `h(x)` with
    `C` channels; `β = softmax(f gᵀ)` (rows over the keys) mixes the values
    and the block returns `x + γ · β h`, where the scalar `γ` is learned and
    starts at 0, so the block begins as the identity and learns how much
    non-local evidence to use.

    `downsample_keys=True` max-pools keys and values 2×2 before attending
    (BigGAN; the CAR-GAN authors' code), cutting the `N × N` attention map
    to `N × N/4`: at 128×128 a full map is 16384² floats per image.

    Args:
        key_channels_divisor: int, `C / (query and key channels)`; SAGAN
            uses 8, the CAR-GAN authors' code 4.
        downsample_keys: bool, max-pool keys and values 2×2.
        kernel_initializer: initializer of the 1×1 convolutions.
        **kwargs: base layer arguments.

    Call arguments:
        inputs: float tensor `(batch, height, width, channels)`; with
            `downsample_keys`, height and width must be even.

    Returns:
        Tensor with the shape of `inputs`.
    """

    def __init__(
        self,
        key_channels_divisor=8,
        downsample_keys=False,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(key_channels_divisor) < 1:
            raise ValueError(f"`key_channels_divisor` must be >= 1; got {key_channels_divisor!r}.")
        self.key_channels_divisor = int(key_channels_divisor)
        self.downsample_keys = bool(downsample_keys)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(
                "SelfAttention2D expects (batch, height, width, channels) "
                f"inputs with known channels; got {tuple(input_shape)}."
            )
        if self.downsample_keys and any(size is not None and size % 2 for size in input_shape[1:3]):
            raise ValueError(
                f"SelfAttention2D(downsample_keys=True) needs even height and width; got {tuple(input_shape)}."
            )
        channels = input_shape[-1]
        key_channels = max(1, channels // self.key_channels_divisor)

        def conv(filters, name):
            layer = keras.layers.Conv2D(
                filters,
                1,
                kernel_initializer=self.kernel_initializer,
                dtype=self.dtype_policy,
                name=name,
            )
            layer.build(input_shape)
            return layer

        self.query_conv = conv(key_channels, "query")
        self.key_conv = conv(key_channels, "key")
        self.value_conv = conv(channels, "value")
        self.gamma = self.add_weight(shape=(), initializer="zeros", name="gamma")
        self.built = True

    def _flatten_positions(self, x):
        return ops.reshape(x, (ops.shape(x)[0], -1, x.shape[-1]))

    def call(self, inputs):
        queries = self._flatten_positions(self.query_conv(inputs))
        keys = self.key_conv(inputs)
        values = self.value_conv(inputs)
        if self.downsample_keys:
            keys = ops.max_pool(keys, 2, 2)
            values = ops.max_pool(values, 2, 2)
        keys = self._flatten_positions(keys)
        values = self._flatten_positions(values)
        attention = ops.softmax(ops.matmul(queries, ops.transpose(keys, (0, 2, 1))), axis=-1)
        attended = ops.reshape(ops.matmul(attention, values), ops.shape(inputs))
        return inputs + ops.cast(self.gamma, inputs.dtype) * attended

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "key_channels_divisor": self.key_channels_divisor,
                "downsample_keys": self.downsample_keys,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
