"""Inception-v3 for Table I's FID and IS: the Keras ImageNet weights file is read, nothing else is accepted."""

import h5py
import numpy as np
import pytest
import tensorflow as tf

from tests.support.inception_weights import write_inception_weights
from tfxmodal.errors import InceptionWeightsError
from tfxmodal.models.inception import InceptionScorer

pytestmark = pytest.mark.slow  # builds Inception-v3 (24 M parameters) three times


@pytest.fixture(scope="module")
def weights_and_network(tmp_path_factory):
    path = tmp_path_factory.mktemp("inception") / "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"
    return path, write_inception_weights(path, seed=3)


def test_the_scorer_gives_the_pool_features_and_softmax_of_the_network_in_the_file(weights_and_network):
    path, network = weights_and_network
    images = np.random.default_rng(0).uniform(-1, 1, (3, 32, 32, 3)).astype(np.float32)
    features, probabilities = InceptionScorer(path, batch_size=2)(images)
    assert features.shape == (3, 2048) and probabilities.shape == (3, 1000)
    resized = tf.image.resize(images, (299, 299), method="bilinear")
    pool = network.get_layer("avg_pool").output
    expected_features, expected_probabilities = tf.keras.Model(network.inputs, [pool, network.output])(resized)
    np.testing.assert_allclose(features, expected_features, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(probabilities, expected_probabilities, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)


def test_a_missing_file_a_non_hdf5_file_and_another_networks_weights_are_named(tmp_path):
    with pytest.raises(InceptionWeightsError, match="no such Inception-v3 weights file"):
        InceptionScorer(tmp_path / "absent.h5")
    text = tmp_path / "inception.h5"
    text.write_text("not weights")
    with pytest.raises(InceptionWeightsError, match=f"{text}: not an HDF5 file"):
        InceptionScorer(text)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as handle:
        handle.create_group("dense").attrs["weight_names"] = [b"dense/kernel:0"]
        handle["dense"].create_dataset("dense/kernel:0", data=np.zeros((4, 2)))
        handle.attrs["layer_names"] = [b"dense"]
    with pytest.raises(InceptionWeightsError, match=f"{other}: not Keras's inception_v3 ImageNet weights"):
        InceptionScorer(other)
