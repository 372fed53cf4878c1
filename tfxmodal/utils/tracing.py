"""Inference of a Keras model as one traced graph, reused across batches.

Eager Keras calls of large convolutional networks let the CPU allocator
grow: 64 faces of 224² through the ResNet-50 face embedder peaked at
10.2 GB resident eager and 1.8 GB traced (1.2× faster); the d = 64 WaveGAN
generator at batch 128 at 6.3 GB eager and 5.0 GB traced (docs/benchmarks.md,
"Full-size rehearsal"). The traced functions are kept outside the model: a
`tf.function` attribute would be saved with every SavedModel that tracks it.
"""

import weakref

import numpy as np
import tensorflow as tf

_TRACED = weakref.WeakKeyDictionary()
# `infer` traces models from this many weights on; smaller ones (the demo's and the tests') run eagerly,
# where the allocator's growth is small and a trace (seconds per model) would cost more than it saves.
TRACE_FROM_PARAMETERS = 5_000_000


def traced(model, method="call"):
    """`model.<method>(*inputs)` as a `tf.function` (`training=False` for `call`), made once per model.

    `reduce_retracing`: a last, smaller batch traces once more, then every
    batch size reuses that graph. A model not yet built is built first with
    `model.build(None)` (models whose weights do not depend on the input
    shape), so that no variable is created inside the trace.
    """
    functions = _TRACED.setdefault(model, {})
    if not model.built:
        model.build(None)
    if method not in functions:
        bound = getattr(model, method)
        if method == "call":
            functions[method] = tf.function(lambda *inputs: bound(*inputs, training=False), reduce_retracing=True)
        else:
            functions[method] = tf.function(bound, reduce_retracing=True)
    return functions[method]


def infer(model, *inputs):
    """`model(*inputs, training=False)` as a float32 NumPy array: traced (`traced`) for models of
    `TRACE_FROM_PARAMETERS` weights or more (the paper's ResNet-50 and d = 64 generator), eager below."""
    if model.built and model.count_params() >= TRACE_FROM_PARAMETERS:
        return np.asarray(traced(model)(*inputs), np.float32)
    return np.asarray(model(*inputs, training=False), np.float32)


def build_optimizer(model):
    """Creates the compiled `model.optimizer`'s slots now (call in the strategy scope, before `fit`).

    Without a `tf.distribute` strategy Keras creates them inside the first
    trace of its train step, and a `tf.function` that creates variables is
    traced a second time: C's step (ResNet-50 at 32²) took 16.6 s to trace
    instead of 5.7 s. Compile the metrics as `keras.metrics.Metric` objects,
    not names, for the same reason: a name becomes a metric (and its
    variables) inside that first trace.
    """
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
