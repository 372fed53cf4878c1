"""`keras.layers.Conv1DTranspose` computed as one matrix product and an overlap-add, or as polyphase convolutions."""

import keras
from keras import ops


def _same_padding_left(kernel_size, stride):
    """Left padding of the strided convolution whose input gradient a `'same'` transposed convolution is."""
    return max(kernel_size - stride, 0) // 2


def matmul_conv1d_transpose(inputs, kernel, stride, padding):
    """The transposed 1-D convolution of `keras.ops.conv_transpose`, as a matrix product + overlap-add.

    A transposed convolution scatters every input position `i` to outputs
    `i·s + j − pad` (tap `j` of `k`): one product of the kernel, read as a
    `(k·filters, in)` matrix, with the inputs gives every tap's
    contribution `Z`, and adding `Z`'s taps at their offsets gives the
    output. No zeros are multiplied (TF's `Conv2DBackpropInput` dilates
    the input instead), and the product runs as `W · xᵀ` so that the large
    kernel is the untransposed left operand, TF's fast CPU layout (at the
    paper's first upsampling layer `x · Wᵀ` runs at half the speed).

    Args:
        inputs: `(batch, length, in_channels)`, `length` static.
        kernel: `(k, filters, in_channels)`, Keras's transposed-convolution layout.
        stride: int `s`.
        padding: `"same"` (output length `length·s`) or `"valid"`
            (`(length − 1)·s + k`).

    Returns:
        `(batch, output_length, filters)`.
    """
    length, in_channels = inputs.shape[1], inputs.shape[2]
    taps, filters = kernel.shape[0], kernel.shape[1]
    groups = -(-taps // stride)  # ceil(k / s): taps j = s·t + r are added at input offset t, phase r
    if padding == "same":
        start, output_length = _same_padding_left(taps, stride), length * stride
    else:
        start, output_length = 0, (length - 1) * stride + taps
    # (in, batch·length): transposing the inputs costs a k·filters-th of the product.
    columns = ops.transpose(ops.reshape(inputs, (-1, in_channels)))
    products = ops.matmul(ops.reshape(kernel, (taps * filters, in_channels)), columns)
    sizes = [stride] * (groups - 1) + [taps - stride * (groups - 1)]
    # A split along the first axis shares the product's buffer and its gradient is a concat, where
    # slicing would give every group a kernel-sized zero-filled gradient.
    if groups > 1:
        parts = ops.split(products, [sum(sizes[: index + 1]) * filters for index in range(groups - 1)], axis=0)
    else:
        parts = [products]
    shifted = []
    for offset, (part, size) in enumerate(zip(parts, sizes)):
        part = ops.reshape(part, (size, filters, -1, length))
        shifted.append(ops.pad(part, [(0, stride - size), (0, 0), (0, 0), (offset, groups - 1 - offset)]))
    summed = shifted[0]
    for part in shifted[1:]:
        summed = summed + part  # one pair at a time: the executor frees each group after its add
    # (phase, filters, batch, length + groups − 1) → (batch, (length + groups − 1)·s, filters).
    outputs = ops.reshape(ops.transpose(summed, (2, 3, 0, 1)), (-1, (length + groups - 1) * stride, filters))
    return outputs[:, start : start + output_length]


def polyphase_conv1d_transpose(inputs, kernel, stride, padding):
    """The transposed 1-D convolution of `keras.ops.conv_transpose`, as one stride-1 convolution.

    Tap `j = s·t + r` of the kernel sends input position `i` to output
    `s·(i + t) + r`; so output phase `r` is a stride-1 convolution of the
    inputs with the taps `r, r + s, …` (flipped), and the `s` phases are one
    stride-1 convolution with `s·filters` output channels, interleaved
    (depth to space). The kernel is zero-padded from `k` to `⌈k/s⌉·s` taps
    (28 of 25: 12 % more products), and nothing of the `k/s`-times-larger
    intermediate of `matmul_conv1d_transpose` is held: at the WaveGAN
    generator's last two layers (inputs of 1,024 and 4,096 positions, d = 64,
    batch 128) that intermediate made the training step peak at 10.3 GB
    resident instead of 7.0 GB.

    Args and returns: as `matmul_conv1d_transpose`.
    """
    length, in_channels = inputs.shape[1], inputs.shape[2]
    taps, filters = kernel.shape[0], kernel.shape[1]
    groups = -(-taps // stride)
    if padding == "same":
        start, output_length = _same_padding_left(taps, stride), length * stride
    else:
        start, output_length = 0, (length - 1) * stride + taps
    # (k, filters, in) → (⌈k/s⌉ flipped, in, s·filters): phase-major output channels.
    phases = ops.pad(kernel, [(0, groups * stride - taps), (0, 0), (0, 0)])
    phases = ops.flip(ops.reshape(phases, (groups, stride, filters, in_channels)), axis=0)
    phases = ops.reshape(ops.transpose(phases, (0, 3, 1, 2)), (groups, in_channels, stride * filters))
    padded = ops.pad(inputs, [(0, 0), (groups - 1, groups - 1), (0, 0)])
    outputs = ops.conv(padded, phases, strides=1, padding="valid")
    outputs = ops.reshape(outputs, (-1, (length + groups - 1) * stride, filters))
    return outputs[:, start : start + output_length]


def layer_conv_transpose(layer, inputs, kernel):
    """`ops.conv_transpose` of `inputs` with `kernel` under a Keras transposed-convolution layer's settings."""
    return ops.conv_transpose(
        inputs,
        kernel,
        strides=list(layer.strides),
        padding=layer.padding,
        output_padding=layer.output_padding,
        dilation_rate=layer.dilation_rate,
        data_format=layer.data_format,
    )


@keras.saving.register_keras_serializable(package="tfxmodal")
class MatmulConv1DTranspose(keras.layers.Conv1DTranspose):
    """`keras.layers.Conv1DTranspose`, computed by `matmul_conv1d_transpose` or `polyphase_conv1d_transpose`.

    Inputs shorter than `polyphase_from_length` positions take the matrix
    product, longer ones the polyphase convolution, whose memory does not
    grow with `k/s` (measured at the WaveGAN generator's paper width: the
    `layer_timings` benchmark and docs/benchmarks.md).

    A subclass that changes only how the output is computed: the same
    arguments, the same variables (`kernel` of shape `(kernel_size,
    filters, in_channels)`, `bias` of shape `(filters,)`) with the same
    names and paths, so checkpoints and `.weights.h5` files of either
    layer load into the other. Configurations it does not cover
    (`channels_first`, `output_padding`, dilation, an unknown input
    length) fall back to the parent's `ops.conv_transpose`.

    On 2 CPU cores at the WaveGAN generator's paper width it is 1.5–2.5×
    faster than TF's `Conv2DBackpropInput` forward and backward (see the
    `layer_timings` benchmark); it holds a `(k·filters, batch·length)`
    intermediate, `k/s` times the output's size.

    Args:
        polyphase_from_length: input length from which the polyphase
            convolution is used (default 1024: the generator's last two
            layers at 8,192 samples); `None` never.
        **kwargs: `keras.layers.Conv1DTranspose`'s.

    Call arguments:
        inputs: float `(batch, length, in_channels)`.

    Returns:
        `(batch, length·strides, filters)` with `padding="same"`,
        `(batch, (length − 1)·strides + kernel_size, filters)` with `"valid"`.
    """

    def __init__(self, *args, polyphase_from_length=1024, **kwargs):
        super().__init__(*args, **kwargs)
        self.polyphase_from_length = None if polyphase_from_length is None else int(polyphase_from_length)

    def uses_matmul(self, inputs_shape):
        """Whether `matmul_conv1d_transpose` computes this layer for inputs of `inputs_shape`."""
        return (
            self.data_format == "channels_last"
            and self.output_padding is None
            and tuple(self.dilation_rate) == (1,)
            and self.padding in ("same", "valid")
            and inputs_shape[1] is not None
        )

    def transposed_convolution_op(self, inputs, kernel):
        """The transposed convolution of `inputs` with `kernel` (no bias, no activation)."""
        computation = self.computation(inputs.shape)
        if computation == "keras":
            return layer_conv_transpose(self, inputs, kernel)
        compute = polyphase_conv1d_transpose if computation == "polyphase" else matmul_conv1d_transpose
        return compute(inputs, kernel, self.strides[0], self.padding)

    def computation(self, inputs_shape):
        """`"matmul"`, `"polyphase"` or `"keras"` (the fallback): how inputs of `inputs_shape` are computed."""
        if not self.uses_matmul(inputs_shape):
            return "keras"
        if self.polyphase_from_length is not None and inputs_shape[1] >= self.polyphase_from_length:
            return "polyphase"
        return "matmul"

    def call(self, inputs):
        if not self.uses_matmul(inputs.shape):
            return super().call(inputs)
        outputs = self.transposed_convolution_op(inputs, self.kernel)
        if self.use_bias:
            outputs = ops.add(outputs, self.bias)
        if self.activation is not None:
            return self.activation(outputs)
        return outputs

    def get_config(self):
        return {**super().get_config(), "polyphase_from_length": self.polyphase_from_length}
