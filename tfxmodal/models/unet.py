"""CAR-GAN's generators: a pix2pix U-Net with self-attention (Duan et al. 2020, Sec. III-E).

Both G1 and G2 are this network; only their input channels differ (the
task concatenates the LMS or the coarse image with a tiled label vector).
"""

import keras
from keras import ops

from tfxmodal.layers import SelfAttention2D

LEAKY_SLOPE = 0.2
# PyTorch's BatchNorm2d defaults (momentum 0.1 of the new value, eps 1e-5),
# which pix2pix and the CAR-GAN authors use.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5
MIN_DOWNS = 5  # the two attention levels, the 4·ngf level and the bottleneck


def gan_initializers(stddev, seed=None):
    """`(conv kernel, batch-norm gamma)` initializers of pix2pix: N(0, σ) and N(1, σ).

    The paper says σ = 0.2 in one place; pix2pix and the authors' code use
    0.02, which is our default (`model.init_stddev`).
    """
    kernel = keras.initializers.RandomNormal(0.0, stddev, seed=seed)
    gamma = keras.initializers.RandomNormal(1.0, stddev, seed=None if seed is None else seed + 1)
    return kernel, gamma


def level_filters(base_filters, level):
    """Channels of U-Net level `level` (0 = outermost): ngf · min(2^level, 8)."""
    return base_filters * min(2**level, 8)


