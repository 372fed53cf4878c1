"""`python -m tfxmodal.data`, run as real subprocesses."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tests.conftest import ROOT
from tests.support.nsynth_records import magenta_example, write_records
from tfxmodal.audio.soundfont import default_soundfont_path
from tfxmodal.audio.wav import write_wav

pytestmark = pytest.mark.slow  # every test but two spawns a Python process


def run(*args, env=None, timeout=180):
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "tfxmodal.data", *args],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def our_error_lines(stderr):
    return [line for line in stderr.splitlines() if line.startswith("python -m tfxmodal.data: error:")]


def test_help_lists_every_command():
    result = run("--help")
    assert result.returncode == 0, result.stderr
    for text in (
        "prepare mini_nsynth", "prepare mini_urmp", "--config NAME", "--soundfont PATH",
        "default|held_out_instruments|tiny|tiny_held_out", "--data-dir",
        "describe nsynth-tfrecord FILE", "describe sub_urmp ROOT", "benchmark mini_nsynth",
    ):  # fmt: skip
        assert text in result.stdout, text


@pytest.mark.parametrize(
    "args, message",
    [
        ((), "the following arguments are required: COMMAND"),
        (("prepare", "mini_mnist"), "invalid choice: 'mini_mnist'"),
        (
            ("prepare", "mini_nsynth", "--config", "huge"),
            "configs default, held_out_instruments, tiny, tiny_held_out, not 'huge'",
        ),
        (
            ("prepare", "mini_nsynth", "--config", "tiny", "--soundfont", "/no/such.sf2"),
            "/no/such.sf2: no such soundfont file",
        ),
        (
            ("prepare", "mini_urmp", "--soundfont", "/no/such.sf2"),
            "--soundfont is an option of prepare mini_nsynth only",
        ),
        (("describe", "sub_urmp", "a", "b"), "describe sub_urmp takes one ROOT, got 2 paths"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = our_error_lines(result.stderr)
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_prepare_honours_tfds_data_dir_and_reuses_the_build(mini_nsynth_tiny):
    # No --data-dir: TFDS's default, i.e. $TFDS_DATA_DIR, where the session built it.
    result = run("prepare", "mini_nsynth", "--config", "tiny",
                 env={"TFDS_DATA_DIR": mini_nsynth_tiny["data_dir"]})  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)  # stdout is the JSON only
    assert summary["reused"] is True
    assert summary["path"] == mini_nsynth_tiny["path"]
    assert summary["splits"] == mini_nsynth_tiny["splits"]


def test_prepare_renders_a_users_soundfonts_under_their_own_config(tmp_path):
    mine = tmp_path / "mine.sf2"
    shutil.copy(default_soundfont_path(), mine)
    result = run("prepare", "mini_nsynth", "--config", "tiny_held_out", "--soundfont", str(mine),
                 "--data-dir", str(tmp_path / "tfds"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["dataset"].startswith("mini_nsynth/tiny_held_out-sf-") and summary["reused"] is False
    assert [s["file"] for s in summary["soundfonts"]] == ["mine.sf2"]
    assert summary["protocol"] == "held_out_instruments"
    assert {s: v["examples"] for s, v in summary["splits"].items()} == {"train": 20, "valid": 10, "test": 10}


def test_describe_nsynth_tfrecords_and_a_missing_file(tmp_path):
    train = write_records(
        tmp_path / "nsynth-train.tfrecord",
        [magenta_example(0, 0, 1, 30, 50), magenta_example(3, 1, 2, 60, 100)],
    )
    test = write_records(tmp_path / "nsynth-test.tfrecord", [magenta_example(10, 2, 3, 70, 25)])
    result = run("describe", "nsynth-tfrecord", train, test)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["splits"]["train"]["families"] == {"bass": 1, "guitar": 1}
    assert report["splits"]["train"]["sources"] == {"acoustic": 1, "electronic": 1}
    assert report["splits"]["test"] == {
        "examples": 1, "families": {"vocal": 1}, "sources": {"synthetic": 1},
        "bad_records": 0, "pitch_range": [70, 70],
    }  # fmt: skip

    bad = write_records(
        tmp_path / "nsynth-valid.tfrecord",
        [magenta_example(0, 0, 1, 30, 50, override={
            "pitch": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"30"]))})],
    )  # fmt: skip
    missing = str(tmp_path / "nsynth-absent.tfrecord")
    result = run("describe", "nsynth-tfrecord", train, missing)  # nothing to describe: an error, no report
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
    lines = our_error_lines(result.stderr)
    assert len(lines) == 1 and f"{missing}: no such file" in lines[0], result.stderr

    # Bad data is described: every file counted, every problem listed, exit 2, the first problem on stderr.
    result = run("describe", "nsynth-tfrecord", train, bad)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    problem = f"{bad}: record 0, key 'pitch' holds bytes_list, expected int64_list"
    assert report["ok"] is False and report["bad_records"] == 1 and report["problems"][0].startswith(problem)
    assert report["splits"]["train"]["examples"] == 2 and report["splits"]["valid"]["examples"] == 0
    lines = our_error_lines(result.stderr)
    assert len(lines) == 1 and problem in lines[0] and "1 problem(s)" in lines[0], result.stderr


def test_benchmark_reports_examples_per_second(mini_nsynth_tiny):
    result = run("benchmark", "mini_nsynth", "--config", "tiny", "--data-dir",
                 mini_nsynth_tiny["data_dir"], "--batch-size", "4", "--batches", "3")  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["examples"] == 12 and report["examples_per_second"] > 0
    assert report["paper_filter"] is True and report["dataset"] == "mini_nsynth/tiny"


def test_describe_sub_urmp_exits_2_when_it_reports_problems(tmp_path):
    root = tmp_path / "sub_urmp"
    for split in ("train", "test"):
        (root / "img" / split / "cello").mkdir(parents=True)
        (root / "chunk" / split / "cello").mkdir(parents=True)
        Image.new("RGB", (16, 16), (200, 10, 10)).save(root / "img" / split / "cello" / "cello01_1.jpg")
        write_wav(str(root / "chunk" / split / "cello" / "cello01_1.wav"), np.zeros(8000, np.float32), 16000)
    result = run("describe", "sub_urmp", str(root))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ok"] is True
    Image.new("RGB", (16, 16)).save(root / "img" / "train" / "cello" / "cello02_1.jpg")  # no chunk of its own
    result = run("describe", "sub_urmp", str(root))
    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert report["ok"] is False and "cello02_1" in json.dumps(report)
