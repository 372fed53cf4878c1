"""MultiWorkerMirroredStrategy from TF_CONFIG: two real `python -m tfxmodal.train` workers on 127.0.0.1.

Each worker gets its own `--out` directory, as separate hosts would; the
workers talk over gRPC and all-reduce their gradients, so both must end
with the same weights, and only the chief writes the run's artifacts.
"""

import contextlib
import glob
import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
import yaml

from tests.conftest import ROOT, TINY_FACE2MUSIC as TINY, subprocess_env

NUM_WORKERS = 2
TIMEOUT_S = 300  # generous: the machine may be shared; on 2 idle cores the run takes well under 2 minutes


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


NETWORKS = ("generator", "discriminator", "aux_discriminator")


def network_variables(checkpoint_path):
    """`{variable name: array}` of the GAN networks' variables in a checkpoint.

    A checkpoint stores each variable once, under the first path to it (for
    most weights: through their optimizer), so they are found by their
    variable names (`generator/upconv1/kernel`, ...) in its object graph;
    optimizer slots are named after the optimizer and left out.
    """
    from tensorflow.core.protobuf import trackable_object_graph_pb2

    reader = tf.train.load_checkpoint(checkpoint_path)
    graph = trackable_object_graph_pb2.TrackableObjectGraph()
    graph.ParseFromString(reader.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH"))
    found = {}
    for node in graph.nodes:
        for attribute in node.attributes:
            if attribute.name == "VARIABLE_VALUE" and attribute.full_name.split("/")[0] in NETWORKS:
                found[attribute.full_name] = reader.get_tensor(attribute.checkpoint_key)
    return found


def all_tensors(checkpoint_path):
    """Every tensor a checkpoint holds (networks, optimizer slots and step counters)."""
    reader = tf.train.load_checkpoint(checkpoint_path)
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def h5_arrays(path):
    """`{dataset path: array}` of a Keras `.weights.h5` file."""
    import h5py

    arrays = {}

    def keep(name, item):
        if isinstance(item, h5py.Dataset):
            arrays[name] = item[()]

    with h5py.File(path, "r") as handle:
        handle.visititems(keep)
    return arrays


def worker_checkpoint_dir(out, index):
    """Where worker `index` keeps its checkpoints in its own run directory."""
    return str(out / "checkpoints") if index == 0 else str(out / f".worker_checkpoints_worker_{index}")


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


@pytest.fixture(scope="module")
def two_worker_run(tmp_path_factory, mini_nsynth_tiny_dir):
    tmp = tmp_path_factory.mktemp("multi_worker")
    config = json.loads(json.dumps(TINY))
    config["audio"]["data_dir"] = mini_nsynth_tiny_dir
    config["train"].update(steps=4, checkpoint_every=2, batch_size=4, strategy="auto")  # 2 per worker
    config["audio_embedder"].update(batch_size=8)  # 4 per worker
    config["export"]["dir"] = None  # <out>/saved_model: shows which worker exported
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    outs = [tmp / f"host{index}" for index in range(NUM_WORKERS)]  # one run directory per "host"
    codes, outputs, report = run_workers(path, outs)
    assert codes == [0] * NUM_WORKERS, report
    return path, outs, outputs, report


@pytest.mark.slow
def test_both_workers_train_to_identical_weights(two_worker_run):
    """ψ, the stats, and every tensor of the final (and first) GAN checkpoints are equal on both workers.

    Note: batch-norm moving statistics of layers that the networks hold in
    Python lists are not written into these checkpoints at all (Keras 3 does
    not expose list-held layers to `tf.train.Checkpoint`), so they cannot be
    compared here; ψ's, from its `.weights.h5`, are.
    """
    _, outs, outputs, report = two_worker_run
    for index, text in enumerate(outputs):
        role = "worker 0 (chief)" if index == 0 else f"worker {index}"
        assert f"2 replica(s), multi-worker: {role}" in text, report
        assert "training aux: steps 0 -> 4" in text, report
    # ψ, trained under the strategy before the GAN, and so φ's scales: the same on both workers.
    psi = [h5_arrays(out / "audio_embedder.weights.h5") for out in outs]
    assert sorted(psi[0]) == sorted(psi[1]) and psi[0]
    for name in psi[0]:
        np.testing.assert_array_equal(psi[0][name], psi[1][name], err_msg=f"psi {name}")
    stats = [json.loads((out / "stats.json").read_text()) for out in outs]
    assert stats[0] == stats[1]
    finals, firsts, checkpoints = [], [], []
    for index, out in enumerate(outs):
        state = tf.train.get_checkpoint_state(worker_checkpoint_dir(out, index))
        assert state is not None, f"worker {index}: no checkpoint\n{report}"
        paths = list(state.all_model_checkpoint_paths)
        assert [os.path.basename(p) for p in paths] == ["ckpt-2", "ckpt-4"], (index, paths)
        firsts.append(network_variables(paths[0]))
        finals.append(network_variables(paths[-1]))
        checkpoints.append(all_tensors(paths[-1]))
    chief, other = finals
    for network in NETWORKS:
        count = sum(name.startswith(network + "/") for name in chief)
        assert count >= 4, (network, count, sorted(chief))
    assert sorted(chief) == sorted(other)
    for name in chief:
        np.testing.assert_array_equal(chief[name], other[name], err_msg=f"{name} differs between the workers")
        np.testing.assert_array_equal(firsts[0][name], firsts[1][name], err_msg=f"{name} at step 2")
    # The whole checkpoints too: optimizer moments and step counters included.
    assert sorted(checkpoints[0]) == sorted(checkpoints[1])
    for name, value in checkpoints[0].items():
        np.testing.assert_array_equal(value, checkpoints[1][name], err_msg=name)
    # Training moved the networks: step 4 differs from step 2 in most variables of each.
    for network in NETWORKS:
        names = [name for name in chief if name.startswith(network + "/")]
        changed = [name for name in names if not np.array_equal(chief[name], firsts[0][name])]
        assert len(changed) >= len(names) // 2, (network, sorted(set(names) - set(changed)))


@pytest.mark.slow
def test_only_the_chief_writes_run_artifacts(two_worker_run):
    _, outs, _, _ = two_worker_run
    chief, other = outs
    summary = json.loads((chief / "run_summary.json").read_text())
    assert summary["steps"] == 4
    assert os.listdir(chief / "saved_model") == ["1"]
    assert tf.saved_model.contains_saved_model(str(chief / "saved_model" / "1"))
    assert len(os.listdir(chief / "samples")) == 3
    assert glob.glob(str(chief / "logs" / "**" / "events.out.tfevents.*"), recursive=True)
    for name in ("run_summary.json", "saved_model", "samples", "logs", "checkpoints"):
        assert not (other / name).exists(), f"non-chief wrote {name}"


@pytest.mark.slow
def test_restarted_workers_resume_from_their_own_run_directories(two_worker_run):
    """Both workers restart on a finished run: each restores its own last checkpoint (step 4)
    and loads its own ψ, so neither trains while the other waits."""
    path, outs, _, _ = two_worker_run
    codes, outputs, report = run_workers(path, outs)
    assert codes == [0] * NUM_WORKERS, report
    for text in outputs:
        assert "already trained for 4 steps" in text, report
        assert "training audio embedder" not in text, report
    assert sorted(os.listdir(outs[0] / "saved_model")) == ["1", "2"]  # the chief exports a new version
    assert not (outs[1] / "saved_model").exists()


def test_replica_local_batch_norm_statistics_are_averaged(two_cpu_strategy):
    """In process: the averaging that keeps the workers' batch-norm statistics equal."""
    import keras

    from tfxmodal.trainers.distribute import average_replica_local_variables

    with two_cpu_strategy.scope():
        model = keras.Sequential([keras.Input((3,)), keras.layers.BatchNormalization(momentum=0.5)])
    inputs = two_cpu_strategy.experimental_distribute_values_from_function(
        lambda context: tf.fill((4, 3), float(context.replica_id_in_sync_group + 1))
    )
    two_cpu_strategy.run(lambda x: model(x, training=True), args=(inputs,))
    moving_mean = model.layers[0].moving_mean.value
    copies = [np.asarray(copy) for copy in moving_mean.values]
    np.testing.assert_allclose(copies, [[0.5] * 3, [1.0] * 3])  # each replica saw its own batch
    average_replica_local_variables([model], two_cpu_strategy)
    for copy in moving_mean.values:
        np.testing.assert_allclose(np.asarray(copy), [0.75] * 3)