@keras.saving.register_keras_serializable(package="tfxmodal")
class UNetGenerator(keras.Model):
    """pix2pix U-Net (Isola et al. 2017) with SAGAN attention before its last two convolutions.

    Encoder: `num_downs` convolutions 4×4, stride 2, padding 1 ("same"),
    channels ngf, 2ngf, 4ngf, 8ngf, 8ngf, …; LeakyReLU(0.2) before each but
    the first, batch norm after each but the first and the innermost (a
    1×1 bottleneck when `2^num_downs` equals the input side).
    Decoder: the mirror image with ReLU → 4×4 stride-2 transposed
    convolution → batch norm, each output concatenated with the encoder
    feature map of the same size (skip connection); dropout after the
    8ngf levels between the innermost and the 4ngf level (pix2pix's noise);
    the last transposed convolution maps to `output_channels` through tanh.

    Attention (`attention=True`): one `SelfAttention2D` on each of the
    decoder outputs at levels 1 (2ngf channels) and 0 (ngf channels) — the
    feature maps that feed the last two (transposed) convolutions — as in the
    paper (Sec. III-E) and the authors' code. At 256×256 these are the
    64×64×128 and 128×128×64 maps.

    Args:
        output_channels: channels of the output image (3, RGB).
        base_filters: ngf (paper: 64).
        num_downs: stride-2 levels; the input side must be a multiple of
            `2**num_downs` (pix2pix's unet_256: 8). At least 5.
        attention: add the two self-attention blocks (ablation A: False).
        dropout: dropout rate of the 8ngf decoder levels (pix2pix: 0.5;
            active only when training).
        key_channels_divisor: query/key channels = C // this (authors: 4).
        downsample_keys: max-pool keys and values 2×2 (authors' code).
        init_stddev: σ of the N(0, σ) kernel and N(1, σ) gamma initializers.
        seed: optional initializer seed.

    Call arguments:
        inputs: float32 `(batch, S, S, input_channels)`.
        training: bool: batch statistics and dropout.

    Returns:
        float32 `(batch, S, S, output_channels)` in (−1, 1).
    """

    def __init__(
        self,
        output_channels=3,
        base_filters=64,
        num_downs=8,
        attention=True,
        dropout=0.5,
        key_channels_divisor=4,
        downsample_keys=True,
        init_stddev=0.02,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.output_channels = int(output_channels)
        self.base_filters = int(base_filters)
        self.num_downs = int(num_downs)
        self.attention = bool(attention)
        self.dropout = float(dropout)
        self.key_channels_divisor = int(key_channels_divisor)
        self.downsample_keys = bool(downsample_keys)
        self.init_stddev = float(init_stddev)
        self.seed = seed
        if self.num_downs < MIN_DOWNS:
            raise ValueError(f"UNetGenerator: num_downs must be >= {MIN_DOWNS}, got {num_downs!r}")
        if self.base_filters < 1 or self.output_channels < 1:
            raise ValueError("UNetGenerator: base_filters and output_channels must be >= 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"UNetGenerator: dropout must be in [0, 1), got {dropout!r}")
        kernel_init, gamma_init = gan_initializers(self.init_stddev, seed)
        innermost = self.num_downs - 1

        def conv(filters, name, use_bias, transposed=False):
            layer = keras.layers.Conv2DTranspose if transposed else keras.layers.Conv2D
            # k=4, s=2, "same" pads 1 on each side: PyTorch's padding=1.
            return layer(
                filters, 4, strides=2, padding="same", use_bias=use_bias, kernel_initializer=kernel_init, name=name
            )

        def norm(name):
            return keras.layers.BatchNormalization(
                momentum=BN_MOMENTUM, epsilon=BN_EPSILON, gamma_initializer=gamma_init, name=name
            )

        # Layers by name (checkpoints key variables by their paths, which the names make stable).
        self.blocks = {}
        for level in range(self.num_downs):
            # Convolutions followed by batch norm need no bias (pix2pix).
            self._add(
                f"down{level}",
                conv(level_filters(self.base_filters, level), f"down{level}", use_bias=level in (0, innermost)),
            )
        for level in range(1, innermost):
            self._add(f"down{level}_bn", norm(f"down{level}_bn"))
        for level in range(innermost):
            self._add(
                f"up{level}",
                conv(level_filters(self.base_filters, level), f"up{level}", use_bias=False, transposed=True),
            )
            self._add(f"up{level}_bn", norm(f"up{level}_bn"))
        self.output_conv = conv(self.output_channels, "output", use_bias=True, transposed=True)
        # pix2pix's dropout levels: the 8ngf levels below the innermost one.
        self.dropout_levels = tuple(range(3, innermost - 1)) if self.dropout > 0 else ()
        for level in self.dropout_levels:
            self._add(f"up{level}_dropout", keras.layers.Dropout(self.dropout, name=f"up{level}_dropout"))
        self.attention_levels = (1, 0) if self.attention else ()
        for level in self.attention_levels:
            self._add(
                f"up{level}_attention",
                SelfAttention2D(
                    key_channels_divisor=self.key_channels_divisor,
                    downsample_keys=self.downsample_keys,
                    kernel_initializer=kernel_init,
                    name=f"up{level}_attention",
                ),
            )

    def _add(self, name, layer):
        self.blocks[name] = layer

    def _get(self, name):
        return self.blocks.get(name)

    @property
    def down_convs(self):
        return [self._get(f"down{level}") for level in range(self.num_downs)]

    @property
    def down_norms(self):
        return [self._get(f"down{level}_bn") for level in range(1, self.num_downs - 1)]

    @property
    def up_convs(self):
        return [self._get(f"up{level}") for level in range(self.num_downs - 1)]

    @property
    def up_norms(self):
        return [self._get(f"up{level}_bn") for level in range(self.num_downs - 1)]

    @property
    def dropouts(self):
        return [self._get(f"up{level}_dropout") for level in self.dropout_levels]

    @property
    def attention_blocks(self):
        return [self._get(f"up{level}_attention") for level in self.attention_levels]

    def _down_norm(self, level):
        return self._get(f"down{level}_bn")

    def _dropout(self, level):
        return self._get(f"up{level}_dropout")

    def _attention(self, level):
        return self._get(f"up{level}_attention")

    def _check_shape(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(f"UNetGenerator: expected (batch, S, S, channels), got {tuple(input_shape)}")
        factor = 2**self.num_downs
        for size in input_shape[1:3]:
            if size is not None and size % factor:
                raise ValueError(
                    f"UNetGenerator({self.num_downs} downsamplings): height and width must be "
                    f"multiples of {factor}, got {tuple(input_shape)}"
                )

    def build(self, input_shape):
        self._check_shape(input_shape)
        _batch, _height, _width, _ = input_shape
        shape = tuple(input_shape)
        skips = []
        for level, conv in enumerate(self.down_convs):
            conv.build(shape)
            shape = tuple(conv.compute_output_shape(shape))
            if self._down_norm(level) is not None:
                self._down_norm(level).build(shape)
            skips.append(shape)
        for level in reversed(range(self.num_downs - 1)):
            self._get(f"up{level}").build(shape)
            shape = tuple(self._get(f"up{level}").compute_output_shape(shape))
            self._get(f"up{level}_bn").build(shape)
            if self._attention(level) is not None:
                self._attention(level).build(shape)
            shape = (*shape[:-1], shape[-1] + skips[level][-1])
        self.output_conv.build(shape)
        self.built = True

    def call(self, inputs, training=None):
        skips = []
        x = inputs
        for level, conv in enumerate(self.down_convs):
            if level > 0:
                x = ops.leaky_relu(x, LEAKY_SLOPE)
            x = conv(x)
            if self._down_norm(level) is not None:
                x = self._down_norm(level)(x, training=training)
            skips.append(x)
        for level in reversed(range(self.num_downs - 1)):
            x = self._get(f"up{level}_bn")(self._get(f"up{level}")(ops.relu(x)), training=training)
            if self._dropout(level) is not None:
                x = self._dropout(level)(x, training=training)
            if self._attention(level) is not None:
                x = self._attention(level)(x)
            x = ops.concatenate([x, skips[level]], axis=-1)
        return ops.tanh(self.output_conv(ops.relu(x)))

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape[:-1]), self.output_channels)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "output_channels": self.output_channels,
                "base_filters": self.base_filters,
                "num_downs": self.num_downs,
                "attention": self.attention,
                "dropout": self.dropout,
                "key_channels_divisor": self.key_channels_divisor,
                "downsample_keys": self.downsample_keys,
                "init_stddev": self.init_stddev,
                "seed": self.seed,
            }
        )
        return config
