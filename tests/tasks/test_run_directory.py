"""Run directories across versions: configs compared by value, renamed keys named, versions checked."""

import dataclasses

import keras
import pytest
import yaml

from tfxmodal.car_gan.config import CARGANConfig
from tfxmodal.car_gan.run import CLASSIFIER_CACHE_KEYS, classifier_cache_key
from tfxmodal.cli.train import run_task
from tfxmodal.config import parse
from tfxmodal.errors import ConfigError, RunDirectoryError
from tfxmodal.tasks.run_directory import load_weights, read_run_config, write_resolved_config
from tfxmodal.tasks.task import Artifact, Task


@dataclasses.dataclass
class Section:
    size: int = 4
    added_later: str = "default"


@dataclasses.dataclass
class ToyConfig:
    task: str
    seed: int = 0
    section: Section = dataclasses.field(default_factory=Section)


class ToyRun:
    def __init__(self, config, out_dir):
        self.config, self.out_dir = config, out_dir

    def execute(self):
        write_resolved_config(TOY, self.config, self.out_dir)
        return {"size": self.config.section.size}


TOY = Task(
    name="toy",
    schema=ToyConfig,
    run_class=ToyRun,
    config_version=3,
    renamed_keys={"section.old_size": "section.size", "section.gone": None},
    artifacts=(Artifact("made.txt", depends_on=("section.size",)), Artifact("checkpoints", independent_of=("seed",))),
)


def test_the_stored_config_has_its_version_and_every_default(tmp_path):
    assert run_task(TOY, {"task": "toy"}, str(tmp_path)) == 0
    stored = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert stored == {"config_version": 3, "task": "toy", "seed": 0, "section": {"size": 4, "added_later": "default"}}


def test_configs_are_compared_by_value_so_a_missing_defaulted_key_resumes(tmp_path):
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"task": "toy", "seed": 0, "section": {"size": 4}}))
    assert run_task(TOY, {"task": "toy", "section": {"added_later": "default"}}, str(tmp_path)) == 0
    rewritten = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert rewritten["config_version"] == 1 and rewritten["section"]["added_later"] == "default"


def test_a_change_that_invalidates_an_artifact_is_refused_naming_key_values_and_artifact(tmp_path, capsys):
    assert run_task(TOY, {"task": "toy"}, str(tmp_path)) == 0
    (tmp_path / "made.txt").write_text("made from section.size 4")
    assert run_task(TOY, {"task": "toy", "section": {"size": 5}}, str(tmp_path)) == 2
    err = capsys.readouterr().err
    assert "holds a different config (section.size: 4 → 5)" in err
    assert "invalidates what this run already made: made.txt (from section.size)" in err
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["section"]["size"] == 4


def test_a_run_that_failed_before_making_anything_the_change_affects_takes_the_corrected_config(tmp_path, capsys):
    """The fix of a failed run: no artifact depends on the changed key yet."""
    assert run_task(TOY, {"task": "toy"}, str(tmp_path)) == 0
    (tmp_path / "made.txt").write_text("made from section.size 4")
    (tmp_path / "checkpoints").mkdir()  # empty: training never saved a step
    assert run_task(TOY, {"task": "toy", "section": {"added_later": "fixed"}}, str(tmp_path)) == 0
    assert "taking the changed section.added_later (nothing made so far depends on it)" in capsys.readouterr().out
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["section"]["added_later"] == "fixed"
    (tmp_path / "checkpoints" / "ckpt-1.index").write_text("")
    assert run_task(TOY, {"task": "toy", "section": {"added_later": "again"}}, str(tmp_path)) == 2
    assert "checkpoints (from section.added_later)" in capsys.readouterr().err


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("old_size", 4, r"key section.old_size \(config version 1\) was renamed to section.size in config version 3"),
        ("gone", True, r"key section.gone \(config version 1\) was removed in config version 3"),
    ],
)
def test_a_renamed_or_removed_key_is_named_with_what_to_do(tmp_path, key, value, message):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"task": "toy", "section": {key: value}}))
    with pytest.raises(ConfigError, match=message):
        read_run_config(TOY, str(path))


def test_a_config_of_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"config_version": 4, "task": "toy"}))
    with pytest.raises(ConfigError, match="config_version 4 was written by a newer tfxmodal"):
        read_run_config(TOY, str(path))


def test_a_run_directory_config_can_be_reused_as_a_config_file(tmp_path):
    assert run_task(TOY, {"task": "toy"}, str(tmp_path / "a")) == 0
    stored = yaml.safe_load((tmp_path / "a" / "config.yaml").read_text())
    assert run_task(TOY, stored, str(tmp_path / "b")) == 0


def test_a_key_an_earlier_version_lacked_gets_the_value_it_was_trained_with(tmp_path):
    task = dataclasses.replace(TOY, earlier_defaults={2: {"section.added_later": "as trained"}})
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"config_version": 2, "task": "toy", "section": {"size": 4}}))
    assert read_run_config(task, str(path)).section.added_later == "as trained"
    path.write_text(yaml.safe_dump({"config_version": 3, "task": "toy", "section": {"size": 4}}))
    assert read_run_config(task, str(path)).section.added_later == "default"


def test_a_run_of_an_earlier_version_keeps_a_changed_default_unless_the_command_sets_it(tmp_path, capsys):
    """Today's default of section.added_later is "default"; version 2's was "as trained" (stored explicitly)."""
    task = dataclasses.replace(TOY, earlier_defaults={2: {"section.added_later": "as trained"}})
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump({"config_version": 2, "task": "toy", "section": {"size": 4, "added_later": "as trained"}})
    )
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "ckpt-1.index").write_text("")
    for _ in range(2):  # the same command, twice: the version and the value stay
        assert run_task(task, {"task": "toy"}, str(tmp_path)) == 0
        assert yaml.safe_load(path.read_text())["config_version"] == 2
        assert yaml.safe_load(path.read_text())["section"]["added_later"] == "as trained"
    assert run_task(task, {"task": "toy", "section": {"added_later": "default"}}, str(tmp_path)) == 2
    assert "section.added_later: 'as trained' → 'default'" in capsys.readouterr().err
    assert run_task(task, {"task": "toy"}, str(tmp_path / "fresh")) == 0
    assert yaml.safe_load((tmp_path / "fresh" / "config.yaml").read_text())["section"]["added_later"] == "default"


def test_the_car_gan_classifier_cache_key_changes_only_with_what_determines_c():
    """A new config key (with its default) must not invalidate the classifiers users have cached."""

    def key(**sections):
        return classifier_cache_key(parse(CARGANConfig, {"task": "car_gan", **sections}))

    base = key()
    assert base == key(data={"shuffle_buffer": 17, "cache": True}, train={"steps": 10}, model={"attention": False})
    assert base == key(evaluation={"every_steps": 100}, classifier={"cache_dir": "/tmp/elsewhere"})
    assert base != key(classifier={"epochs": 3}) and base != key(data={"image_size": 64}) and base != key(seed=1)
    assert "classifier.epochs" in CLASSIFIER_CACHE_KEYS and "train.steps" not in CLASSIFIER_CACHE_KEYS


def test_a_weights_file_that_does_not_fit_is_a_run_directory_error(tmp_path):
    """The evaluators load a run's weights files through `load_weights`: a mismatch is bad input (exit 2)."""

    def dense(units):
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(units)])
        return model

    path = str(tmp_path / "net.weights.h5")
    dense(3).save_weights(path)
    load_weights(dense(3), path)
    with pytest.raises(RunDirectoryError) as raised:
        load_weights(dense(4), path)
    assert isinstance(raised.value, ValueError) and str(raised.value)
