import dataclasses
import os
from typing import Literal

import pytest
import yaml

from tests.conftest import ROOT
from tfxmodal import registry
from tfxmodal.config import apply_overrides, bounded, dump_yaml, has_key, parse, read_yaml
from tfxmodal.errors import ConfigError
from tfxmodal.face2music.config import Face2MusicConfig


@dataclasses.dataclass
class Train:
    batch_size: int = 16
    learning_rate: float = 2e-4
    variant: Literal["baseline", "metric", "aux"] = "aux"
    data_dir: str | None = None

    def validate(self):
        if self.batch_size < 1:
            raise ConfigError(f"train.batch_size: must be >= 1, got {self.batch_size}")


@dataclasses.dataclass
class Run:
    task: str
    train: Train = dataclasses.field(default_factory=Train)
    seeds: list[int] = dataclasses.field(default_factory=lambda: [0])


def test_parses_nested_config_with_defaults():
    config = parse(Run, {"task": "t", "train": {"batch_size": 8, "learning_rate": 1}})
    assert config.train.batch_size == 8
    assert config.train.learning_rate == 1.0 and isinstance(config.train.learning_rate, float)
    assert config.train.variant == "aux" and config.seeds == [0]
    assert "batch_size: 8" in dump_yaml(config)


@pytest.mark.parametrize(
    "mapping, message",
    [
        (
            {"task": "t", "train": {"bach_size": 8}},
            r"unknown key train\.bach_size \(known keys of train: batch_size, data_dir",
        ),
        ({"task": "t", "extra": 1}, r"unknown key extra"),
        ({"task": "t", "train": {"batch_size": "8"}}, r"train\.batch_size: expected an integer, got str '8'"),
        ({"task": "t", "train": {"batch_size": True}}, r"train\.batch_size: expected an integer"),
        (
            {"task": "t", "train": {"variant": "big"}},
            r"train\.variant: expected one of \['baseline', 'metric', 'aux'\]",
        ),
        ({"task": "t", "train": {"batch_size": 0}}, r"train\.batch_size: must be >= 1"),
        ({"task": "t", "train": 5}, r"train: expected a mapping"),
        ({"task": "t", "seeds": [1, "x"]}, r"seeds\[1\]: expected an integer"),
        ({"train": {}}, r"missing 1 required positional argument: 'task'"),
    ],
)
def test_rejects_bad_configs_naming_the_key(mapping, message):
    with pytest.raises(ConfigError, match=message):
        parse(Run, mapping)


def test_overrides_parse_yaml_values_and_create_sections():
    data = apply_overrides({"train": {"batch_size": 16}}, ["train.batch_size=32", "train.data_dir=/x", "model.width=8"])
    assert data == {"train": {"batch_size": 32, "data_dir": "/x"}, "model": {"width": 8}}
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        apply_overrides({}, ["novalue"])
    with pytest.raises(ConfigError, match=r"train.batch_size is not a section"):
        apply_overrides({"train": {"batch_size": 1}}, ["train.batch_size.x=1"])


def test_read_yaml_errors(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        read_yaml(str(tmp_path / "none.yaml"))
    with pytest.raises(ConfigError, match=f"{tmp_path}: a directory; expected a YAML config file"):
        read_yaml(str(tmp_path))
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError) as raised:
        read_yaml(str(bad))
    # One line, self-contained: the file, where, and what (PyYAML's own text spans four lines).
    assert str(raised.value) == (
        f"{bad}: not valid YAML at line 2, column 1: expected ',' or ']', but got '<stream end>' "
        "(while parsing a flow sequence)"
    )
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("task: face2music\ntrain: {steps: [\n")
    with pytest.raises(ValueError) as raised:
        registry.task_of_run(str(run))
    assert str(raised.value).startswith(f"{run / 'config.yaml'}: not a readable YAML config at line 3, column 1: ")
    assert "\n" not in str(raised.value)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("42\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        read_yaml(str(scalar))


def test_a_float_written_without_a_dot_is_the_number_it_looks_like():
    raw = yaml.safe_load(
        "task: face2music\nface_embedder: {kind: eigenfaces}\ntrain: {learning_rate: 2e-4, beta_2: 1E-3}\n"
    )
    assert raw["train"]["learning_rate"] == "2e-4"  # what PyYAML reads
    config = parse(Face2MusicConfig, raw)
    assert config.train.learning_rate == 2e-4 and config.train.beta_2 == 1e-3
    with pytest.raises(ConfigError, match=r"train\.learning_rate: expected a number, got str 'fast'"):
        parse(Face2MusicConfig, {**raw, "train": {"learning_rate": "fast"}})


def test_bounded_fields_reject_values_outside_their_range_naming_the_key():
    @dataclasses.dataclass
    class Section:
        beta: float = bounded(0.5, at_least=0, below=1)
        count: int | None = bounded(None, at_least=1)
        rate: float = bounded(1.0, above=0)
        ratio: float = bounded(0.5, at_most=1)

    assert parse(Section, {"beta": 0.0, "count": 3, "rate": 1e-9, "ratio": 1.0}).count == 3
    assert parse(Section, {"count": None}).count is None
    for values, message in [
        ({"beta": 5}, r"s\.beta: must be in \[0, 1\), got 5"),
        ({"beta": 1.0}, r"s\.beta: must be in \[0, 1\)"),
        ({"count": -1}, r"s\.count: must be >= 1, got -1"),
        ({"rate": 0}, r"s\.rate: must be > 0, got 0"),
        ({"ratio": 1.5}, r"s\.ratio: must be <= 1, got 1.5"),
    ]:
        with pytest.raises(ConfigError, match=message):
            parse(Section, values, "s")


def test_parsed_config_reads_a_file_with_overrides_into_its_tasks_schema():
    config = registry.parsed_config(
        os.path.join(ROOT, "configs", "face2music_cpu_hour.yaml"), ["model.pitch_classifier_weight=2.5"]
    )
    assert isinstance(config, Face2MusicConfig)
    assert config.model.pitch_classifier_weight == 2.5 and config.model.generator_pitch_input is True
    with pytest.raises(ConfigError, match=r"train.steps: 5 is not a multiple"):
        registry.parsed_config(os.path.join(ROOT, "configs", "car_gan_cpu_hour.yaml"), ["train.steps=5"])


def test_has_key_follows_the_sections_of_a_schema():
    assert has_key(Face2MusicConfig, "export.dir") and has_key(Face2MusicConfig, "seed")
    assert not has_key(Face2MusicConfig, "export.nothing") and not has_key(Face2MusicConfig, "seed.dir")
