"""Validation of integer class-label inputs shared by the conditional layers."""

import keras
import numpy as np
import tensorflow as tf
from keras import ops


def check_class_labels(labels, num_classes, owner):
    """Returns `labels` as an int32 `(batch,)` tensor, or raises.

    Accepts `(batch,)` or `(batch, 1)` integer labels. Eagerly, a label
    outside `[0, num_classes)` raises `ValueError` naming it; inside a
    `tf.function` the same check runs as a graph assertion
    (`InvalidArgumentError` with the same message). `owner` names the layer
    in messages.
    """
    if isinstance(labels, keras.KerasTensor):
        dtype, shape = labels.dtype, labels.shape
    else:
        labels = ops.convert_to_tensor(labels)
        dtype, shape = labels.dtype, tuple(labels.shape)
    if "int" not in str(dtype):
        raise TypeError(f"{owner}: class labels must be integers in [0, {num_classes}); got dtype {dtype}.")
    if len(shape) == 2 and shape[1] == 1:
        labels = ops.reshape(labels, (-1,))
    elif len(shape) != 1:
        raise ValueError(f"{owner}: class labels must have shape (batch,) or (batch, 1); got shape {tuple(shape)}.")
    labels = ops.cast(labels, "int32")
    if isinstance(labels, keras.KerasTensor):
        return labels
    message = f"{owner}: class label out of range [0, {num_classes})"
    if tf.executing_eagerly():
        values = np.asarray(labels)
        bad = values[(values < 0) | (values >= num_classes)]
        if bad.size:
            raise ValueError(f"{message}: got {bad.tolist()[:8]}.")
        return labels
    with tf.control_dependencies(
        [
            tf.debugging.assert_non_negative(labels, message=message),
            tf.debugging.assert_less(labels, num_classes, message=message),
        ]
    ):
        return tf.identity(labels)
