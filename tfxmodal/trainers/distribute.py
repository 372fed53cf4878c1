"""Choosing the `tf.distribute` strategy of a run."""

import json
import os

import numpy as np
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


def describe_strategy(strategy):
    """One line for the run log, e.g. `CollectiveAllReduceStrategy, 2 replica(s), multi-worker: worker 1`."""
    text = f"{type(strategy).__name__}, {strategy.num_replicas_in_sync} replica(s)"
    if is_multi_worker(strategy):
        resolver = strategy.cluster_resolver
        text += f", multi-worker: {resolver.task_type} {resolver.task_id}"
        if is_chief(strategy):
            text += " (chief)"
    return text


def worker_directory(run_dir, name, strategy):
    """A directory of the run that each worker writes alone: `<run_dir>/<name>` on the chief.

    Under `MultiWorkerMirroredStrategy` the other workers use
    `<run_dir>/.worker_<name>_<task type>_<task index>`: named by task, not
    by process, so that a restarted worker finds its own files again, and
    distinct, so that workers sharing one run directory never write the
    same files.
    """
    if is_chief(strategy):
        return os.path.join(run_dir, name)
    resolver = strategy.cluster_resolver
    return os.path.join(run_dir, f".worker_{name}_{resolver.task_type}_{resolver.task_id}")


def checkpoint_directory(run_dir, strategy):
    """Where this worker saves the run's checkpoints (`worker_directory` "checkpoints").

    Every worker must join each save under `MultiWorkerMirroredStrategy`,
    so the others write theirs beside the chief's `<run_dir>/checkpoints`.
    """
    return worker_directory(run_dir, "checkpoints", strategy)


def average_replica_local_variables(models, strategy):
    """Makes every replica hold the same values of the variables it updates alone.

    Variables without aggregation (Keras's default for `add_weight`), such
    as batch-norm moving statistics, are updated by each replica from its own
    batches: under a strategy the copies drift apart, across the devices of
    one machine and across workers, so two workers would end with different
    weights. This sets every copy to their mean over all replicas. A moving
    average is linear, so (from equal starting values) that mean is the
    moving average of the batch statistics averaged over the replicas, as if
    each update had been aggregated with MEAN.

    Collective under `MultiWorkerMirroredStrategy`: every worker must call it
    at the same point. Only floating-point, non-trainable variables with
    aggregation `none` are touched; a no-op with one replica.
    """
    if strategy.num_replicas_in_sync == 1:
        return
    variables, seen = [], set()
    for model in models:
        for variable in model.non_trainable_variables:
            if id(variable) not in seen and variable.aggregation == "none" and tf.as_dtype(variable.dtype).is_floating:
                seen.add(id(variable))
                variables.append(variable)
    if not variables:
        return

    def average():
        context = tf.distribute.get_replica_context()
        local = [tf.identity(variable.value) for variable in variables]
        for variable, mean in zip(variables, context.all_reduce(tf.distribute.ReduceOp.MEAN, local)):
            variable.assign(mean)

    strategy.run(average)


def is_multi_worker(strategy):
    """True when `strategy` spans several worker processes."""
    extended = getattr(strategy, "extended", None)
    return bool(getattr(extended, "_in_multi_worker_mode", lambda: False)())


def allow_multi_worker_fit(model, strategy):
    """Lets Keras 3 `model.fit` run under a multi-worker `MultiWorkerMirroredStrategy`.

    Keras 3's TensorFlow trainer fails there in two places
    (keras-team/keras#20585), both while turning per-replica values into
    one value, never in the training math:

    - before training, `_maybe_symbolic_build` draws one batch and reduces
      the whole `(x, y)` / dict structure of `PerReplica` values with
      `strategy.reduce` only to learn its shapes; with several workers the
      collective ops get the nested structure ("Attempt to convert a value
      (PerReplica...) to a Tensor"). Here this worker's first local replica
      value is used instead (shapes and dtypes are all that is needed);
    - after each step, the logs are reduced with
      `strategy.reduce("MEAN", value, axis=0)`, which rejects the scalar
      losses and metrics every `train_step` returns ("Invalid reduction
      dimension 0 for input with 0 dimensions"). Here `train_step`'s scalar
      outputs get shape `(1,)`, so that reduce yields their mean over all
      replicas of all workers: a scalar, as on one machine.

    Both are patched on this model instance only; a no-op unless `strategy`
    is multi-worker. Call it after `compile`, before `fit`. Returns `model`.
    """
    if not is_multi_worker(strategy):
        return model
    build = model._maybe_symbolic_build
    train_step = model.train_step

    def local_value(value):
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    def maybe_symbolic_build(iterator=None, data_batch=None):
        if iterator is not None and data_batch is None:
            for _, _, batches in iterator:
                data_batch = tf.nest.map_structure(local_value, next(batches))
                break
        return build(data_batch=data_batch)

    def rank_one(value):
        value = tf.convert_to_tensor(value)
        return tf.reshape(value, [1]) if value.shape.rank == 0 else value

    def multi_worker_train_step(data):
        return tf.nest.map_structure(rank_one, train_step(data))

    model._maybe_symbolic_build = maybe_symbolic_build
    model.train_step = multi_worker_train_step
    return model


def worker_position(strategy):
    """`(this worker's index, number of workers)`: `(0, 1)` on one machine.

    The chief (a `chief` task, else `worker` 0) is index 0; the workers follow in task order.
    """
    if not is_multi_worker(strategy):
        return 0, 1
    resolver = strategy.cluster_resolver
    cluster = resolver.cluster_spec().as_dict()
    chiefs = len(cluster.get("chief", []))
    workers = len(cluster.get("worker", []))
    index = resolver.task_id if resolver.task_type == "chief" else chiefs + resolver.task_id
    return int(index), chiefs + workers


def sum_over_workers(strategy, array):
    """The elementwise sum of `array` over the workers (each worker's value counted once).

    Collective under `MultiWorkerMirroredStrategy`: every worker must call it
    with an array of the same shape, at the same point. The identity on one
    worker. Computed in float32: exact for the integers below 2^24 and the
    zeros-plus-one-value sums it is used for.
    """
    array = np.asarray(array, np.float32)
    if not is_multi_worker(strategy):
        return array
    first = []

    def local_value(context):
        # One contribution per worker, not one per local replica (device).
        if first:
            return tf.zeros(array.shape, tf.float32)
        first.append(context.replica_id_in_sync_group)
        return tf.constant(array)

    values = strategy.experimental_distribute_values_from_function(local_value)

    def reduce(value):
        return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, value)

    return strategy.experimental_local_results(strategy.run(reduce, args=(values,)))[0].numpy()
