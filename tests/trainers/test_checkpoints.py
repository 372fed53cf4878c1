"""RunCheckpoints: stable keys, compatibility checks, old checkpoints, damaged files."""

import glob
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfxmodal.errors import DamagedCheckpoints, IncompatibleCheckpoint
from tfxmodal.models import AudioEmbedder, AuxDiscriminator, WaveGANDiscriminator, WaveGANGenerator
from tfxmodal.trainers.checkpoints import RunCheckpoints, stable_keys


def make_networks():
    """Face-to-music networks at width 2 and an Adam per network, all built."""
    generator = WaveGANGenerator(2)
    generator.build((None, 512))
    discriminator = WaveGANDiscriminator(2)
    discriminator.build((None, 8192, 1))
    psi = AudioEmbedder(2)
    psi.build((None, 8192))
    aux = AuxDiscriminator()
    aux.build((None, 505))
    trackables = {"generator": generator, "discriminator": discriminator, "psi": psi, "aux": aux}
    for name, network in list(trackables.items()):
        optimizer = keras.optimizers.Adam(1e-3)
        optimizer.build(network.trainable_variables)
        trackables[f"{name}_optimizer"] = optimizer
    return trackables


def all_variables(trackables):
    return [variable for value in trackables.values() for variable in value.variables]


def randomize(trackables, seed):
    rng = np.random.default_rng(seed)
    for variable in all_variables(trackables):
        if "float" in str(variable.dtype):
            variable.assign(rng.normal(size=variable.shape).astype("float32"))
        else:  # optimizer iteration counters
            variable.assign(np.full(variable.shape, seed + 3, str(variable.dtype)))


def test_every_variable_round_trips_including_listed_layers_and_optimizer_state(tmp_path):
    saved = make_networks()
    randomize(saved, seed=1)
    RunCheckpoints(str(tmp_path), **saved).save(7)

    keras.layers.Dense(3).build((None, 2))  # shifts Keras's auto-generated layer names
    restored = make_networks()
    # Layers that networks keep in Python lists (the generator's up-sampling
    # blocks, batch-norm statistics) are the ones tf.train.Checkpoint alone misses.
    assert len(all_variables(restored)) > 100
    path = RunCheckpoints(str(tmp_path), **restored).restore_latest()
    assert path.endswith("ckpt-7")
    for before, after in zip(all_variables(saved), all_variables(restored)):
        np.testing.assert_array_equal(np.asarray(before), np.asarray(after), err_msg=before.path)


