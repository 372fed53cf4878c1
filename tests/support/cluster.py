"""Running real `python -m tfxmodal.train` workers as one TF_CONFIG cluster on 127.0.0.1.

Shared by the multi-worker tests of both tasks. Each worker gets its own
`--out` directory, as separate hosts would; they talk over gRPC.
"""

import contextlib
import json
import socket
import subprocess
import sys
import time

import h5py
import tensorflow as tf

from tests.conftest import ROOT, subprocess_env

TIMEOUT_S = 300  # generous: the machine may be shared; on 2 idle cores a tiny run takes well under 2 minutes


def free_ports(count):
    """`count` distinct free TCP ports on 127.0.0.1 (held open together while chosen)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def tf_config(ports, index):
    workers = [f"127.0.0.1:{port}" for port in ports]
    return json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})


def worker_checkpoint_dir(out, index):
    """Where worker `index` keeps its checkpoints in its own run directory."""
    return str(out / "checkpoints") if index == 0 else str(out / f".worker_checkpoints_worker_{index}")


def all_tensors(checkpoint_path):
    """Every tensor a checkpoint holds (networks, optimizer slots and step counters)."""
    reader = tf.train.load_checkpoint(checkpoint_path)
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def h5_arrays(path):
    """`{dataset path: array}` of a Keras `.weights.h5` file."""
    arrays = {}

    def keep(name, item):
        if isinstance(item, h5py.Dataset):
            arrays[name] = item[()]

    with h5py.File(path, "r") as handle:
        handle.visititems(keep)
    return arrays


def run_workers(config, outs, timeout=TIMEOUT_S):
    """Runs one `python -m tfxmodal.train` worker per run directory in `outs`, all in one cluster.

    Returns `(exit codes, outputs, report)`; a worker still running after
    `timeout` seconds, or once another worker has failed (it would wait for
    it forever), is killed, and so is every worker on any error here.
    """
    ports = free_ports(len(outs))
    logs = [out.parent / f"{out.name}.log" for out in outs]
    processes = []
    started = time.time()
    try:
        for index, (out, log) in enumerate(zip(outs, logs)):
            env = dict(subprocess_env(), TF_CONFIG=tf_config(ports, index))
            command = [sys.executable, "-m", "tfxmodal.train", "--config", str(config), "--out", str(out)]
            with open(log, "w") as handle:
                processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT))
        while any(p.poll() is None for p in processes):
            if any(p.poll() not in (None, 0) for p in processes) or time.time() > started + timeout:
                break
            time.sleep(0.5)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()
    seconds = time.time() - started
    codes = [p.returncode for p in processes]
    outputs = [log.read_text() for log in logs]
    report = f"{len(outs)} workers, {seconds:.0f}s (limit {timeout}s):\n" + "\n".join(
        f"--- worker {i} (exit {code}) ---\n{text[-4000:]}" for i, (code, text) in enumerate(zip(codes, outputs))
    )
    print(f"{len(outs)} workers: {seconds:.1f}s")
    return codes, outputs, report
