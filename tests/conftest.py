"""Test session set-up: quiet TF and split the CPU into 2 logical devices.

The split must happen before TensorFlow initialises its devices, so it runs
at import time of this conftest, ahead of every test module.
"""

import fcntl
import gc
import json
import os
import pathlib
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# TensorFlow (and everything that imports it) only once its C++ log level is set.
import keras
import pytest
import tensorflow as tf
import yaml

from tests.support.harness import two_cpu_strategy as shared_strategy
from tfxmodal.data.nsynth import mini as mini_nsynth
from tfxmodal.data.urmp import mini as mini_urmp

_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(_cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)

# A test process keeps every module fixture's networks and graphs, and tracing
# makes millions of short-lived objects: with Python's default thresholds
# (700, 10, 10) the collector keeps rescanning that heap. Six CAR-GAN
# trainer tests took 79 s with them and 73 s with these, one run each: within
# the machine's run-to-run spread, so not a proven gain (docs/benchmarks.md).
gc.set_threshold(100_000, 50, 1000)


# The files that train complete runs, longest first (seconds of test time per
# file, summed from `--junitxml` of a `make test` run on 2 cores). They are
# collected first so that under `make test` (`pytest -n 2 --dist loadfile
# --no-loadscope-reorder`) each test process starts on a long file and the
# short files fill in at the end, rather than a long file starting last.
LONGEST_FILES = (
    "tests/car_gan/test_run.py",  # ~360 s
    "tests/trainers/test_multi_worker.py",  # ~290 s
    "tests/tasks/test_old_run_directories.py",  # ~200 s (two runs by the old code, resumed by today's)
    "tests/face2music/test_run.py",  # ~150 s
    "tests/cli/test_ablate.py",  # ~125 s (builds the shared tiny ablation)
    "tests/trainers/test_car_gan.py",  # ~100 s
    "tests/trainers/test_face2music.py",  # ~100 s
    "tests/export/test_serving.py",  # ~95 s
)


def pytest_collection_modifyitems(config, items):
    rank = {path: index for index, path in enumerate(LONGEST_FILES)}

    def file_rank(item):
        return rank.get(os.path.relpath(str(item.path), ROOT), len(rank))

    items.sort(key=file_rank)  # stable: the order within each file is kept


@pytest.fixture(autouse=True)
def seeded():
    """Every test starts from seed 0 (Python, NumPy, TF and Keras): unseeded initialisers are a flake."""
    keras.utils.set_random_seed(0)


@pytest.fixture
def chromium():
    """Debian's headless Chromium for the report's browser tests (`TFXMODAL_REQUIRE_CHROMIUM=1`: required)."""
    path = "/usr/bin/chromium"
    if os.path.exists(path):
        return path
    message = f"{path} not found: the report's browser tests need Debian's Chromium (apt-get install chromium)"
    if os.environ.get("TFXMODAL_REQUIRE_CHROMIUM") == "1":
        pytest.fail(message + "; TFXMODAL_REQUIRE_CHROMIUM=1 makes this a failure")
    pytest.skip(message)


