"""CAR-GAN's discriminator: a pix2pix PatchGAN with self-attention (Duan et al. 2020, Sec. III-E)."""

import keras
from keras import ops

from tfxmodal.layers import SelfAttention2D
from tfxmodal.models.car_gan import tile_label
from tfxmodal.models.unet import BN_EPSILON, BN_MOMENTUM, LEAKY_SLOPE, gan_initializers


@keras.saving.register_keras_serializable(package="tfxmodal")
class PatchGANDiscriminator(keras.Model):
    """(LMS, image) pair → a map of real/fake logits, one per overlapping patch.

    pix2pix's `n_layers` PatchGAN on the channel-wise concatenation of the
    log-mel "image" A (1 channel) and an image (3 channels):

    - conv 4×4 stride 2 (ndf) → LeakyReLU(0.2);
    - for n = 1 … num_layers − 1: conv 4×4 stride 2 (ndf · min(2^n, 8)) →
      batch norm → [self-attention] → LeakyReLU;
    - conv 4×4 stride 1 padding 1 (ndf · min(2^num_layers, 8)) → batch norm →
      LeakyReLU;
    - conv 4×4 stride 1 padding 1 (1 channel): logits (no sigmoid — the
      losses take logits); with `bounded_output` through tanh, as the
      authors' released code does (`models/networks.py`).

    With num_layers = 3 and 256×256 inputs the output is 30×30 logits, each
    seeing a 70×70 patch. Attention sits where the authors' code puts it —
    after the batch norm of the stride-2 convolutions 2 and 3 (64×64×128 and
    32×32×256 at 256×256), so the last attention block comes before the last
    two convolutions (the paper's "attention layers before the last two
    convolution layers"; the stride-1 maps are odd-sized and could not use
    2×2 key pooling).

    Args:
        base_filters: ndf (paper: 64).
        num_layers: stride-2 convolutions (pix2pix "basic": 3).
        attention: add the self-attention blocks (ablation A: False).
        key_channels_divisor, downsample_keys: of `SelfAttention2D` (authors: 4, True).
        init_stddev: σ of the N(0, σ) kernel and N(1, σ) gamma initializers.
        seed: optional initializer seed.
        label_channels: K > 0 conditions D also on a label vector tiled over
            the image (the authors' code; the paper's D sees (A, I) only).
        bounded_output: tanh on the logits (the authors' code), so they lie
            in (−1, 1).
        projection_classes: K > 0 adds a projection discriminator's label
            term (Miyato & Koyama 2018, "cGANs with Projection
            Discriminator"): each patch logit gets `⟨V y, mean_patches(h)⟩`,
            h the trunk's last hidden map (`features`), y the class vector
            (`class_label`), V a learnt `(K, channels)` embedding — not in
            the paper, whose D sees (A, I) only.

    Call arguments:
        lms: float32 `(batch, S, S, 1)`.
        image: float32 `(batch, S, S, 3)` in [−1, 1].
        label: float32 `(batch, K)`, required with `label_channels` K > 0.
        class_label: float32 `(batch, K)` (one-hot instrument), required with
            `projection_classes` K > 0.
        training: bool (batch statistics).

    Returns:
        float32 `(batch, P, P, 1)` logits; P = S / 2^num_layers − 2.
    """

    def __init__(
        self,
        base_filters=64,
        num_layers=3,
        attention=True,
        key_channels_divisor=4,
        downsample_keys=True,
        init_stddev=0.02,
        seed=None,
        label_channels=0,
        bounded_output=False,
        projection_classes=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.projection_classes = int(projection_classes)
        self.label_channels = int(label_channels)
        self.bounded_output = bool(bounded_output)
        self.base_filters = int(base_filters)
        self.num_layers = int(num_layers)
        self.attention = bool(attention)
        self.key_channels_divisor = int(key_channels_divisor)
        self.downsample_keys = bool(downsample_keys)
        self.init_stddev = float(init_stddev)
        self.seed = seed
        if self.num_layers < 1 or self.base_filters < 1:
            raise ValueError("PatchGANDiscriminator: num_layers and base_filters must be >= 1")
        kernel_init, gamma_init = gan_initializers(self.init_stddev, seed)

        def filters(n):
            return self.base_filters * min(2**n, 8)

        def conv(channels, strides, name, use_bias):
            return keras.layers.Conv2D(
                channels,
                4,
                strides=strides,
                padding="same" if strides == 2 else "valid",
                use_bias=use_bias,
                kernel_initializer=kernel_init,
                name=name,
            )

        def norm(name):
            return keras.layers.BatchNormalization(
                momentum=BN_MOMENTUM, epsilon=BN_EPSILON, gamma_initializer=gamma_init, name=name
            )

        # Layers by name (checkpoints key variables by their paths, which the names make stable).
        self.blocks = {"conv0": conv(filters(0), 2, "conv0", use_bias=True)}
        for n in range(1, self.num_layers + 1):
            strides = 2 if n < self.num_layers else 1
            self.blocks[f"conv{n}"] = conv(filters(n), strides, f"conv{n}", use_bias=False)
            # Batch norm on every convolution but the first and the last.
            self.blocks[f"conv{n}_bn"] = norm(f"conv{n}_bn")
            if self.attention and n < self.num_layers:
                self.blocks[f"conv{n}_attention"] = SelfAttention2D(
                    key_channels_divisor=self.key_channels_divisor,
                    downsample_keys=self.downsample_keys,
                    kernel_initializer=kernel_init,
                    name=f"conv{n}_attention",
                )
        self.output_conv = conv(1, 1, "logits", use_bias=True)
        # V of the projection term: y (batch, K) -> (batch, channels), no bias (Miyato & Koyama 2018, Eq. 3).
        self.projection = (
            keras.layers.Dense(
                filters(self.num_layers), use_bias=False, kernel_initializer=kernel_init, name="projection"
            )
            if self.projection_classes
            else None
        )
        self.pad = keras.layers.ZeroPadding2D(1)  # PyTorch padding=1 of the stride-1 convolutions

    @property
    def convs(self):
        return [self.blocks[f"conv{n}"] for n in range(self.num_layers + 1)]

    @property
    def norms(self):
        return [self.blocks[f"conv{n}_bn"] for n in range(1, self.num_layers + 1)]

    @property
    def attention_blocks(self):
        return [self.blocks[f"conv{n}_attention"] for n in range(1, self.num_layers) if self.attention]

    def build(self, lms_shape, image_shape=None):
        image_shape = image_shape or (*tuple(lms_shape[:-1]), 3)
        shape = (*tuple(lms_shape[:-1]), lms_shape[-1] + image_shape[-1] + self.label_channels)
        for index, conv in enumerate(self.convs):
            if index == len(self.convs) - 1:
                self.pad.build(shape)
                shape = self.pad.compute_output_shape(shape)
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
            if index >= 1:
                self.norms[index - 1].build(shape)
            if 1 <= index <= len(self.attention_blocks):
                self.attention_blocks[index - 1].build(shape)
        if self.projection is not None:
            self.projection.build((lms_shape[0], self.projection_classes))
        shape = self.pad.compute_output_shape(shape)
        self.output_conv.build(shape)
        self.built = True

    def features(self, lms, image, label=None, training=None):
        """The trunk: the last hidden map before the logits convolution.

        Same arguments as `call`. Returns `(batch, P + 2, P + 2, ndf · min(2^num_layers, 8))`
        (LeakyReLU activations), P the side of `call`'s logits map.
        """
        parts = [lms, ops.cast(image, lms.dtype)]
        if self.label_channels:
            if label is None:
                raise ValueError(f"{self.name}: conditioned on {self.label_channels} label channels; pass label=")
            parts.append(tile_label(ops.cast(label, lms.dtype), lms.shape[1], lms.shape[2]))
        x = ops.concatenate(parts, axis=-1)
        last = len(self.convs) - 1
        for index, conv in enumerate(self.convs):
            x = conv(self.pad(x) if index == last else x)
            if index >= 1:
                x = self.norms[index - 1](x, training=training)
            if 1 <= index <= len(self.attention_blocks):
                x = self.attention_blocks[index - 1](x)
            x = ops.leaky_relu(x, LEAKY_SLOPE)
        return x

    def call(self, lms, image, label=None, class_label=None, training=None):
        hidden = self.features(lms, image, label=label, training=training)
        logits = self.output_conv(self.pad(hidden))
        if self.projection is not None:
            if class_label is None:
                raise ValueError(f"{self.name}: a projection discriminator; pass class_label=")
            embedded = self.projection(ops.cast(class_label, hidden.dtype))  # (batch, channels)
            pooled = ops.mean(hidden, axis=(1, 2))
            logits = logits + ops.sum(embedded * pooled, axis=-1)[:, None, None, None]
        # float32 under a mixed-precision policy too (train.precision): the losses read it.
        logits = ops.cast(logits, "float32")
        return ops.tanh(logits) if self.bounded_output else logits

    def compute_output_shape(self, lms_shape, image_shape=None):
        side = [None if s is None else s // 2**self.num_layers - 2 for s in lms_shape[1:3]]
        return (lms_shape[0], side[0], side[1], 1)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "base_filters": self.base_filters,
                "num_layers": self.num_layers,
                "attention": self.attention,
                "key_channels_divisor": self.key_channels_divisor,
                "downsample_keys": self.downsample_keys,
                "init_stddev": self.init_stddev,
                "seed": self.seed,
                "label_channels": self.label_channels,
                "bounded_output": self.bounded_output,
                "projection_classes": self.projection_classes,
            }
        )
        return config
