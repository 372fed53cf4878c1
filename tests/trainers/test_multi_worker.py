"""MultiWorkerMirroredStrategy from TF_CONFIG: two real `python -m tfxmodal.train` workers on 127.0.0.1.

Each worker gets its own `--out` directory, as separate hosts would; the
workers talk over gRPC and all-reduce their gradients, so both must end
with the same weights, and only the chief writes the run's artifacts.
"""

import glob
import json
import os
from types import SimpleNamespace

import keras
import numpy as np
import pytest
import tensorflow as tf
import yaml
from tensorflow.core.protobuf import trackable_object_graph_pb2

from tests.conftest import TINY_CAR_GAN
from tests.conftest import TINY_FACE2MUSIC as TINY
from tests.support.cluster import all_tensors, h5_arrays, run_workers, worker_checkpoint_dir
from tfxmodal.trainers.distribute import average_replica_local_variables, checkpoint_directory, worker_directory

pytestmark = pytest.mark.slow  # clusters of training subprocesses

NUM_WORKERS = 2
NETWORKS = ("generator", "discriminator", "aux_discriminator")


def network_variables(checkpoint_path):
    """`{variable name: array}` of the GAN networks' variables in a checkpoint.

    A checkpoint stores each variable once, under the first path to it (for
    most weights: through their optimizer), so they are found by their
    variable names (`generator/upconv1/kernel`, ...) in its object graph;
    optimizer slots are named after the optimizer and left out.
    """
    reader = tf.train.load_checkpoint(checkpoint_path)
    graph = trackable_object_graph_pb2.TrackableObjectGraph()
    graph.ParseFromString(reader.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH"))
    found = {}
    for node in graph.nodes:
        for attribute in node.attributes:
            if attribute.name == "VARIABLE_VALUE" and attribute.full_name.split("/")[0] in NETWORKS:
                found[attribute.full_name] = reader.get_tensor(attribute.checkpoint_key)
    return found


@pytest.fixture(scope="module")
def two_worker_run(tmp_path_factory, mini_nsynth_tiny_dir):
    tmp = tmp_path_factory.mktemp("multi_worker")
    config = json.loads(json.dumps(TINY))
    config["audio"]["data_dir"] = mini_nsynth_tiny_dir
    config["train"].update(steps=4, checkpoint_every=2, batch_size=4, strategy="auto")  # 2 per worker
    config["audio_embedder"].update(batch_size=8)  # 4 per worker
    config["export"]["dir"] = None  # <out>/saved_model: shows which worker exported
    config["faces"]["shard_size"] = 30  # 100 faces: 4 shards, 2 embedded on each worker
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    outs = [tmp / f"host{index}" for index in range(NUM_WORKERS)]  # one run directory per "host"
    codes, outputs, report = run_workers(path, outs)
    assert codes == [0] * NUM_WORKERS, report
    return path, outs, outputs, report


@pytest.mark.slow
def test_both_workers_train_to_identical_weights(two_worker_run):
    """ψ, the stats, and every tensor of the final (and first) GAN checkpoints are equal on both workers,
    batch-norm moving statistics included (checkpoints hold every variable under its stable key)."""
    _, outs, outputs, report = two_worker_run
    for index, text in enumerate(outputs):
        role = "worker 0 (chief)" if index == 0 else f"worker {index}"
        assert f"2 replica(s), multi-worker: {role}" in text, report
        assert "GAN variant aux" in text and "training: steps 0 -> 4" in text, report
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
def test_the_workers_split_the_face_shards_and_both_end_with_all_of_them(two_worker_run):
    _, outs, outputs, report = two_worker_run
    assert "worker 0 of 2 embeds shards [0, 2]" in outputs[0] and "worker 1 of 2 embeds shards [1, 3]" in outputs[1]
    embeddings = [np.load(out / "source_embeddings.npy") for out in outs]
    np.testing.assert_array_equal(embeddings[0], embeddings[1])
    for out in outs:
        names = sorted(os.listdir(out / "face_embedding_shards"))
        assert names == [f"shard-{j:05d}-of-00004.npz" for j in range(4)], report
    paths = [np.load(out / "face_embeddings.npz")["path"] for out in outs]
    np.testing.assert_array_equal(paths[0], paths[1])


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
    assert sorted(os.listdir(outs[0] / "saved_model")) == ["1"]  # the same trained state is exported once
    assert not (outs[1] / "saved_model").exists()


def test_replica_local_batch_norm_statistics_are_averaged(two_cpu_strategy):
    """In process: the averaging that keeps the workers' batch-norm statistics equal."""
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


# -- CAR-GAN ----------------------------------------------------------------


@pytest.fixture(scope="module")
def two_worker_car_gan_run(tmp_path_factory, mini_urmp_tiny_dir):
    """Both stages under the cluster: C (ResNet-50) is trained by `fit`, then the GAN."""
    tmp = tmp_path_factory.mktemp("multi_worker_car_gan")
    config = json.loads(json.dumps(TINY_CAR_GAN))
    config["data"]["data_dir"] = mini_urmp_tiny_dir
    config["train"].update(strategy="auto")  # batch 4: 2 per worker
    config["export"]["dir"] = None  # <out>/saved_model: shows which worker exported
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    outs = [tmp / f"host{index}" for index in range(NUM_WORKERS)]
    codes, outputs, report = run_workers(path, outs)
    assert codes == [0] * NUM_WORKERS, report
    return path, outs, outputs, report


@pytest.mark.slow
def test_car_gan_workers_train_classifier_and_gan_to_identical_weights(two_worker_car_gan_run):
    """C's weights (batch-norm statistics included), its accuracies, and every tensor of
    both GAN checkpoints (G1, G2, D, both optimizers) are equal on the two workers."""
    _, outs, outputs, report = two_worker_car_gan_run
    for index, text in enumerate(outputs):
        role = "worker 0 (chief)" if index == 0 else f"worker {index}"
        assert f"2 replica(s), multi-worker: {role}" in text, report
        assert "training classifier C" in text and "CAR-GAN model: full model" in text, report
        assert "training: steps 0 -> 4" in text, report
    classifiers = [h5_arrays(out / "classifier.weights.h5") for out in outs]
    assert len(classifiers[0]) > 700 and sorted(classifiers[0]) == sorted(classifiers[1])  # ResNet-50 + Adam: 749
    for name, value in classifiers[0].items():
        np.testing.assert_array_equal(value, classifiers[1][name], err_msg=f"classifier {name}")
    descriptions = [json.loads((out / "classifier.json").read_text()) for out in outs]
    assert descriptions[0] == descriptions[1]
    checkpoints = []
    for index, out in enumerate(outs):
        state = tf.train.get_checkpoint_state(worker_checkpoint_dir(out, index))
        assert state is not None, f"worker {index}: no checkpoint\n{report}"
        paths = list(state.all_model_checkpoint_paths)
        assert [os.path.basename(p) for p in paths] == ["ckpt-2", "ckpt-4"], (index, paths)
        checkpoints.append([all_tensors(p) for p in paths])
    for step, chief, other in zip((2, 4), *checkpoints):
        assert sorted(chief) == sorted(other) and len(chief) > 100
        for name, value in chief.items():
            np.testing.assert_array_equal(value, other[name], err_msg=f"{name} at step {step}")
    # Training moved each network: step 4 differs from step 2 in most of its variables.
    step2, step4 = checkpoints[0]
    for network in ("g1", "g2", "discriminator"):
        names = [name for name in step4 if name.startswith(f"{network}/")]
        changed = [name for name in names if not np.array_equal(step4[name], step2[name])]
        assert len(names) >= 30 and len(changed) >= len(names) // 2, (network, len(changed), len(names))


@pytest.mark.slow
def test_car_gan_only_the_chief_writes_run_artifacts_and_restarts_do_no_new_work(two_worker_car_gan_run):
    path, outs, _, _ = two_worker_car_gan_run
    chief, other = outs
    assert json.loads((chief / "run_summary.json").read_text())["steps"] == 4
    assert os.listdir(chief / "saved_model") == ["1"]
    assert (chief / "samples" / "grid.png").exists()
    for name in ("run_summary.json", "saved_model", "samples", "logs", "checkpoints"):
        assert not (other / name).exists(), f"non-chief wrote {name}"
    # C's per-worker `fit` backups are removed once C is trained.
    for out in outs:
        assert not [name for name in os.listdir(out) if "classifier_backup" in name], sorted(os.listdir(out))
    # Restarted, each worker loads its own C and restores its own step-4 checkpoint:
    # neither trains (alone, while the other waits for it).
    codes, outputs, report = run_workers(path, outs)
    assert codes == [0] * NUM_WORKERS, report
    for text in outputs:
        assert "already trained for 4 steps" in text, report
        assert "training classifier" not in text, report
    assert sorted(os.listdir(chief / "saved_model")) == ["1"]
    assert not (other / "saved_model").exists()


def test_worker_directories_are_the_chiefs_or_named_by_task(tmp_path):
    """Real cluster resolvers of a 3-worker and a chief + 2-worker cluster (no cluster is started)."""

    def on(cluster, task_type, task_id):
        resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
            tf.train.ClusterSpec(cluster), task_type=task_type, task_id=task_id
        )
        return SimpleNamespace(cluster_resolver=resolver)

    workers = {"worker": ["a:1", "b:1", "c:1"]}
    assert worker_directory(str(tmp_path), "classifier_backup", on(workers, "worker", 0)) == str(
        tmp_path / "classifier_backup"
    )
    assert worker_directory(str(tmp_path), "classifier_backup", on(workers, "worker", 2)) == str(
        tmp_path / ".worker_classifier_backup_worker_2"
    )
    with_chief = {"chief": ["a:1"], "worker": ["b:1", "c:1"]}
    assert checkpoint_directory(str(tmp_path), on(with_chief, "chief", 0)) == str(tmp_path / "checkpoints")
    assert checkpoint_directory(str(tmp_path), on(with_chief, "worker", 0)) == str(
        tmp_path / ".worker_checkpoints_worker_0"
    )
    # One process, no cluster: the chief's directory.
    assert worker_directory(str(tmp_path), "logs", tf.distribute.get_strategy()) == str(tmp_path / "logs")
