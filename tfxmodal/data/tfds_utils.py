"""TFDS helpers shared by our builders (`mini_nsynth`, `mini_urmp`, `vgg_face2`) and readers.

- `offline_tfds()`: keeps TFDS's own Google Cloud Storage lookups off.
- `no_network_download_config()`: a `DownloadConfig` that never fetches
  prepared data from GCS.
- `tfds_data_dir()`: the data dir, honouring `TFDS_DATA_DIR` set at any time.
- `deterministic_tfds_writes()`: byte-identical TFRecords across processes.
- `build_offline()`: `download_and_prepare` with all of the above.
"""

import contextlib
import os
import tempfile

import tensorflow_datasets as tfds
from tensorflow_datasets.core import example_serializer
from tensorflow_datasets.core.utils import gcs_utils


def offline_tfds():
    """Stops TFDS from looking up datasets on Google Cloud Storage (there is no network).

    Some TFDS code paths look up prepared datasets and dataset_info on
    ``gs://tfds-data`` (`DatasetInfo.initialize_from_bucket`,
    `download_and_prepare` with `try_download_gcs`); offline each lookup
    costs retries and a "google_auth_provider ... Could not resolve host"
    warning. TFDS's switch is `tfds.core.utils.gcs_utils._is_gcs_disabled`
    (private, the one `tfds.testing` patches; already True in TFDS 4.9.10,
    set explicitly so that other versions behave the same). Our builders and
    readers call this before any TFDS work.

    Dataset visibility (`tfds.core.visibility`) is deliberately left alone.
    Narrowing it to TFDS_PUBLIC only changes how TFDS resolves
    community-namespaced names (``kubric:movi_a``) and
    `tfds.list_builders()` with community datasets. Neither happens for our
    builders, which we instantiate by class, nor for `tfds.builder` with a
    plain name such as ``nsynth/full`` or ``mini_nsynth/tiny``. With TFDS
    4.9.10 these make no network connection either way; that was checked by
    counting connect() system calls, so TF's C++ GCS client was counted too.
    Narrowing would also stay in force for the whole process and break a
    user's own community-dataset loads.
    """
    gcs_utils._is_gcs_disabled = True


def no_network_download_config(manual_dir=None):
    """A `tfds.download.DownloadConfig` that never fetches prepared data from GCS.

    Args:
        manual_dir: the folder of a manual download (`vgg_face2`), or None.
    """
    return tfds.download.DownloadConfig(try_download_gcs=False, manual_dir=manual_dir)


def tfds_data_dir(data_dir=None):
    """`data_dir`, or else `$TFDS_DATA_DIR` read now, or else None (TFDS's default).

    TFDS reads `TFDS_DATA_DIR` once, when it is imported. Reading it at call
    time also honours a variable set later in the process.
    """
    if data_dir is not None:
        return os.fspath(data_dir)
    return os.environ.get("TFDS_DATA_DIR") or None


@contextlib.contextmanager
def deterministic_tfds_writes():
    """Makes TFDS serialise examples byte-deterministically while active.

    TFDS writes `tf.train.Example` protos with `SerializeToString()`. Under
    the upb protobuf runtime, the order of the feature-map entries is fixed
    within a process but varies from one process to the next, so two builds
    of identical examples gave different TFRecord bytes. Inside this
    context, TFDS's `ExampleSerializer` serialises with `deterministic=True`,
    which sorts map entries by key, so rebuilt datasets are byte-identical.
    The patch is process-wide while active (do not build other TFDS datasets
    on other threads meanwhile) and is undone on exit.
    """
    serializer = example_serializer.ExampleSerializer
    original = serializer.serialize_example

    def serialize_example(self, example):
        return self.get_tf_example(example).SerializeToString(deterministic=True)

    serializer.serialize_example = serialize_example
    try:
        yield
    finally:
        serializer.serialize_example = original


def build_offline(builder, manual_dir=None):
    """`builder.download_and_prepare()` for our builders: offline and byte-deterministic.

    Nothing is downloaded (the data is rendered, or read from `manual_dir`);
    the download dir is a throw-away temporary folder, because TFDS would
    otherwise leave an empty `downloads/` in the data dir; and the examples
    are serialized deterministically (see `deterministic_tfds_writes`).
    """
    with deterministic_tfds_writes(), tempfile.TemporaryDirectory(prefix="tfxmodal_downloads.") as downloads:
        builder.download_and_prepare(
            download_dir=downloads,
            download_config=no_network_download_config(None if manual_dir is None else os.fspath(manual_dir)),
        )