@pytest.fixture
def two_cpu_strategy():
    """The session's MirroredStrategy over the 2 logical CPU devices."""
    return shared_strategy()


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A face2music config small enough to train in seconds (used by the task,
# evaluation and ablation tests): mini_nsynth/tiny, eigenfaces, width 2.
TINY_FACE2MUSIC = {
    "task": "face2music",
    "seed": 0,
    "audio": {"source": "mini_nsynth", "mini_nsynth_config": "tiny", "paper_filter": False},
    "faces": {"source": "lfw_subset", "augment_copies": 1},
    "face_embedder": {"kind": "eigenfaces", "num_components": 8, "image_size": 25},
    "audio_embedder": {"width": 2, "steps": 3, "batch_size": 8},
    "model": {"variant": "aux", "width": 2},
    "train": {
        "batch_size": 4,
        "steps": 4,
        "critic_steps": 2,
        "checkpoint_every": 2,
        "cache": True,
        "shuffle_buffer": 64,
    },
    "stats": {"max_examples": 16},
    "export": {"sample_faces": 3},
}


# The CAR-GAN counterpart: mini_urmp/tiny at 32×32, 2 filters, C trained for 1 epoch.
TINY_CAR_GAN = {
    "task": "car_gan",
    "seed": 0,
    "data": {"source": "mini_urmp", "mini_urmp_config": "tiny", "image_size": 32, "shuffle_buffer": 64},
    "classifier": {"epochs": 1, "batch_size": 8},
    "model": {"generator_filters": 2, "discriminator_filters": 2},
    "train": {"batch_size": 4, "steps": 4, "checkpoint_every": 2},
    "export": {"sample_count": 4},
}


def subprocess_env():
    """Environment of the CLI subprocesses the tests start."""
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1")


@pytest.fixture(scope="session")
def mini_nsynth_tiny(tmp_path_factory):
    """`prepare()` summary of a real `mini_nsynth/tiny` build in a session temp data dir.

    Built once (40 rendered notes, ~10 MB, a few seconds); `data_dir` is added
    to the summary. Tests must not write into it.
    """
    data_dir = tmp_path_factory.mktemp("tfds_data")
    summary = mini_nsynth.prepare(data_dir=str(data_dir), config="tiny")
    assert not summary["reused"]
    return dict(summary, data_dir=str(data_dir))


@pytest.fixture(scope="session")
def mini_nsynth_tiny_dir(mini_nsynth_tiny):
    """The TFDS data dir holding the session's `mini_nsynth/tiny` build."""
    return mini_nsynth_tiny["data_dir"]


def built_once_per_run(tmp_path_factory, name, build):
    """`build()`'s JSON result, computed by one test process of the whole run.

    Under pytest-xdist every worker has its own session, so a session
    fixture would be built once per worker; here the first worker to ask
    builds it (under a file lock, in the run's shared temp root) and the
    others read its result. Without xdist it is just `build()`.
    """
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return build()
    root = tmp_path_factory.getbasetemp().parent
    result = root / f"{name}.json"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if result.exists():
            return json.loads(result.read_text())
        value = build()
        result.write_text(json.dumps(value))
        return value


@pytest.fixture(scope="session")
def tiny_ablation(tmp_path_factory, mini_nsynth_tiny_dir):
    """`python -m tfxmodal.ablate` on the tiny config, variants baseline and aux.

    Returns `(out_dir, its stdout)`; shared by the ablation and evaluation
    CLI tests (each variant trains for seconds), across xdist workers too.
    """

    def build():
        tmp = tmp_path_factory.mktemp("ablation")
        config = json.loads(json.dumps(TINY_FACE2MUSIC))
        config["audio"]["data_dir"] = mini_nsynth_tiny_dir
        path = tmp / "tiny.yaml"
        path.write_text(yaml.safe_dump(config))
        out = tmp / "out"
        command = [
            sys.executable,
            "-m",
            "tfxmodal.ablate",
            "--config",
            str(path),
            "--out",
            str(out),
            "--variants",
            "baseline",
            "aux",
            "--max-examples",
            "40",
            "--classifier-steps",
            "3",
            # 3-step classifiers rarely beat their MFCC baselines; the table tests read every column.
            "--allow-weak-classifiers",
        ]
        result = subprocess.run(command, cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
        return {"out": str(out), "stdout": result.stdout}

    built = built_once_per_run(tmp_path_factory, "tiny_ablation", build)
    return pathlib.Path(built["out"]), built["stdout"]


@pytest.fixture(scope="session")
def mini_urmp_tiny_dir(tmp_path_factory):
    """The TFDS data dir of a real `mini_urmp/tiny` build, made once per session; read-only for tests."""
    data_dir = tmp_path_factory.mktemp("tfds_urmp")
    mini_urmp.prepare(data_dir=str(data_dir), config="tiny")
    return str(data_dir)
