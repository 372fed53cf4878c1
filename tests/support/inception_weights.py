"""Writes an Inception-v3 weights file in the layout of Keras's ImageNet file, for tests.

`inception_v3_weights_tf_dim_ordering_tf_kernels.h5` is a legacy Keras h5
weights file: the root's `layer_names` attribute lists every layer, each
layer's group has a `weight_names` attribute and one dataset per name
(`conv2d/kernel:0`, ...), in the order the layer creates its weights.
"""

import h5py
import keras
import numpy as np


def write_inception_weights(path, seed=0):
    """Random-initialised InceptionV3 (with top) saved at `path` in that layout; returns the network."""
    keras.utils.set_random_seed(seed)
    network = keras.applications.InceptionV3(weights=None, include_top=True)
    with h5py.File(path, "w") as handle:
        names = []
        for layer in network.layers:
            names.append(layer.name.encode())
            group = handle.create_group(layer.name)
            weight_names = []
            for index, variable in enumerate(layer.weights):
                name = f"{layer.name}/{variable.name}_{index}:0"
                weight_names.append(name.encode())
                group.create_dataset(name, data=np.asarray(variable.numpy()))
            group.attrs["weight_names"] = weight_names
        handle.attrs["layer_names"] = names
        handle.attrs["backend"] = b"tensorflow"
        handle.attrs["keras_version"] = b"2.1.5"
    return network
