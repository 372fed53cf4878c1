"""RunCheckpoints: every variable of every network and optimizer, and a damaged newest checkpoint."""

import glob
import os

import keras
import numpy as np
import pytest

from tfxmodal.models import AudioEmbedder, AuxDiscriminator, WaveGANDiscriminator, WaveGANGenerator
from tfxmodal.trainers.checkpoints import RunCheckpoints


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
    with pytest.raises(RuntimeError, match=f"no checkpoint in {tmp_path} restores: ckpt-1"):
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
