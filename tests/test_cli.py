"""The command-line entry points, run as real subprocesses."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args, timeout=120):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_package_help_lists_commands():
    result = run("-m", "tfxmodal", "--help")
    assert result.returncode == 0, result.stderr
    assert "train" in result.stdout and "tfxmodal.train" in result.stdout


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
