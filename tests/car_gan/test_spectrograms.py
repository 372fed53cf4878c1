"""`data.lms: image` end to end: a real `python -m tfxmodal.train` on the authors' layout, without a WAV."""

import json

import numpy as np
import pytest
import tensorflow as tf
import yaml
from PIL import Image

from tests.conftest import TINY_CAR_GAN
from tests.support.training_runs import run_training
from tests.support.urmp_spectrograms import write_tree
from tfxmodal.data.urmp.layout import INSTRUMENTS

pytestmark = pytest.mark.slow  # a complete CAR-GAN run as a subprocess (~1 min on 2 cores)


def test_a_run_trains_and_serves_on_spectrogram_pictures(tmp_path):
    root = write_tree(tmp_path / "sample_data")
    config = json.loads(json.dumps(TINY_CAR_GAN))
    config["data"] = {
        "source": "sub_urmp",
        "root": str(root),
        "lms": "image",
        "image_dir": "img_256",
        "image_size": 32,
        "shuffle_buffer": 64,
    }
    config["export"]["dir"] = str(tmp_path / "export")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    result = run_training(tmp_path / "config.yaml", tmp_path / "run")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads((tmp_path / "run" / "run_summary.json").read_text())
    assert summary["steps"] == 4
    # 4 rows (the first test example of each of the 3 instruments, then one more): LMS | I' | I'' | GT.
    grid = np.asarray(Image.open(summary["grid"]))
    assert grid.shape == (14 + 4 * 34 + 2, 4 * 34 + 2, 3)
    lms_cell = grid[14 + 2 : 14 + 2 + 32, 2 : 2 + 32].astype(np.float32)
    with Image.open(root / "spectram" / "test" / "cello" / "cello01_100.png") as image:
        first = np.asarray(image.convert("RGB").resize((32, 32), Image.BILINEAR), np.float32)
    assert np.abs(lms_cell - first).max() <= 3  # the grid shows the spectrogram picture in colour
    served = tf.saved_model.load(summary["saved_model"])
    assert list(served.signatures) == ["serving_default"]  # no waveform signature: the pictures are not computed
    signature = served.signatures["serving_default"]
    assert signature.structured_input_signature[1]["lms"].shape.as_list() == [None, 32, 32, 3]
    lms = tf.constant(first[None] / 127.5 - 1.0, tf.float32)
    outputs = signature(lms=lms, label=tf.constant([INSTRUMENTS.index("cello")], tf.int32))
    assert outputs["image"].shape == (1, 32, 32, 3) and outputs["image"].dtype == tf.uint8
    assert outputs["probabilities"].shape == (1, 13)
