"""tfds_utils: offline TFDS (a real build with the network refused), data dir, deterministic writes.

Byte-identical rebuilds across processes are checked where they matter, by
`test_mini_nsynth.py` and `test_mini_urmp.py`: each rebuilds its `tiny`
config in a fresh Python process.
"""

import socket

import numpy as np
import pytest
import tensorflow_datasets as tfds
from tensorflow_datasets.core import example_serializer, visibility
from tensorflow_datasets.core.utils import gcs_utils

from tfxmodal.data import tfds_utils
from tfxmodal.data.nsynth import mini as mini_nsynth
from tfxmodal.data.nsynth.reader import read_tfds


def refuse(*args, **kwargs):
    raise AssertionError(f"network access attempted: {args[:2]}")


@pytest.fixture
def network_refused(monkeypatch):
    """GCS lookups switched on, every gs:// probe and socket refused, all visibilities on.

    GCS on, as older TFDS releases (and a user's own code) may leave it:
    `offline_tfds()` must switch it off again. Community datasets on, as by
    default outside TFDS's own scripts: `offline_tfds()` leaves visibility
    alone, so nothing here may depend on it being narrowed.
    """
    monkeypatch.setattr(gcs_utils, "_is_gcs_disabled", False)
    monkeypatch.setattr(gcs_utils, "exists", refuse)  # every gs:// probe goes through it
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    available = visibility.get_availables()
    visibility.set_availables(list(visibility.DatasetType))
    yield
    visibility.set_availables(available)


def test_offline_tfds_switches_gcs_off_and_leaves_visibility_alone(network_refused, tmp_path):
    tfds_utils.offline_tfds()
    assert gcs_utils._is_gcs_disabled is True
    assert not gcs_utils.is_dataset_on_gcs("mnist/3.0.1")
    assert set(visibility.get_availables()) == set(visibility.DatasetType)
    # A real TFDS builder by name: its info needs neither GCS nor visibility narrowing.
    real = tfds.builder("nsynth/full", data_dir=str(tmp_path))
    assert not real.is_prepared() and "audio" in real.info.features


def test_mini_nsynth_builds_and_reads_without_the_network(network_refused, tmp_path):
    summary = mini_nsynth.prepare(str(tmp_path), "tiny")
    one = next(iter(read_tfds("mini_nsynth/tiny", "test", str(tmp_path))))
    assert gcs_utils._is_gcs_disabled is True
    assert not summary["reused"]
    assert one["audio"].shape == (64000,)


def test_no_network_download_config():
    config = tfds_utils.no_network_download_config()
    assert config.try_download_gcs is False and config.manual_dir is None
    manual = tfds_utils.no_network_download_config(manual_dir="/data/vggface2")
    assert manual.try_download_gcs is False and manual.manual_dir == "/data/vggface2"


def test_tfds_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    assert tfds_utils.tfds_data_dir() == str(tmp_path)
    assert tfds_utils.tfds_data_dir(tmp_path / "x") == str(tmp_path / "x")
    monkeypatch.delenv("TFDS_DATA_DIR")
    assert tfds_utils.tfds_data_dir() is None


def test_deterministic_tfds_writes_sorts_the_feature_map_and_restores_tfds():
    audio = tfds.features.Tensor(shape=(3,), dtype=np.float32)
    features = tfds.features.FeaturesDict({"pitch": np.int64, "id": np.str_, "audio": audio})
    example = features.encode_example({"id": "a", "pitch": 60, "audio": np.array([0.5, -0.5, 0.25], np.float32)})
    serializer = example_serializer.ExampleSerializer(features.get_serialized_info())
    original = example_serializer.ExampleSerializer.serialize_example
    with tfds_utils.deterministic_tfds_writes():
        written = serializer.serialize_example(example)
    assert example_serializer.ExampleSerializer.serialize_example is original
    proto = serializer.get_tf_example(example)
    assert written == proto.SerializeToString(deterministic=True)
    # deterministic=True writes the feature-map entries in key order; each
    # entry starts with its key (field 1: tag 0x0a, length, name).
    positions = [written.index(b"\n" + bytes([len(k)]) + k) for k in (b"audio", b"id", b"pitch")]
    assert positions == sorted(positions)
    assert type(proto).FromString(written) == proto  # the same example, reordered only
    with pytest.raises(RuntimeError, match="build failed"), tfds_utils.deterministic_tfds_writes():
        raise RuntimeError("build failed")
    assert example_serializer.ExampleSerializer.serialize_example is original
