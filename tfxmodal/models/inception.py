"""Inception-v3 for the standard FID [50] and Inception Score [51] of generated images.

CAR-GAN's Table I cites the standard FID (Heusel et al. 2017) and IS
(Salimans et al. 2016), both computed with Inception-v3 trained on ImageNet:
FID on the 2048-d pool features, IS on the 1000-way softmax. This is
`keras.applications.InceptionV3` with its ImageNet weights read from a local
file the user supplies — the Keras file
`inception_v3_weights_tf_dim_ordering_tf_kernels.h5` (nothing is
downloaded). Those weights are Keras's port, not the 2015 TF graph
(`pool_3`) of the reference FID code, so scores are close to, not identical
with, published ones.
"""

import os

import h5py
import keras
import tensorflow as tf

from tfxmodal.errors import InceptionWeightsError

INCEPTION_SIZE = 299  # the input size of Inception-v3
POOL_FEATURES = 2048
IMAGENET_CLASSES = 1000


class InceptionScorer:
    """Pool features and ImageNet softmax of images, for FID and IS.

    Args:
        weights: path of the Keras `inception_v3` ImageNet weights (`.h5`, the
            layout `keras.applications.InceptionV3` loads, with the top).
        batch_size: images per forward pass.

    Raises:
        InceptionWeightsError: the file is missing, not HDF5, or holds the
            weights of another network; the message names the file.
    """

    def __init__(self, weights, batch_size=32):
        weights = os.fspath(weights)
        if not os.path.isfile(weights):
            raise InceptionWeightsError(f"{weights}: no such Inception-v3 weights file")
        if not h5py.is_hdf5(weights):
            raise InceptionWeightsError(
                f"{weights}: not an HDF5 file; expected Keras's inception_v3 ImageNet weights (.h5)"
            )
        network = keras.applications.InceptionV3(weights=None, include_top=True, classes=IMAGENET_CLASSES)
        try:
            network.load_weights(weights)
        except (ValueError, KeyError, OSError) as error:
            raise InceptionWeightsError(
                f"{weights}: not Keras's inception_v3 ImageNet weights with the top ({str(error).splitlines()[0][:200]})"
            ) from None
        pool = network.get_layer("avg_pool").output
        self.network = keras.Model(network.inputs, [pool, network.output], name="inception_v3_scorer")
        self.batch_size = batch_size
        self._forward = tf.function(self._features_and_probabilities, reduce_retracing=True)

    def _features_and_probabilities(self, images):
        # Keras's Inception preprocessing maps [0, 255] to [-1, 1]: our images already are.
        resized = tf.image.resize(tf.cast(images, tf.float32), (INCEPTION_SIZE, INCEPTION_SIZE), method="bilinear")
        return self.network(tf.clip_by_value(resized, -1.0, 1.0), training=False)

    def __call__(self, images):
        """`(features (n, 2048), probabilities (n, 1000))` float32 NumPy of images `(n, H, W, 3)` in [-1, 1]."""
        features, probabilities = [], []
        for start in range(0, len(images), self.batch_size):
            pooled, softmax = self._forward(tf.convert_to_tensor(images[start : start + self.batch_size]))
            features.append(pooled.numpy())
            probabilities.append(softmax.numpy())
        if not features:
            raise ValueError("InceptionScorer: no images")
        return tf.concat(features, 0).numpy(), tf.concat(probabilities, 0).numpy()
