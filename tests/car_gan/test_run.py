"""The CAR-GAN task end to end: real `python -m tfxmodal.train` subprocesses on tiny mini-URMP."""

import glob
import json
import os

import numpy as np
import pytest
import tensorflow as tf
import yaml
from PIL import Image

from tests.conftest import TINY_CAR_GAN as TINY
from tests.support.inception_weights import write_inception_weights
from tests.support.training_runs import (
    event_tags,
    first_logged_losses,
    kill_once_checkpointed,
    run_training,
    train_command,
)
from tfxmodal.car_gan.evaluate import evaluate
from tfxmodal.car_gan.run import classifier_cache_key
from tfxmodal.car_gan.task import TABLE_COLUMNS, TASK
from tfxmodal.cli.train import run_task
from tfxmodal.data.urmp import mini as mini_urmp
from tfxmodal.tasks.run_directory import read_run_config

pytestmark = pytest.mark.slow  # complete CAR-GAN runs as subprocesses


def tiny_config(data_dir, export_dir, classifier_cache=None):
    config = json.loads(json.dumps(TINY))
    config["data"]["data_dir"] = str(data_dir)
    config["export"]["dir"] = str(export_dir)
    if classifier_cache is not None:
        config["classifier"]["cache_dir"] = str(classifier_cache)
    return config


@pytest.fixture(scope="module")
def classifier_cache(tmp_path_factory):
    """`classifier.cache_dir` of this module's runs: `completed_run` trains C into it, later runs load it."""
    return tmp_path_factory.mktemp("classifier_cache")


def cached_classifier(cache, run):
    """The path under which `run`'s C is cached in `cache`: keyed by what determines C."""
    key = classifier_cache_key(read_run_config(TASK, str(run / "config.yaml")))
    return str(cache / f"classifier_{key}.weights.h5")


@pytest.fixture(scope="module")
def completed_run(tmp_path_factory, mini_urmp_tiny_dir, classifier_cache):
    tmp = tmp_path_factory.mktemp("car_gan")
    config_path = tmp / "config.yaml"
    config_path.write_text(yaml.safe_dump(tiny_config(mini_urmp_tiny_dir, tmp / "export", classifier_cache)))
    result = run_training(config_path, tmp / "run")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return tmp, result


def test_run_writes_every_artifact(completed_run, classifier_cache):
    tmp, _ = completed_run
    run = tmp / "run"
    summary = json.loads((run / "run_summary.json").read_text())
    assert summary["steps"] == 4 and summary["variant"] == "full model"
    classifier = json.loads((run / "classifier.json").read_text())
    assert classifier["source"] == "trained" and classifier["trained_on"] == ["train"]
    # The C it trained went into the cache under the key of what determines C.
    assert os.path.isfile(cached_classifier(classifier_cache, run))
    assert 0 <= classifier["accuracy_real_test"] <= 1
    assert (run / "classifier.weights.h5").exists() and not (run / "classifier_backup").exists()
    assert tf.train.get_checkpoint_state(str(run / "checkpoints")).model_checkpoint_path.endswith("ckpt-4")
    grid = np.asarray(Image.open(run / "samples" / "grid.png"))
    # 4 rows of 32-px cells with 2-px gaps under a 14-px header; LMS | I' | I'' | GT.
    assert grid.shape == (14 + 4 * 34 + 2, 4 * 34 + 2, 3)
    tags = event_tags(str(run / "logs"))
    for tag in (
        "losses/g_loss",
        "losses/d_loss",
        "losses/ce_stage2",
        "losses/l1_stage1",
        "learning_rate/generator",
        "config",
    ):
        assert tag in tags, sorted(tags)
    assert any(tag.startswith("samples") for tag in tags), sorted(tags)
    assert sorted(set(tags["losses/g_loss"])) == [2, 4]


def test_export_serves_lms_and_waveforms_the_same_way(completed_run, mini_urmp_tiny_dir):
    tmp, _ = completed_run
    assert os.listdir(tmp / "export") == ["1"]
    model = tf.saved_model.load(str(tmp / "export" / "1"))
    assert set(model.signatures) == {"serving_default", "waveform"}
    example = next(iter(mini_urmp.load("test", 32, mini_urmp_tiny_dir, "tiny").batch(2)))
    by_lms = model.signatures["serving_default"](lms=example["lms"], label=example["label"])
    assert by_lms["image"].shape == (2, 32, 32, 3) and by_lms["image"].dtype == tf.uint8
    assert by_lms["stage1_image"].shape == (2, 32, 32, 3)
    np.testing.assert_allclose(tf.reduce_sum(by_lms["probabilities"], -1), [1, 1], rtol=1e-5)
    # The waveform signature computes the training pipeline's LMS; longer chunks are cropped to 0.5 s.
    audio = tf.concat([example["audio"], tf.zeros((2, 300))], axis=1)
    by_audio = model.signatures["waveform"](audio=audio, label=example["label"])
    assert np.max(np.abs(by_audio["image"].numpy().astype(int) - by_lms["image"].numpy().astype(int))) <= 1
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"instrument index in 0..12"):
        model.signatures["serving_default"](lms=example["lms"], label=tf.constant([0, 13]))


