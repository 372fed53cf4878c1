"""The CAR-GAN learning-curve probe on a real (untrained) cascade and mini-URMP/tiny."""

import json

import numpy as np
import pytest

from tests.conftest import TINY_CAR_GAN
from tfxmodal.config import parse
from tfxmodal.evaluation.car_gan_probe import CARGANProbe, score_split
from tfxmodal.metrics import frechet_distance
from tfxmodal.tasks.car_gan import build_networks, make_classifier
from tfxmodal.tasks.car_gan_config import CARGANConfig


@pytest.mark.parametrize("second_stage", [True, False])
def test_the_probe_scores_c_on_both_stages_fid_and_l1(mini_urmp_tiny_dir, second_stage):
    raw = json.loads(json.dumps(TINY_CAR_GAN))
    raw["data"]["data_dir"] = mini_urmp_tiny_dir
    raw["model"]["second_stage"] = second_stage
    config = parse(CARGANConfig, raw)
    cascade, _ = build_networks(config, make_classifier(config))
    probe = CARGANProbe(cascade, config, "test", max_examples=6)
    metrics, images = probe()
    assert images == {}
    expected = {"l1", "fid_c", "accuracy_stage1"} | ({"accuracy_stage2"} if second_stage else set())
    assert set(metrics) == expected
    logits, features, labels, l1 = score_split(probe.step, config, "test", 6)
    final = "stage2" if second_stage else "stage1"
    assert metrics["fid_c"] == pytest.approx(frechet_distance(features[final], features["real"]))
    assert metrics["l1"] == pytest.approx(l1) and 0 < metrics["l1"] <= 2
    assert metrics["accuracy_stage1"] == pytest.approx(np.mean(np.argmax(logits["stage1"], 1) == labels))
    assert 0 <= probe.references["accuracy_stage2"] <= 1 and len(labels) == 6
