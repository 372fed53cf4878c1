"""Batch normalization with class-conditional scale and offset."""

import keras
from keras import ops

from tfxmodal.layers.labels import check_class_labels


@keras.saving.register_keras_serializable(package="tfxmodal")
class ConditionalBatchNorm(keras.layers.Layer):
    """Batch norm whose γ and β are looked up per class label.

    Conditional batch normalization (Dumoulin et al. 2017; de Vries et al.
    2017; Perez et al. 2018 "FiLM"): the input is normalized over every axis
    but the last with batch statistics (moving averages at inference), then
    scaled and shifted by `γ[y]`, `β[y]`, rows of two `(num_classes,
    channels)` tables initialised to ones and zeros, so that at
    initialisation the layer equals plain batch norm.

    Args:
        num_classes: int, number of class labels (labels are `0 ..
            num_classes - 1`).
        momentum: float, moving-average momentum of the batch statistics.
        epsilon: float, added to the variance.
        **kwargs: base layer arguments.

    Call arguments:
        inputs: float tensor `(batch, ..., channels)`.
        labels: int tensor `(batch,)` or `(batch, 1)` of class indices.
        training: bool, batch statistics (True) or moving averages.

    Returns:
        Tensor with the shape of `inputs`.

    Example:
    >>> cbn = ConditionalBatchNorm(num_classes=61)
    >>> y = cbn(np.zeros((4, 16, 32), "float32"), np.arange(4), training=True)
    """

    def __init__(self, num_classes, momentum=0.99, epsilon=1e-3, **kwargs):
        super().__init__(**kwargs)
        if int(num_classes) < 1:
            raise ValueError(f"`num_classes` must be >= 1; got {num_classes!r}.")
        self.num_classes = int(num_classes)
        self.momentum = momentum
        self.epsilon = epsilon
        self.batch_norm = keras.layers.BatchNormalization(
            momentum=momentum,
            epsilon=epsilon,
            center=False,
            scale=False,
            dtype=self.dtype_policy,
            name="batch_norm",
        )

    def build(self, inputs_shape, labels_shape=None):
        channels = inputs_shape[-1]
        if channels is None:
            raise ValueError(
                f"ConditionalBatchNorm needs a known channel (last) dimension; got input shape {inputs_shape}."
            )
        self.batch_norm.build(inputs_shape)
        self.gamma = self.add_weight(shape=(self.num_classes, channels), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(self.num_classes, channels), initializer="zeros", name="beta")
        self.built = True

    def call(self, inputs, labels, training=None):
        labels = check_class_labels(labels, self.num_classes, self.name)
        normalized = self.batch_norm(inputs, training=training)
        broadcast_shape = (-1,) + (1,) * (len(inputs.shape) - 2) + (inputs.shape[-1],)
        gamma = ops.reshape(ops.take(self.gamma, labels, axis=0), broadcast_shape)
        beta = ops.reshape(ops.take(self.beta, labels, axis=0), broadcast_shape)
        return normalized * ops.cast(gamma, normalized.dtype) + ops.cast(beta, normalized.dtype)

    def compute_output_shape(self, inputs_shape, labels_shape=None):
        return inputs_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "momentum": self.momentum,
                "epsilon": self.epsilon,
            }
        )
        return config
