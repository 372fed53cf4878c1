"""Spectral normalization of a wrapped layer's kernel (Miyato et al. 2018)."""

import keras
from keras import ops

from tfxmodal.layers.transposed_conv1d import layer_conv_transpose

_SUPPORTED = (
    keras.layers.Dense,
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.Conv3D,
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
    keras.layers.Embedding,
)

_TRANSPOSED_CONVS = (
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
)


def _l2_normalize(x, epsilon=1e-12):
    return x * ops.rsqrt(ops.maximum(ops.sum(ops.square(x)), epsilon))


@keras.saving.register_keras_serializable(package="tfxmodal")
class SpectralNormalization(keras.layers.Wrapper):
    """Divides a layer's kernel by its largest singular value, W / σ(W).

    The wrapped layer's kernel variable is never overwritten: every call
    computes `W / σ(W)` from the live kernel and applies the layer's own
    operation (matmul, convolution, transposed convolution or lookup) with
    it, so the optimizer always updates the raw `W` and gradients flow
    through σ exactly as in the SN-GAN paper (the singular-vector estimate is
    held constant, `∂σ/∂W = v uᵀ`).

    σ is estimated by power iteration on the kernel reshaped to a matrix of
    shape `(fan_in, units)`, where `units` is the layer's output channels
    (for transposed convolutions, whose Keras kernel is
    `(*kernel_size, filters, in_channels)`, the `filters` axis). The right
    singular-vector estimate `u` (shape `(1, units)`) is a persistent,
    non-trainable weight updated by `power_iterations` steps on each call
    with `training=True` and left untouched otherwise, so inference with the
    same weights reproduces the last training-time σ = ‖W u‖.

    Where the layer's outputs are smaller than its kernel (the paper
    generator's first layers at small batches), the raw kernel is applied
    and the outputs are divided by σ: the same linear map without a pass
    over the whole kernel.

    Supported layers: `Dense`, `Conv1D/2D/3D`, `Conv1D/2D/3DTranspose` and
    `Embedding`.

    Args:
        layer: the `keras.layers.Layer` to wrap (not yet built, or built).
        power_iterations: int ≥ 1, power-iteration steps per training call.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: the wrapped layer's input.
        training: bool; when true, `u` is refined before normalizing.

    Example:
    >>> layer = SpectralNormalization(keras.layers.Dense(8))
    >>> y = layer(np.ones((2, 4), "float32"), training=True)
    >>> y.shape
    TensorShape([2, 8])
    """

    def __init__(self, layer, power_iterations=1, **kwargs):
        super().__init__(layer, **kwargs)
        if not isinstance(layer, _SUPPORTED):
            raise TypeError(
                "SpectralNormalization supports Dense, Conv*, Conv*Transpose "
                f"and Embedding layers; got {type(layer).__name__}."
            )
        if int(power_iterations) < 1 or int(power_iterations) != power_iterations:
            raise ValueError(f"`power_iterations` must be an integer >= 1; got {power_iterations!r}.")
        self.power_iterations = int(power_iterations)

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(input_shape)
        kernel = self._raw_kernel()
        self._kernel_shape = tuple(kernel.shape)
        self.vector_u = self.add_weight(
            shape=(1, self._units()),
            initializer=keras.initializers.RandomNormal(stddev=1.0),
            trainable=False,
            name="vector_u",
            dtype=self.variable_dtype,
            # Every replica computes the same `u` from the same kernel:
            # keep replica 0's value rather than all-reducing it.
            aggregation="only_first_replica",
        )
        self.built = True

    def _raw_kernel(self):
        if isinstance(self.layer, keras.layers.Embedding):
            return self.layer.embeddings
        return self.layer.kernel

    def _units(self):
        if isinstance(self.layer, _TRANSPOSED_CONVS):
            return self._kernel_shape[-2]
        return self._kernel_shape[-1]

    def _kernel_matrix(self, kernel):
        """The kernel as a `(fan_in, units)` matrix (a copy for transposed convolutions; σ avoids it)."""
        if isinstance(self.layer, _TRANSPOSED_CONVS):
            rank = len(self._kernel_shape)
            kernel = ops.transpose(kernel, [*list(range(rank - 2)), rank - 1, rank - 2])
        return ops.reshape(kernel, (-1, self._units()))

    def _times_u(self, kernel, u):
        """`W uᵀ`, `(fan_in, 1)`, for W the `(fan_in, units)` kernel matrix and u `(1, units)`.

        A transposed convolution's kernel `(…, units, in)` is read as
        `(positions, units, in)` blocks: a batched product, where
        transposing the kernel to `(…, in, units)` would copy all of it
        (52 M numbers in the paper generator's first layer).
        """
        if isinstance(self.layer, _TRANSPOSED_CONVS):
            blocks = ops.reshape(kernel, (-1, *self._kernel_shape[-2:]))
            return ops.reshape(ops.matmul(u, blocks), (-1, 1))  # rows in (position, in) order
        return ops.matmul(ops.reshape(kernel, (-1, self._units())), ops.transpose(u))

    def _times_v(self, kernel, v):
        """`v W`, `(1, units)`, for v `(1, fan_in)` (see `_times_u`)."""
        if isinstance(self.layer, _TRANSPOSED_CONVS):
            blocks = ops.reshape(kernel, (-1, *self._kernel_shape[-2:]))
            columns = ops.reshape(v, (blocks.shape[0], self._kernel_shape[-1], 1))
            return ops.reshape(ops.sum(ops.matmul(blocks, columns), axis=0), (1, self._units()))
        return ops.matmul(v, ops.reshape(kernel, (-1, self._units())))

    def _sigma(self, training):
        kernel = ops.cast(self._raw_kernel(), self.variable_dtype)
        u = ops.cast(self.vector_u, self.variable_dtype)
        if training:
            frozen = ops.stop_gradient(kernel)
            for _ in range(self.power_iterations):
                v = _l2_normalize(ops.transpose(self._times_u(frozen, u)))
                u = _l2_normalize(self._times_v(frozen, v))
            u = ops.stop_gradient(u)
            self.vector_u.assign(u)
        # σ = ‖W u‖ with u held constant: its gradient w.r.t. W is v uᵀ.
        return ops.sqrt(ops.sum(ops.square(self._times_u(kernel, u))))

    def _divides_outputs(self, inputs):
        """Whether to apply the raw kernel and divide the outputs by σ, not the kernel: the same
        map, cheaper where the outputs are smaller than the kernel (the paper generator's first
        layers at small batches)."""
        try:
            output_shape = self.layer.compute_output_shape(tuple(inputs.shape))
        except Exception:  # e.g. an Embedding's symbolic shapes; the kernel division always works
            return False
        if any(dim is None for dim in output_shape):
            return False
        kernel_size = 1
        for dim in self._kernel_shape:
            kernel_size *= dim
        outputs_size = 1
        for dim in output_shape:
            outputs_size *= dim
        return outputs_size < kernel_size

    def normalized_kernel(self, training=False):
        """Returns `W / σ(W)` in the wrapped layer's kernel shape.

        With `training=True` the persistent `u` is refined first (and the
        refinement is kept), exactly as in a training call.
        """
        kernel = ops.cast(self._raw_kernel(), self.variable_dtype)
        return kernel / self._sigma(training)

    def call(self, inputs, training=False):
        divides_outputs = self._divides_outputs(inputs)
        if divides_outputs:
            sigma = self._sigma(bool(training))
            kernel = ops.cast(self._raw_kernel(), self.compute_dtype)
        else:
            kernel = ops.cast(self.normalized_kernel(training=bool(training)), self.compute_dtype)
        return self._apply(inputs, kernel, sigma if divides_outputs else None)

    def _apply(self, inputs, kernel, sigma=None):
        """The wrapped layer's op with `kernel` (outputs divided by `sigma` if given), bias, activation."""
        layer = self.layer
        if isinstance(layer, keras.layers.Embedding):
            if inputs.dtype not in ("int32", "int64"):
                inputs = ops.cast(inputs, "int32")
            outputs = ops.take(kernel, inputs, axis=0)
            return outputs if sigma is None else outputs / ops.cast(sigma, outputs.dtype)
        if isinstance(layer, keras.layers.Dense):
            outputs = ops.matmul(inputs, kernel)
            channel_axis_last = True
        elif hasattr(layer, "transposed_convolution_op"):  # layers.MatmulConv1DTranspose
            outputs = layer.transposed_convolution_op(inputs, kernel)
            channel_axis_last = layer.data_format == "channels_last"
        elif isinstance(layer, _TRANSPOSED_CONVS):
            outputs = layer_conv_transpose(layer, inputs, kernel)
            channel_axis_last = layer.data_format == "channels_last"
        else:
            outputs = layer.convolution_op(inputs, kernel)
            channel_axis_last = layer.data_format == "channels_last"
        if sigma is not None:
            outputs = outputs / ops.cast(sigma, outputs.dtype)
        if layer.use_bias:
            bias = ops.cast(layer.bias, self.compute_dtype)
            if not channel_axis_last:
                bias = ops.reshape(bias, (1, -1) + (1,) * (len(outputs.shape) - 2))
            outputs = outputs + bias
        if layer.activation is not None:
            outputs = layer.activation(outputs)
        return outputs

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"power_iterations": self.power_iterations})
        return config
