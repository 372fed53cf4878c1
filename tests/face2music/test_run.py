"""The face-to-music task end to end: real `python -m tfxmodal.train` subprocesses on tiny data."""

import glob
import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import yaml
from PIL import Image

from tests.conftest import ROOT, subprocess_env
from tests.conftest import TINY_FACE2MUSIC as TINY
from tests.support.training_runs import (
    event_tags,
    first_logged_losses,
    kill_once_checkpointed,
    run_training,
    train_command,
)
from tfxmodal.config import parse
from tfxmodal.errors import ConfigError
from tfxmodal.face2music.config import Face2MusicConfig
from tfxmodal.face2music.trained import load_trained

pytestmark = pytest.mark.slow  # complete face2music runs as subprocesses


# The learning curve at every checkpoint of the tiny run, with classifiers trained for 2 steps.
CURVE = {"every_steps": 2, "examples": 8, "spectrograms": 2, "classifier_steps": 2, "classifier_width": 2}


def write_config(tmp_path, data_dir, export_dir, **sections):
    config = json.loads(json.dumps(TINY))
    config["audio"]["data_dir"] = str(data_dir)
    config["export"]["dir"] = str(export_dir)
    for section, values in sections.items():
        config.setdefault(section, {}).update(values)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture(scope="module")
def completed_run(tmp_path_factory, mini_nsynth_tiny_dir):
    tmp = tmp_path_factory.mktemp("f2m")
    config = write_config(tmp, mini_nsynth_tiny_dir, tmp / "export", evaluation=CURVE)
    result = run_training(config, tmp / "run")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return tmp, result


def copy_of(completed_run, tmp_path):
    """`(the completed run's tmp dir, a copy of its run directory under tmp_path)` for tests that damage it."""
    tmp, _ = completed_run
    shutil.copytree(tmp / "run", tmp_path / "run")
    return tmp, tmp_path / "run"


def test_run_writes_every_artifact(completed_run):
    tmp, _result = completed_run
    run = tmp / "run"
    summary = json.loads((run / "run_summary.json").read_text())
    assert summary["steps"] == 4 and summary["variant"] == "aux"
    assert "eigenfaces" in summary["face_embedder"]
    for name in (
        "config.yaml",
        "face_embedder.weights.h5",
        "face_embedder.json",
        "source_embeddings.npy",
        "audio_embedder.weights.h5",
        "stats.json",
    ):
        assert (run / name).exists(), name
    assert np.load(run / "source_embeddings.npy").shape == (200, 512)  # 100 faces + 1 augmented copy each
    stats = json.loads((run / "stats.json").read_text())
    assert stats["psi_scale"] > 0 and stats["mfcc_scale"] > 0 and stats["source_std"] > 0
    checkpoints = tf.train.get_checkpoint_state(str(run / "checkpoints"))
    assert checkpoints.model_checkpoint_path.endswith("ckpt-4")
    wavs = sorted(os.listdir(run / "samples"))
    assert len(wavs) == 3 and all(name.endswith(".wav") for name in wavs)


def test_tensorboard_logs_losses_lr_audio_histograms_and_config(completed_run):
    tmp, _ = completed_run
    tags = event_tags(str(tmp / "run" / "logs"))
    for tag in (
        "losses/d_loss",
        "losses/g_loss",
        "losses/metric_loss",
        "losses/aux_d_loss",
        "learning_rate/generator",
        "learning_rate/discriminator",
        "config",
    ):
        assert tag in tags, sorted(tags)
    assert any(tag.startswith("fixed_faces") for tag in tags)
    assert any("histogram" in tag or tag.endswith("kernel") or "/kernel" in tag for tag in tags), sorted(tags)
    assert sorted(set(tags["losses/g_loss"])) == [2, 4]


def test_export_serves_three_signatures(completed_run):
    tmp, _ = completed_run
    versions = os.listdir(tmp / "export")
    assert versions == ["1"]
    model = tf.saved_model.load(str(tmp / "export" / "1"))
    assert set(model.signatures) == {"serving_default", "translate", "embedding"}
    faces = np.random.RandomState(0).randint(0, 256, (2, 40, 30, 3)).astype("uint8")
    out = model.signatures["serving_default"](images=tf.constant(faces))
    assert out["waveform"].shape == (2, 8192) and out["pitch"].numpy().tolist() == [60, 60]
    assert np.abs(out["waveform"].numpy()).max() <= 1.0
    out = model.signatures["embedding"](
        embedding=tf.constant(np.eye(2, 512, dtype="float32")), pitch=tf.constant([24, 84])
    )
    assert out["waveform"].shape == (2, 8192)


