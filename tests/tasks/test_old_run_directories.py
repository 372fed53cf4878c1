"""Run directories written before the code moved into its paper packages (issue 25) resume, export and evaluate.

Nothing a run directory holds names a module: its `config.yaml` names the
task by `task:` (the registry maps it to today's module) and carries its
`config_version`; TF checkpoints are keyed by attribute names, Keras
weights files by layer names; the rest is `.npy`, `.npz` and JSON. So what
must not change is the task names, the config keys and those names, and
two kinds of check hold them:

- `tests/support/old_runs/*.config.yaml` are the `config.yaml` files the
  last commit of the old layout (`BEFORE_THE_MOVE`) wrote for the tiny
  configs of `tests/conftest.py` (data and export paths replaced by
  placeholders): today's code finds their task, reads them and writes them
  back byte for byte, so a re-run is no changed config;
- a real run directory of each paper, trained a few steps by that commit's
  code taken from git (`git archive`), is resumed and trained further by
  today's `python -m tfxmodal.train` (the face2music one also evaluated by
  today's `evaluate`); skipped where the clone lacks the commit, e.g. a
  shallow one.
"""

import io
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml

from tests.conftest import ROOT, TINY_CAR_GAN, TINY_FACE2MUSIC, subprocess_env
from tfxmodal import registry
from tfxmodal.car_gan.config import CARGANConfig
from tfxmodal.car_gan.networks import make_classifier
from tfxmodal.config import parse
from tfxmodal.tasks.run_directory import read_run_config, resolved_config_text, stored_version
from tfxmodal.utils.files import save_weights

# The last commit whose tasks lived in tfxmodal/tasks/ and whose evaluators lived in tfxmodal/evaluation/.
BEFORE_THE_MOVE = "b278324584ee95a3f8cb01c0f1a1889fb80ab1a3"
OLD_RUNS = pathlib.Path(__file__).resolve().parents[1] / "support" / "old_runs"


def old_config_text(task, data_dir, export_dir):
    text = (OLD_RUNS / f"{task}.config.yaml").read_text()
    return text.replace("DATA_DIR", str(data_dir)).replace("EXPORT_DIR", str(export_dir))


@pytest.mark.parametrize("task_name", ["face2music", "car_gan"])
def test_a_config_written_before_the_move_names_its_task_and_is_read_back_unchanged(tmp_path, task_name):
    run = tmp_path / "run"
    run.mkdir()
    text = old_config_text(task_name, tmp_path / "data", tmp_path / "export")
    (run / "config.yaml").write_text(text)
    task = registry.task_of_run(str(run))
    assert task.name == task_name
    config = read_run_config(task, str(run / "config.yaml"))
    assert config.seed == 0 and config.train.steps == 4
    version = stored_version(str(run / "config.yaml"))
    assert version == task.config_version
    assert resolved_config_text(task, config, version) == text


@pytest.fixture(scope="module")
def old_code(tmp_path_factory):
    """The package as it was at `BEFORE_THE_MOVE`, extracted from git."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    known = subprocess.run(["git", "cat-file", "-e", f"{BEFORE_THE_MOVE}^{{commit}}"], cwd=ROOT, capture_output=True)
    if known.returncode != 0:
        pytest.skip(f"commit {BEFORE_THE_MOVE[:7]} (the layout before issue 25) is not in this clone")
    archive = subprocess.run(
        ["git", "archive", "--format=tar", BEFORE_THE_MOVE, "tfxmodal"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    root = tmp_path_factory.mktemp("before_the_move")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(root, filter="data")
    assert (root / "tfxmodal" / "tasks" / "face2music.py").is_file()
    return root


def run_command(code_root, *args):
    """`python -m <args>` with the package at `code_root` (the old one, or today's at ROOT)."""
    env = dict(subprocess_env(), PYTHONPATH=str(code_root))
    return subprocess.run(
        [sys.executable, "-m", *map(str, args)], cwd=code_root, env=env, capture_output=True, text=True, timeout=900
    )


def written_before_the_move(old_code, tmp_path, tiny, data_key, data_dir, **sections):
    """`(config file, run directory)` of a tiny run trained by the old code."""
    config = {**json.loads(json.dumps(tiny)), **sections}
    config[data_key]["data_dir"] = str(data_dir)
    config["export"]["dir"] = str(tmp_path / "export")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    run = tmp_path / "run"
    result = run_command(old_code, "tfxmodal.train", "--config", path, "--out", run)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (run / "checkpoints" / "ckpt-4.index").is_file()
    return path, run


def resume_and_extend(path, run):
    """Today's `train` resumes the old run's checkpoint and trains it 2 steps further.

    (A re-run with the same step count, which only reads the checkpoint, is
    covered for today's runs in `tests/<paper>/test_run.py`.)
    """
    longer = run_command(ROOT, "tfxmodal.train", "--config", path, "--out", run, "--set", "train.steps=6")
    assert longer.returncode == 0, longer.stdout[-3000:] + longer.stderr[-3000:]
    assert f"resumed from {run / 'checkpoints' / 'ckpt-4'} at step 4" in longer.stdout, longer.stdout[-3000:]
    assert json.loads((run / "run_summary.json").read_text())["steps"] == 6


def evaluate(run, *evaluate_options):
    evaluated = run_command(ROOT, "tfxmodal.evaluate", "--run", run, "--out", run / "evaluation", *evaluate_options)
    assert evaluated.returncode == 0, evaluated.stdout[-3000:] + evaluated.stderr[-3000:]
    return json.loads((run / "evaluation" / "metrics.json").read_text())


@pytest.mark.slow
def test_a_face2music_run_written_before_the_move_resumes_and_evaluates(old_code, tmp_path, mini_nsynth_tiny_dir):
    path, run = written_before_the_move(old_code, tmp_path, TINY_FACE2MUSIC, "audio", mini_nsynth_tiny_dir)
    options = ("--classifiers", tmp_path / "classifiers", "--classifier-steps", 2, "--max-examples", 16)
    resume_and_extend(path, run)
    metrics = evaluate(run, *options, "--allow-weak-classifiers")
    assert metrics["step"] == 6 and metrics["translations"] == 16
    assert os.path.isfile(run / "evaluation" / "report" / "index.html")


@pytest.mark.slow
def test_a_car_gan_run_written_before_the_move_resumes_and_exports(old_code, tmp_path, mini_urmp_tiny_dir):
    # Resuming restores every network and C from the old checkpoint and the export
    # rebuilds them, which is what evaluate reads too; evaluate's own reading of a
    # run directory is tested on the face2music run above. The old code loads an
    # untrained C from `classifier.weights` rather than training one: what C learnt
    # is not what this test is about, and training it is most of the old run's time.
    untrained = tmp_path / "untrained_classifier.weights.h5"
    save_weights(make_classifier(parse(CARGANConfig, TINY_CAR_GAN)), untrained)
    path, run = written_before_the_move(
        old_code,
        tmp_path,
        TINY_CAR_GAN,
        "data",
        mini_urmp_tiny_dir,
        classifier={**TINY_CAR_GAN["classifier"], "weights": str(untrained)},
        evaluation={"independent_classifier": False},
    )
    assert json.loads((run / "classifier.json").read_text())["source"] == str(untrained)
    resume_and_extend(path, run)
    # The old code exported version 1 at step 4; today's exports step 6 as version 2.
    assert sorted(os.listdir(tmp_path / "export")) == ["1", "2"]
    assert os.path.isfile(tmp_path / "export" / "2" / "saved_model.pb")