def test_evaluate_writes_grids_and_paper_metrics(completed_run, tmp_path):
    tmp, _ = completed_run
    without = evaluate(str(tmp / "run"), str(tmp_path / "without"), max_examples=8)
    assert without["fid"] is None and without["is"] is None and without["inception"].startswith("unavailable")
    assert without["fid_c"] >= 0 and 1 <= without["is_c"] <= 13 and 1 <= without["is_c_real"] <= 13
    # The independent classifier: trained once on the real images with seed + 1, then reused.
    assert (tmp / "run" / "independent_classifier" / "classifier.weights.h5").is_file()
    independent = json.loads((tmp / "run" / "independent_classifier" / "classifier.json").read_text())
    assert independent["source"] == "trained" and independent["trained_on"] == ["train"]

    weights = tmp_path / "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"
    write_inception_weights(weights)
    metrics = evaluate(str(tmp / "run"), str(tmp_path / "with"), max_examples=8, inception_weights=str(weights))
    assert set(TABLE_COLUMNS) <= set(metrics)
    assert metrics["examples_train"] == 8 and metrics["examples_test"] == 8 and metrics["steps"] == 4
    for prefix in ("", "independent_"):
        for key in ("accuracy_train", "accuracy_test", "accuracy_stage1_test", "accuracy_real_test"):
            assert 0 <= metrics[prefix + key] <= 1
    assert metrics["fid"] >= 0 and 1 <= metrics["is"] <= 1000 and 1 <= metrics["is_real"] <= 1000
    assert metrics["inception"] == str(weights)
    # C's scores and the independent classifier are the same with or without Inception.
    for key in ("fid_c", "is_c", "accuracy_test", "independent_accuracy_test", "independent_accuracy_real_train"):
        assert metrics[key] == pytest.approx(without[key]), key
    assert json.loads((tmp_path / "with" / "metrics.json").read_text()) == metrics
    assert metrics["seed"] == 0 and json.dumps(metrics)
    assert sorted(os.listdir(tmp_path / "with")) == ["grid_test.png", "grid_train.png", "metrics.json"]


def test_an_interrupted_run_resumes_from_its_last_good_checkpoint(completed_run):
    """The newest checkpoint lost its data (as a run killed while writing it): the rerun
    falls back to ckpt-2, skips the finished classifier stage and trains to step 4."""
    tmp, _ = completed_run
    run = tmp / "run"
    data_files = glob.glob(str(run / "checkpoints" / "ckpt-4.data-*"))
    assert data_files
    for path in data_files:
        os.remove(path)
    result = run_training(tmp / "config.yaml", run)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "resumed from" in result.stdout and "ckpt-2 at step 2" in result.stdout
    assert "training classifier" not in result.stdout
    assert json.loads((run / "run_summary.json").read_text())["steps"] == 4
    assert sorted(os.listdir(tmp / "export")) == ["1"]  # the same trained state is exported once


def test_killed_run_resumes_and_ends_like_an_uninterrupted_run(
    completed_run, tmp_path, mini_urmp_tiny_dir, classifier_cache
):
    """`kill -9` once the first GAN checkpoint is on disk, then the same command: it resumes
    at step 2 without training C again and ends at step 4 with losses close to `completed_run`'s.

    Its C comes from the cache `completed_run` filled (the same weights), so the two runs differ
    only by the kill."""
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(tiny_config(mini_urmp_tiny_dir, tmp_path / "export", classifier_cache)))
    out = tmp_path / "run"
    kill_once_checkpointed(train_command(config_path, out), out, 2)
    assert not (out / "run_summary.json").exists() and not (tmp_path / "export").exists()
    result = run_training(config_path, out)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "ckpt-2 at step 2" in result.stdout, result.stdout[-3000:]
    assert "training classifier" not in result.stdout  # C was finished before the GAN started
    assert json.loads((out / "classifier.json").read_text())["source"] == cached_classifier(classifier_cache, out)
    assert json.loads((out / "run_summary.json").read_text())["steps"] == 4
    assert os.listdir(tmp_path / "export") == ["1"]

    expected = first_logged_losses(str(completed_run[0] / "run" / "logs"), 4)
    resumed = first_logged_losses(str(out / "logs"), 4)
    assert set(expected) == set(resumed) and {"g_loss", "d_loss", "l1_stage2", "ce_stage2"} <= set(resumed)
    # Steps 3-4 see other batches than the uninterrupted run (the data stream
    # is reseeded with seed + start step on resume): close, not equal.
    for name, value in expected.items():
        assert abs(resumed[name] - value) <= 0.5 * max(abs(value), 1.0), (name, resumed[name], value)


def test_bad_configs_fail_before_any_work_naming_the_key(tmp_path, capsys):
    cases = {
        "data.image_size": {"data": {"image_size": 48}},
        "model.attenton": {"model": {"attenton": False}},
        "data.root": {"data": {"source": "sub_urmp"}},
        "train.steps": {"train": {"steps": 5, "checkpoint_every": 2}},
        "loss.l1": {"loss": {"l1": -1.0}},
        "classifier.train_splits[0]": {"classifier": {"train_splits": ["valid"]}},
    }
    for key, change in cases.items():
        config = json.loads(json.dumps(TINY))
        for section, values in change.items():
            config.setdefault(section, {}).update(values)
        assert run_task(TASK, config, str(tmp_path / "run")) == 2, key
        assert key in capsys.readouterr().err, key
        assert not (tmp_path / "run").exists()


def test_a_different_config_in_the_same_run_directory_is_refused(completed_run, capsys):
    tmp, _ = completed_run
    config = yaml.safe_load((tmp / "config.yaml").read_text())
    config["loss"] = {"l1": 10.0}
    assert run_task(TASK, config, str(tmp / "run")) == 2
    assert "holds a different config" in capsys.readouterr().err
