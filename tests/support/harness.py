"""Shared layer test harness, in the spirit of keras-hub's `run_layer_test`.

One call checks what every public layer must do: a config round trip,
`.keras` save/load with equal outputs, the same outputs eagerly and inside
`tf.function`, and a training step under `MirroredStrategy` on 2 logical
CPU devices that changes the trainable weights.
"""

import copy
import functools
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf


@functools.cache
def two_cpu_strategy():
    """The session's one MirroredStrategy over the 2 logical CPU devices.

    Shared because two strategies over the same devices in one process can
    hand out the same collective instance keys and then mix up each other's
    all-reduces ("Shape mismatch in the collective instance").
    """
    return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])


def _as_tuple(inputs):
    return tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)


def _functional_model(layer, inputs, call_kwargs):
    symbolic = [keras.Input(shape=array.shape[1:], dtype=str(array.dtype)) for array in inputs]
    outputs = layer(*symbolic, **call_kwargs)
    return keras.Model(symbolic, outputs)


def _assert_allclose(actual, desired, what, atol=1e-5, rtol=1e-5):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(desired), atol=atol, rtol=rtol, err_msg=what)


def run_layer_test(
    layer_cls,
    init_kwargs,
    inputs,
    expected_output_shape,
    call_kwargs=None,
    expected_num_trainable_weights=None,
    expected_num_non_trainable_weights=None,
    run_training_check=True,
):
    """Runs the standard checks on `layer_cls(**init_kwargs)`.

    Args:
        layer_cls: the layer class.
        init_kwargs: constructor arguments.
        inputs: one NumPy array or a tuple of them, the positional call
            arguments, each with a leading batch axis of even size (the
            batch is split over 2 replicas).
        expected_output_shape: output shape for `inputs`.
        call_kwargs: extra keyword call arguments (not `training`).
        expected_num_trainable_weights / expected_num_non_trainable_weights:
            weight counts after the first call, when given.
        run_training_check: run the distributed training step (off for
            layers with no trainable weights).
    """
    inputs = _as_tuple(inputs)
    call_kwargs = dict(call_kwargs or {})

    # Config round trip, also through Keras's generic (de)serialization.
    layer = layer_cls(**init_kwargs)
    config = layer.get_config()
    # from_config may consume its argument (keras.layers.Wrapper pops "layer").
    revived = layer_cls.from_config(copy.deepcopy(config))
    assert revived.get_config() == config, "from_config(get_config()) changed the config"

    def fresh_layer():
        # A new, unbuilt layer each time, sub-layers included (init_kwargs
        # may hold a layer instance that must not be shared or pre-built).
        return layer_cls.from_config(copy.deepcopy(config))

    deserialized = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(deserialized) is layer_cls
    assert deserialized.get_config() == config

    # Eager call: shape and weight counts.
    outputs = layer(*inputs, **call_kwargs)
    assert tuple(outputs.shape) == tuple(expected_output_shape), (
        f"output shape {tuple(outputs.shape)} != {tuple(expected_output_shape)}"
    )
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights
    if expected_num_non_trainable_weights is not None:
        assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights

    # Eager and graph execution agree at inference.
    eager = layer(*inputs, training=False, **call_kwargs)
    graph = tf.function(lambda *args: layer(*args, training=False, **call_kwargs))(*inputs)
    _assert_allclose(graph, eager, "tf.function output differs from eager output")

    # .keras round trip inside a functional model.
    model = _functional_model(fresh_layer(), inputs, call_kwargs)
    before = model(list(inputs), training=False)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "layer.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
    after = loaded(list(inputs), training=False)
    _assert_allclose(after, before, ".keras save/load changed the outputs")

    if run_training_check:
        _run_distributed_training_step(fresh_layer, inputs, call_kwargs)


def _run_distributed_training_step(make_layer, inputs, call_kwargs):
    with two_cpu_strategy().scope():
        model = _functional_model(make_layer(), inputs, call_kwargs)
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    target = np.ones(tuple(model(list(inputs)).shape), "float32")
    before = [np.array(w) for w in model.trainable_weights]
    assert before, "training check needs trainable weights"
    history = model.fit(list(inputs), target, batch_size=len(target), epochs=1, verbose=0, shuffle=False)
    loss = history.history["loss"][0]
    assert np.isfinite(loss), f"non-finite loss {loss} in distributed step"
    changed = [not np.allclose(b, np.array(w)) for b, w in zip(before, model.trainable_weights)]
    assert any(changed), "a distributed training step changed no trainable weight"
