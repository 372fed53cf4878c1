"""Helpers of the tests that kill, resume and compare real `tfxmodal.train` runs."""

import glob
import os
import signal
import subprocess
import time

import tensorflow as tf

from tests.conftest import ROOT, subprocess_env


def kill_once_checkpointed(command, out, step, timeout=500):
    """Starts `command` (a training run into `out`) and `kill -9`s it once `ckpt-<step>` is on disk.

    Fails if the run ends on its own, or writes no such checkpoint within
    `timeout` seconds; the process is killed in every case.
    """
    process = subprocess.Popen(
        command, cwd=ROOT, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.time() + timeout
    try:
        while not glob.glob(os.path.join(str(out), "checkpoints", f"ckpt-{step}.index")):
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