def test_a_damaged_newest_checkpoint_falls_back_to_the_previous_with_a_warning(tmp_path, capsys):
    networks = make_networks()
    generator = {"generator": networks["generator"]}
    checkpoints = RunCheckpoints(str(tmp_path), **generator)
    randomize(generator, seed=1)
    first = [np.asarray(v) for v in generator["generator"].variables]
    checkpoints.save(1)
    randomize(generator, seed=2)
    checkpoints.save(2)
    (data_file,) = glob.glob(str(tmp_path / "ckpt-2.data-*"))
    with open(data_file, "r+b") as handle:  # truncated, as by a full disk or a partial copy
        handle.truncate(os.path.getsize(data_file) // 3)

    randomize(generator, seed=3)
    path = RunCheckpoints(str(tmp_path), **generator).restore_latest()
    assert path.endswith("ckpt-1")
    assert "checkpoint " + str(tmp_path / "ckpt-2") + " is damaged or incomplete" in capsys.readouterr().out
    for expected, variable in zip(first, generator["generator"].variables):
        np.testing.assert_array_equal(expected, np.asarray(variable))


def test_no_restorable_checkpoint_is_an_error_naming_the_directory(tmp_path):
    generator = {"generator": make_networks()["generator"]}
    RunCheckpoints(str(tmp_path), **generator).save(1)
    for path in glob.glob(str(tmp_path / "ckpt-1.*")):
        with open(path, "wb") as handle:
            handle.write(b"not a checkpoint")
    with pytest.raises(DamagedCheckpoints, match=rf"no checkpoint in {tmp_path} can be read \(ckpt-1\); delete"):
        RunCheckpoints(str(tmp_path), **generator).restore_latest()


def test_unbuilt_networks_are_refused(tmp_path):
    with pytest.raises(ValueError, match="generator has no variables yet"):
        RunCheckpoints(str(tmp_path), generator=WaveGANGenerator(2))


def test_a_checkpoint_the_state_file_does_not_list_yet_is_restored(tmp_path):
    """A run killed after writing ckpt-2's files but before updating `checkpoint`."""
    generator = {"generator": make_networks()["generator"]}
    checkpoints = RunCheckpoints(str(tmp_path), **generator)
    checkpoints.save(1)
    state = (tmp_path / "checkpoint").read_text()
    randomize(generator, seed=5)
    second = [np.asarray(v) for v in generator["generator"].variables]
    checkpoints.save(2)
    (tmp_path / "checkpoint").write_text(state)  # as it was before ckpt-2

    randomize(generator, seed=6)
    assert RunCheckpoints(str(tmp_path), **generator).restore_latest().endswith("ckpt-2")
    for expected, variable in zip(second, generator["generator"].variables):
        np.testing.assert_array_equal(expected, np.asarray(variable))


def test_an_unfinished_unlisted_checkpoint_falls_back_to_the_previous(tmp_path, capsys):
    """A run killed while TensorFlow wrote ckpt-2's index: ckpt-1 is restored."""
    generator = {"generator": make_networks()["generator"]}
    checkpoints = RunCheckpoints(str(tmp_path), **generator)
    randomize(generator, seed=1)
    first = [np.asarray(v) for v in generator["generator"].variables]
    checkpoints.save(1)
    index = (tmp_path / "ckpt-1.index").read_bytes()
    (tmp_path / "ckpt-2.index").write_bytes(index[: len(index) // 2])  # the state file still lists ckpt-1 only

    randomize(generator, seed=2)
    assert RunCheckpoints(str(tmp_path), **generator).restore_latest().endswith("ckpt-1")
    assert "ckpt-2 is damaged or incomplete" in capsys.readouterr().out
    for expected, variable in zip(first, generator["generator"].variables):
        np.testing.assert_array_equal(expected, np.asarray(variable))


def test_a_first_checkpoint_left_unfinished_means_training_from_the_start(tmp_path, capsys):
    """Killed while writing its first checkpoint: nothing was saved, so nothing to restore and no error."""
    generator = {"generator": make_networks()["generator"]}
    RunCheckpoints(str(tmp_path / "written"), **generator).save(2)
    index = (tmp_path / "written" / "ckpt-2.index").read_bytes()
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "ckpt-2.index").write_bytes(index[: len(index) // 2])  # no `checkpoint` state file yet

    assert RunCheckpoints(str(tmp_path / "run"), **generator).restore_latest() is None
    out = capsys.readouterr().out
    assert "ckpt-2 in " + str(tmp_path / "run") + ": an unfinished write" in out and "training from the start" in out


class TwoLayers(keras.Model):
    """A network whose layers have explicit names, optionally one more."""

    def __init__(self, extra=False, units=3, **kwargs):
        super().__init__(**kwargs)
        self.first = keras.layers.Dense(units, name="first")
        self.second = keras.layers.Dense(2, name="second")
        self.extra = keras.layers.Dense(2, name="extra") if extra else None

    def call(self, x):
        y = self.second(self.first(x))
        return y + self.extra(y) if self.extra is not None else y


def two_layers(**kwargs):
    network = TwoLayers(name="net", **kwargs)
    network(np.zeros((1, 4), "float32"))
    return network


def test_keys_are_paths_below_the_network_and_do_not_depend_on_build_order():
    generator = make_networks()["generator"]
    keys = stable_keys(generator, "generator")
    assert "project/kernel" in keys and "upconv1_cbn/batch_norm/moving_mean" in keys
    assert len(keys) == len(generator.variables)
    networks = make_networks()
    network_keys = {id(v): f"generator/{k}" for k, v in stable_keys(networks["generator"], "generator").items()}
    optimizer_keys = stable_keys(networks["generator_optimizer"], "generator_optimizer", network_keys)
    assert "iteration" in optimizer_keys and "generator/project/kernel:momentum" in optimizer_keys
    assert len(optimizer_keys) == len(networks["generator_optimizer"].variables)


def test_a_layer_added_since_the_checkpoint_is_named_never_silently_restored(tmp_path):
    RunCheckpoints(str(tmp_path), network=two_layers()).save(1)
    with pytest.raises(IncompatibleCheckpoint, match=r"network/extra/(kernel|bias) is not in it"):
        RunCheckpoints(str(tmp_path), network=two_layers(extra=True)).restore_latest()


def test_a_layer_removed_since_the_checkpoint_is_named(tmp_path):
    RunCheckpoints(str(tmp_path), network=two_layers(extra=True)).save(1)
    with pytest.raises(IncompatibleCheckpoint, match=r"holds network/extra/(kernel|bias) which the current network"):
        RunCheckpoints(str(tmp_path), network=two_layers()).restore_latest()


def test_a_changed_shape_names_the_variable_and_both_shapes(tmp_path):
    RunCheckpoints(str(tmp_path), network=two_layers(units=3)).save(1)
    restored = two_layers(units=5)
    before = [np.asarray(v) for v in restored.variables]
    with pytest.raises(IncompatibleCheckpoint, match=r"network/first/kernel expected shape \(4, 5\), found \(4, 3\)"):
        RunCheckpoints(str(tmp_path), network=restored).restore_latest()
    for expected, variable in zip(before, restored.variables):  # nothing was assigned
        np.testing.assert_array_equal(expected, np.asarray(variable))


def write_version_1_checkpoint(directory, trackables, step):
    """A checkpoint as tfxmodal wrote them before stable keys: the objects plus `<name>_variables/<position>`."""
    tracked = dict(trackables)
    for name, value in trackables.items():
        tracked[f"{name}_variables"] = {str(i): variable for i, variable in enumerate(value.variables)}
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(**tracked), directory, max_to_keep=3)
    return manager.save(checkpoint_number=step)


def test_a_checkpoint_of_the_previous_format_still_restores(tmp_path):
    saved = make_networks()
    randomize(saved, seed=4)
    write_version_1_checkpoint(str(tmp_path), saved, 5)

    keras.layers.Dense(3).build((None, 2))  # other auto-generated names in this process
    restored = make_networks()
    assert RunCheckpoints(str(tmp_path), **restored).restore_latest().endswith("ckpt-5")
    for before, after in zip(all_variables(saved), all_variables(restored)):
        np.testing.assert_array_equal(np.asarray(before), np.asarray(after), err_msg=before.path)


def test_a_previous_format_checkpoint_of_other_shapes_is_incompatible(tmp_path):
    write_version_1_checkpoint(str(tmp_path), {"generator": make_networks()["generator"]}, 1)
    wider = WaveGANGenerator(3)
    wider.build((None, 512))
    with pytest.raises(
        IncompatibleCheckpoint, match=r"ckpt-1 \(written before version 2\): .*\(512, 1024\).*\(512, 1536\)"
    ):
        RunCheckpoints(str(tmp_path), generator=wider).restore_latest()
