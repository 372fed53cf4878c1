"""Test session set-up: quiet TF and split the CPU into 2 logical devices.

The split must happen before TensorFlow initialises its devices, so it runs
at import time of this conftest, ahead of every test module.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2
)


@pytest.fixture
def two_cpu_strategy():
    """The session's MirroredStrategy over the 2 logical CPU devices."""
    from tests.harness import two_cpu_strategy as shared_strategy

    return shared_strategy()
