"""Helpers of the tests that run, kill, resume and compare real `python -m tfxmodal.train` runs."""

import glob
import os
import signal
import subprocess
import sys
import time

import tensorflow as tf

from tests.conftest import ROOT, subprocess_env


def train_command(config, out):
    """`python -m tfxmodal.train --config CONFIG --out OUT` as an argument list."""
    return [sys.executable, "-m", "tfxmodal.train", "--config", str(config), "--out", str(out)]


def run_training(config, out, timeout=600):
    """A real training run of the config file `config` into `out`, in its own process; its `CompletedProcess`."""
    return subprocess.run(
        train_command(config, out), cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=timeout
    )


def event_tags(log_dir):
    """`{TensorBoard tag: [steps]}` of every event file under `log_dir`."""
    tags = {}
    for path in glob.glob(os.path.join(log_dir, "**", "events.out.tfevents.*"), recursive=True):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                tags.setdefault(value.tag, []).append(event.step)
    return tags


def checkpoint_listed(checkpoint_dir, step):
    """Whether the `checkpoint` state file lists `ckpt-<step>`: TensorFlow rewrites it
    (atomically) only after the checkpoint's data and index are complete."""
    state = tf.train.get_checkpoint_state(checkpoint_dir)
    return state is not None and any(
        os.path.basename(path) == f"ckpt-{step}" for path in state.all_model_checkpoint_paths
    )


def kill_once_checkpointed(command, out, step, timeout=500):
    """Starts `command` (a training run into `out`) and `kill -9`s it once `ckpt-<step>` is complete.

    Complete means listed in the `checkpoint` state file: its `.index` file
    appears while TensorFlow is still writing it, and a kill then leaves an
    unfinished checkpoint (which `RunCheckpoints` skips) rather than one to
    resume from. Fails if the run ends on its own, or writes no such
    checkpoint within `timeout` seconds; the process is killed in every case.
    """
    process = subprocess.Popen(
        command, cwd=ROOT, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.time() + timeout
    try:
        while not checkpoint_listed(os.path.join(str(out), "checkpoints"), step):
            assert process.poll() is None, process.stdout.read()[-3000:]
            assert time.time() < deadline, "no checkpoint within the time limit"
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL


def first_logged_losses(log_dir, step):
    """`{loss name: value}` first logged to TensorBoard for generator step `step`.

    A resumed run logs the steps after its checkpoint again; the first
    value is the one of the run that reached the step first.
    """
    first = {}
    for path in glob.glob(os.path.join(log_dir, "train", "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag.startswith("losses/") and event.step == step:
                    name = value.tag[len("losses/") :]
                    if name not in first or event.wall_time < first[name][0]:
                        first[name] = (event.wall_time, float(tf.make_ndarray(value.tensor)))
    return {name: value for name, (_, value) in first.items()}