def test_rerun_of_a_finished_run_does_no_new_work(completed_run):
    tmp, _ = completed_run
    config = str(tmp / "config.yaml")
    result = run_training(config, tmp / "run")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "already trained for 4 steps" in result.stdout
    assert "training audio embedder" not in result.stdout
    assert sorted(os.listdir(tmp / "export")) == ["1"]  # the same trained state is exported once
    assert "already exported" in result.stdout


def test_rerun_with_a_different_config_is_refused(completed_run):
    tmp, _ = completed_run
    changed = tmp / "changed.yaml"
    data = yaml.safe_load((tmp / "config.yaml").read_text())
    data["train"]["batch_size"] = 8
    changed.write_text(yaml.safe_dump(data))
    result = run_training(str(changed), tmp / "run")
    assert result.returncode == 2
    assert "holds a different config" in result.stderr


def test_translate_cli_writes_one_wav_per_face(completed_run, tmp_path):
    tmp, _ = completed_run
    faces = []
    for index in range(2):
        path = tmp_path / f"face{index}.jpg"
        Image.fromarray(np.random.RandomState(index).randint(0, 256, (50, 40, 3)).astype("uint8")).save(path)
        faces.append(str(path))
    out = tmp_path / "wavs"
    command = [
        sys.executable,
        "-m",
        "tfxmodal.translate",
        "--model",
        str(tmp / "export"),
        *faces,
        "-o",
        str(out),
        "--pitch",
        "40",
    ]
    result = subprocess.run(command, cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(os.listdir(out)) == ["face0_pitch40.wav", "face1_pitch40.wav"]

    bad = tmp_path / "notes.txt"
    bad.write_text("not an image")
    command = [
        sys.executable,
        "-m",
        "tfxmodal.translate",
        "--model",
        str(tmp / "export"),
        faces[0],
        str(bad),
        "-o",
        str(tmp_path / "none"),
    ]
    result = subprocess.run(command, cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "notes.txt" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "none").exists()

    # Two faces with one stem would overwrite each other's WAV: refused before anything is written.
    (tmp_path / "other").mkdir()
    twin = tmp_path / "other" / "face0.jpg"
    twin.write_bytes(pathlib.Path(faces[0]).read_bytes())
    command = [
        sys.executable,
        "-m",
        "tfxmodal.translate",
        "--model",
        str(tmp / "export"),
        faces[0],
        str(twin),
        "-o",
        str(tmp_path / "twins"),
    ]
    result = subprocess.run(command, cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=300)
    assert (
        result.returncode == 2 and f"{faces[0]} and {twin} would both be written as face0_pitch<P>.wav" in result.stderr
    )
    assert not (tmp_path / "twins").exists()


def test_killed_run_resumes_and_ends_like_an_uninterrupted_run(completed_run, tmp_path, mini_nsynth_tiny_dir):
    """`kill -9` after the first checkpoint, then the same command: it resumes from exactly the
    state the uninterrupted run (`completed_run`, same config and seed) had at that step."""
    config = write_config(tmp_path, mini_nsynth_tiny_dir, tmp_path / "export", evaluation=CURVE)
    out = tmp_path / "run"
    kill_once_checkpointed(train_command(config, out), out, 2)
    assert not (out / "run_summary.json").exists()
    uninterrupted_dir, _ = completed_run
    # Up to the kill both runs did the same seeded work: the same checkpoint, tensor for tensor.
    killed = tf.train.load_checkpoint(str(out / "checkpoints" / "ckpt-2"))
    reference = tf.train.load_checkpoint(str(uninterrupted_dir / "run" / "checkpoints" / "ckpt-2"))
    names = [name for name in killed.get_variable_to_shape_map() if name.startswith(("generator/", "discriminator/"))]
    assert len(names) > 50
    for name in names:
        np.testing.assert_allclose(
            killed.get_tensor(name), reference.get_tensor(name), rtol=1e-4, atol=1e-6, err_msg=name
        )

    result = run_training(config, out)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "resumed from" in result.stdout
    resumed_at = int(result.stdout.split("resumed from")[1].split("at step")[1].split()[0])
    assert resumed_at == 2
    assert "training audio embedder" not in result.stdout  # finished stages are not redone
    assert json.loads((out / "run_summary.json").read_text())["steps"] == 4
    # Steps 3-4 see other batches than the uninterrupted run (the data stream is
    # reseeded with seed + start step on resume): they train, from the restored state.
    resumed = first_logged_losses(str(out / "logs"), 4)
    assert {"g_loss", "d_loss", "metric_loss", "aux_d_loss"} <= set(resumed)
    assert all(np.isfinite(value) for value in resumed.values())
    final = tf.train.load_checkpoint(str(out / "checkpoints" / "ckpt-4"))
    assert any(not np.allclose(final.get_tensor(name), killed.get_tensor(name)) for name in names)


def test_nan_loss_stops_with_a_clear_message_and_keeps_good_checkpoints(tmp_path, mini_nsynth_tiny_dir):
    config = write_config(
        tmp_path, mini_nsynth_tiny_dir, tmp_path / "export", train={"learning_rate": 1e30, "steps": 6}
    )
    result = run_training(config, tmp_path / "run")
    assert result.returncode == 3, result.stdout[-3000:] + result.stderr[-3000:]
    assert "training stopped: non-finite loss" in result.stderr
    assert not (tmp_path / "export").exists()
    saved = tf.train.get_checkpoint_state(str(tmp_path / "run" / "checkpoints"))
    if saved is not None:  # only checkpoints written before the NaN, each restorable
        for path in saved.all_model_checkpoint_paths:
            reader = tf.train.load_checkpoint(path)
            for name in reader.get_variable_to_shape_map():
                if name.startswith("generator/") and "OPTIMIZER" not in name:
                    assert np.all(np.isfinite(reader.get_tensor(name))), (path, name)


def test_a_run_directory_written_before_a_new_defaulted_key_resumes(completed_run, tmp_path):
    """A config.yaml of config version 1: no `config_version`, none of the keys added since with their defaults."""
    tmp, old = copy_of(completed_run, tmp_path)
    stored = yaml.safe_load((old / "config.yaml").read_text())
    assert stored.pop("config_version") == 4
    assert stored["audio"].pop("soundfonts") == [] and stored["evaluation"].pop("classifiers_dir") is None
    (old / "config.yaml").write_text(yaml.safe_dump(stored, sort_keys=False))
    result = run_training(str(tmp / "config.yaml"), old)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "already trained for 4 steps" in result.stdout
    rewritten = yaml.safe_load((old / "config.yaml").read_text())
    assert rewritten["config_version"] == 1 and rewritten["audio"]["soundfonts"] == []  # every key, its version kept


def test_a_checkpoint_of_other_networks_is_incompatible_not_damaged(completed_run, tmp_path):
    """The networks changed (here: a wider generator) but the run directory is the old one: exit 2, named."""
    tmp, run = copy_of(completed_run, tmp_path)
    stored = yaml.safe_load((run / "config.yaml").read_text())
    stored["model"]["width"] = 3
    (run / "config.yaml").write_text(yaml.safe_dump(stored, sort_keys=False))
    wider = yaml.safe_load((tmp / "config.yaml").read_text())
    wider["model"]["width"] = 3
    config = tmp_path / "wider.yaml"
    config.write_text(yaml.safe_dump(wider))
    result = run_training(str(config), run)
    assert result.returncode == 2, result.stdout[-3000:] + result.stderr[-3000:]
    assert "incompatible checkpoint" in result.stderr and "expected shape" in result.stderr
    assert "damaged" not in result.stdout + result.stderr


def test_the_learning_curve_is_scored_at_every_interval_and_logged(completed_run):
    tmp, result = completed_run
    run = tmp / "run"
    curve = json.loads((run / "curve.json").read_text())
    assert [point["step"] for point in curve["points"]] == [0, 2, 4]
    for point in curve["points"]:
        assert 0.0 <= point["pitch_accuracy"] <= 1.0 and point["fid_pitch"] >= 0 and point["fid_family"] >= 0
        assert -1.0 <= point["pc"] <= 1.0 and point["rms"] > 0 and point["eval_seconds"] > 0
        # The diagnostics that move before pitch accuracy does, and the critic on train vs held-out reals.
        assert 0.0 <= point["f0_hits"] <= 1.0 and 1 <= point["distinct_peaks"] <= 8
        assert -1.0 <= point["peak_pitch_corr"] <= 1.0 and 0.0 <= point["image_energy"] <= 1.0
        assert all(np.isfinite(point[key]) for key in ("d_real_train", "d_real_heldout", "d_fake"))
    assert curve["references"]["fid_pitch"] >= 0 and curve["references"]["rms"] > 0
    assert 0 < curve["references"]["image_energy"] < 1 and curve["references"]["distinct_peaks"] >= 1
    assert (run / "curve.png").stat().st_size > 1000
    assert (tmp / "classifiers" / "classifiers.json").exists()  # shared with `python -m tfxmodal.evaluate`
    tags = event_tags(str(run / "logs"))
    for tag in (
        "eval/pitch_accuracy",
        "eval/fid_pitch",
        "eval/fid_family",
        "eval/pc",
        "eval/spectrograms",
        "eval/peak_pitch_corr",
        "eval/d_real_heldout",
    ):
        assert sorted(set(tags[tag])) == [0, 2, 4], (tag, tags.get(tag))
    assert "curve at step 4: " in result.stdout
    assert json.loads((run / "run_summary.json").read_text())["curve"].endswith("curve.json")


def test_a_resumed_run_continues_its_learning_curve(completed_run, tmp_path):
    """Points after the checkpoint a run resumes from are scored again, the others kept."""
    tmp, run = copy_of(completed_run, tmp_path)
    shutil.copytree(tmp / "classifiers", tmp_path / "classifiers")
    for path in glob.glob(str(run / "checkpoints" / "ckpt-4*")):
        os.remove(path)
    (run / "checkpoints" / "checkpoint").unlink()
    before = json.loads((run / "curve.json").read_text())["points"]
    result = run_training(str(tmp / "config.yaml"), run)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (
        "resumed from" in result.stdout
        and "curve at step 4" in result.stdout
        and "curve at step 2" not in result.stdout
    )
    after = json.loads((run / "curve.json").read_text())["points"]
    assert [p["step"] for p in after] == [0, 2, 4] and after[:2] == before[:2]


def test_a_run_whose_checkpoints_are_all_damaged_says_so_and_how_to_start_over(completed_run, tmp_path):
    tmp, run = copy_of(completed_run, tmp_path)
    for path in glob.glob(str(run / "checkpoints" / "ckpt-*.data-*")):
        with open(path, "r+b") as handle:
            handle.truncate(10)
    os.remove(run / "export.json")  # so the run would have to restore to export
    result = run_training(str(tmp / "config.yaml"), run)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert f"input error: no checkpoint in {run / 'checkpoints'} can be read" in result.stderr
    assert f"delete {run / 'checkpoints'} to train again from the start" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_run_with_the_conditioning_switches_trains_logs_and_translates(tmp_path, mini_nsynth_tiny_dir):
    """The AC-GAN pitch classifier, the one-hot pitch input, nearest upsampling and the f0 excitation, through the CLI."""
    model = dict(
        TINY["model"],
        pitch_classifier_weight=10.0,
        generator_pitch_input=True,
        generator_upsample="nearest",
        generator_excitation=True,
    )
    config = write_config(tmp_path, mini_nsynth_tiny_dir, tmp_path / "export", model=model)
    result = run_training(config, tmp_path / "run")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    tags = event_tags(str(tmp_path / "run" / "logs"))
    for tag in ("losses/d_pitch_loss", "losses/d_pitch_accuracy", "losses/g_pitch_loss", "losses/g_pitch_accuracy"):
        assert sorted(set(tags[tag])) == [2, 4], (tag, sorted(tags))
    trained = load_trained(str(tmp_path / "run"))
    assert trained.generator.pitch_input and trained.generator.upsample == "nearest" and trained.generator.excitation
    waveform = np.asarray(trained.generator(np.zeros((2, 512), "float32"), np.array([0, 60]), training=False))
    assert waveform.shape == (2, 8192, 1) and np.all(np.isfinite(waveform))


def test_the_pitch_classifier_is_refused_for_the_aae_baseline():
    config = json.loads(json.dumps(TINY))
    config["model"].update(variant="aae", pitch_classifier_weight=1.0)
    with pytest.raises(ConfigError, match=r"model.pitch_classifier_weight: the auxiliary pitch classifier"):
        parse(Face2MusicConfig, config).validate()
