"""The command-line entry points, run as real subprocesses."""

import os
import re
import subprocess
import sys

import pytest
import yaml

from tests.conftest import ROOT
from tfxmodal.cli.train import main
from tfxmodal.config import parse
from tfxmodal.face2music.task import TASK
from tfxmodal.tasks.run_directory import write_resolved_config

pytestmark = pytest.mark.slow  # spawns Python processes


def run(*args, timeout=120):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def test_package_help_lists_commands():
    result = run("-m", "tfxmodal", "--help")
    assert result.returncode == 0, result.stderr
    for command in ("train", "translate", "evaluate", "ablate", "data", "bench"):
        assert f"[tfxmodal.{command}]" in result.stdout, result.stdout


@pytest.mark.parametrize("command", ["data", "bench"])
def test_package_dispatches_each_command(command):
    # `tfxmodal data` runs `tfxmodal.cli.data`, as `python -m tfxmodal.data` does.
    result = run("-m", "tfxmodal", command, "--help")
    assert result.returncode == 0, result.stderr
    assert f"usage: python -m tfxmodal.{command}" in result.stdout


def test_unknown_command_fails_with_usage():
    result = run("-m", "tfxmodal", "frobnicate")
    assert result.returncode == 2
    assert "unknown command 'frobnicate'" in result.stderr


def test_train_help():
    result = run("-m", "tfxmodal.train", "--help")
    assert result.returncode == 0, result.stderr
    for option in ("--config", "--set", "--out"):
        assert option in result.stdout


@pytest.mark.parametrize(
    "content, message",
    [("task: nonsense\n", "unknown task 'nonsense'"), ("[1, 2\n", "not valid YAML")],
)
def test_train_rejects_bad_config_before_work(tmp_path, content, message):
    config = tmp_path / "c.yaml"
    config.write_text(content)
    result = run("-m", "tfxmodal.train", "--config", str(config))
    assert result.returncode == 2
    assert message in result.stderr


@pytest.mark.parametrize(
    "sections, message",
    [
        ({"train": {"bach_size": 4}}, r"unknown key train\.bach_size"),
        ({"train": {"batch_size": "four"}}, r"train\.batch_size: expected an integer, got str 'four'"),
        (
            {"audio": {"source": "tfds", "data_dir": "/nonexistent/nsynth"}},
            r"audio\.data_dir: /nonexistent/nsynth does not exist",
        ),
        (
            {"train": {"steps": 5, "checkpoint_every": 2}},
            r"train\.steps: 5 is not a multiple of train\.checkpoint_every \(2\)",
        ),
        ({"model": {"width": 0}}, r"model\.width: must be >= 1, got 0"),
        (
            {"face_embedder": {"kind": "vggface2_resnet50"}},
            r"face_embedder\.weights: the vggface2_resnet50 embedder needs a weights file",
        ),
        ({"faces": {"max_faces": -1}}, r"faces\.max_faces: must be >= 2, got -1"),
        ({"train": {"beta_1": 5}}, r"train\.beta_1: must be in \[0, 1\), got 5"),
        ({"train": {"shuffle_buffer": 0}}, r"train\.shuffle_buffer: must be >= 1, got 0"),
        ({"train": {"lr_decay_epochs": 0}}, r"train\.lr_decay_epochs: must be > 0, got 0"),
        ({"seed": -1}, r"seed: must be >= 0, got -1"),
        (
            {"face_embedder": {"kind": "eigenfaces", "num_components": 600}},
            r"face_embedder\.num_components: must be in \[1, 512\], got 600",
        ),
    ],
)
def test_train_rejects_a_bad_face2music_config_naming_the_key_before_any_work(tmp_path, capsys, sections, message):
    """The real `python -m tfxmodal.train` entry point, called in this process:
    each rejection happens before TensorFlow does any work, so a fresh process
    per case would only re-import it (the subprocess tests above cover that path)."""
    config = {
        "task": "face2music",
        "audio": {"source": "mini_nsynth"},
        "face_embedder": {"kind": "eigenfaces"},
        "train": {"batch_size": 4, "steps": 4, "checkpoint_every": 2},
    }
    for section, values in sections.items():
        if isinstance(values, dict):
            config.setdefault(section, {}).update(values)
        else:
            config[section] = values
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    out = tmp_path / "run"
    assert main(["--config", str(path), "--out", str(out)]) == 2
    printed = capsys.readouterr()
    assert re.search(message, printed.out + printed.err), printed
    assert not out.exists()  # rejected before any stage wrote anything


def test_train_reports_a_face_folder_without_images_by_name(tmp_path):
    faces = tmp_path / "faces"
    (faces / "alice").mkdir(parents=True)
    (faces / "alice" / "notes.txt").write_text("not a face")
    config = {
        "task": "face2music",
        "audio": {"source": "mini_nsynth"},
        "faces": {"source": "image_folder", "path": str(faces)},
        "face_embedder": {"kind": "eigenfaces"},
        "train": {"batch_size": 4, "steps": 4, "checkpoint_every": 2},
    }
    path = tmp_path / "faces.yaml"
    path.write_text(yaml.safe_dump(config))
    result = run("-m", "tfxmodal.train", "--config", str(path), "--out", str(tmp_path / "run"), timeout=300)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert f"input error: {faces}: no images found" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run" / "checkpoints").exists()

    # The fix is taken: nothing the corrected faces.* would invalidate was made before the failure.
    fixed = parse(TASK.schema, {**config, "faces": {"source": "lfw_subset"}})
    write_resolved_config(TASK, fixed, str(tmp_path / "run"))
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["faces"]["source"] == "lfw_subset"


def test_more_eigenfaces_than_faces_is_a_config_error_naming_the_key(tmp_path, capsys):
    config = {
        "task": "face2music",
        "face_embedder": {"kind": "eigenfaces", "num_components": 200},
        "train": {"batch_size": 4, "steps": 4, "checkpoint_every": 2},
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["--config", str(path), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert (
        "config error: face_embedder.num_components: 200 eigenfaces need more than that many faces; lfw_subset gave 100"
        in err
    )
    assert not (tmp_path / "run" / "face_embedder.weights.h5").exists()


def test_train_rejects_unusable_paths_and_files_before_any_work(tmp_path, capsys):
    config = {
        "task": "face2music",
        "face_embedder": {"kind": "eigenfaces"},
        "train": {"batch_size": 4, "steps": 4, "checkpoint_every": 2},
    }
    path = tmp_path / "ok.yaml"
    path.write_text(yaml.safe_dump(config))
    taken = tmp_path / "taken"
    taken.write_text("a file")
    assert main(["--config", str(path), "--out", str(taken)]) == 2
    assert f"--out: {taken} is a file; expected a run directory" in capsys.readouterr().err
    path.write_text(yaml.safe_dump({**config, "export": {"dir": str(taken)}}))
    assert main(["--config", str(path), "--out", str(tmp_path / "run")]) == 2
    assert f"export.dir: {taken} is a file" in capsys.readouterr().err
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("task: face2music\n# caf\xe9\n".encode("latin-1"))
    assert main(["--config", str(latin1)]) == 2
    assert f"{latin1}: not UTF-8 text" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
