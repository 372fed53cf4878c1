"""Choosing the `tf.distribute` strategy of a run."""

import json
import os

import tensorflow as tf

STRATEGIES = ("auto", "default", "one_device", "mirrored", "multi_worker")


def make_strategy(name="auto"):
    """Returns the strategy a run uses.

    - `auto`: `MultiWorkerMirroredStrategy` when `TF_CONFIG` names a
      cluster of several workers, `MirroredStrategy` over all GPUs when
      there are any, else the default (single-device) strategy.
    - `default`, `one_device` (first GPU, else the CPU), `mirrored` (all
      local GPUs, or every logical CPU when there is no GPU),
      `multi_worker` (cluster from `TF_CONFIG`).

    Must be called before TensorFlow initializes its devices when
    `multi_worker` is chosen (the cluster resolver needs to configure them).
    """
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; expected one of {STRATEGIES}")
    if name == "auto":
        if _tf_config_workers() > 1:
            name = "multi_worker"
        elif tf.config.list_physical_devices("GPU"):
            name = "mirrored"
        else:
            name = "default"
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if name == "one_device":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    return tf.distribute.get_strategy()


def _tf_config_workers():
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return 0
    try:
        cluster = json.loads(raw).get("cluster", {})
    except json.JSONDecodeError:
        raise ValueError(f"TF_CONFIG is not valid JSON: {raw[:200]}") from None
    return len(cluster.get("worker", [])) + len(cluster.get("chief", []))


def is_chief(strategy):
    """True on the worker that writes checkpoints, logs and exports."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief
