"""Input checks of serving signatures.

A SavedModel signature checks its inputs' dtypes when called, but neither
`tf.saved_model.load` nor TF Serving checks their shapes: a wrong shape
fails deep inside the graph ("Incompatible shapes: [3] vs. [2,25,25,4]").
These checks fail first, with an `InvalidArgumentError` that names the input
and the shape it must have.

Only the fixed dimension sizes and the batch agreement of two inputs can be
checked at run time: the graph is traced for the signature's declared rank,
so TensorFlow folds `tf.rank` of an input to that constant.
"""

import tensorflow as tf


def checked(tensor, name, expected, description=""):
    """`tensor`, after asserting its fixed dimensions have the sizes in `expected`.

    Args:
        tensor: a signature input.
        name: the input's name in the signature (quoted in the error).
        expected: a list of ints or None (any size), e.g. `[None, None, None, 3]`.
        description: what the input is (e.g. "uint8 RGB faces"), quoted too.

    Returns:
        `tensor`, with the checks as control dependencies.
    """
    shown = (
        "["
        + ", ".join(
            "N" if i == 0 and size is None else ("?" if size is None else str(size)) for i, size in enumerate(expected)
        )
        + "]"
    )
    message = f"input {name} must have shape {shown}" + (f" ({description})" if description else "") + "; got shape"
    shape = tf.shape(tensor)
    # Padded so that a tensor of too low a rank fails this check, not an index.
    padded = tf.concat([shape, tf.fill([len(expected)], -1)], 0)
    fits = tf.constant(True)
    for axis, size in enumerate(expected):
        if size is not None:
            fits = tf.logical_and(fits, tf.equal(padded[axis], size))
    with tf.control_dependencies([tf.debugging.Assert(fits, [message, shape], summarize=8)]):
        return tf.identity(tensor)


def same_batch(first, first_name, second, second_name):
    """`second`, after asserting both inputs have the same first dimension."""
    message = f"inputs {first_name} and {second_name} must have the same batch size N; got"
    sizes = [tf.shape(first)[0], tf.shape(second)[0]]
    with tf.control_dependencies([tf.debugging.Assert(tf.equal(*sizes), [message, *sizes])]):
        return tf.identity(second)


def finite(tensor, name, description=""):
    """`tensor`, after asserting every value is finite (no NaN or infinity), naming the input."""
    message = (
        f"input {name} must be finite"
        + (f" ({description})" if description else "")
        + "; it holds NaN or infinite values"
    )
    with tf.control_dependencies([tf.debugging.Assert(tf.reduce_all(tf.math.is_finite(tensor)), [message])]):
        return tf.identity(tensor)
