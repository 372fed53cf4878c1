"""docs/cli.md and docs/configs.md are what `python -m tfxmodal.reference_docs` renders from the code now."""

import argparse
import dataclasses
from typing import Literal

import pytest

from tests.conftest import ROOT
from tfxmodal import registry
from tfxmodal.cli import COMMANDS, command_module, reference_docs
from tfxmodal.config import bounded

STALE = (
    "{path} differs from what the parsers and config dataclasses give now: run "
    "`python -m tfxmodal.reference_docs` (or `make docs`) and commit the result.\n{diff}"
)


@pytest.fixture(scope="module")
def rendered():
    return reference_docs.rendered()


@pytest.mark.parametrize("path", [reference_docs.CLI_FILE, reference_docs.CONFIGS_FILE])
def test_the_committed_reference_is_current(path, rendered):
    with open(f"{ROOT}/{path}", encoding="utf-8") as handle:
        committed = handle.read()
    if committed != rendered[path]:
        diff = "\n".join(reference_docs.stale(ROOT)[path].splitlines()[:60])
        pytest.fail(STALE.format(path=path, diff=diff))


def test_rendering_is_deterministic(rendered):
    assert reference_docs.rendered() == rendered


def test_every_option_of_every_command_is_documented(rendered):
    text = rendered[reference_docs.CLI_FILE]
    for name, (module, _) in COMMANDS.items():
        parser = command_module(name).build_parser()
        assert f"## `python -m {module}`" in text
        for action in parser._actions:
            for flag in action.option_strings:
                assert flag in text, f"{module}: {flag} missing from docs/cli.md"


def test_every_key_of_every_task_is_documented(rendered):
    text = rendered[reference_docs.CONFIGS_FILE]
    for task in registry.all_tasks():
        assert f"## `task: {task.name}`" in text
        for _, _, _, fields in reference_docs.config_sections(task.schema):
            for field in fields:
                assert f"| `{field.key}` |" in text, f"{task.name}: {field.key} missing from docs/configs.md"
    # Spot checks: a bounded float, a Literal, an Optional and a comment written above its field.
    assert "| `train.beta_1` | float | `0.5` | in [0, 1) |" in text
    assert "one of `baseline`, `metric`, `aux`, `aae` | `aux`" in text
    assert "| `faces.max_faces` | int or null | `null` | &gt;= 2 |" in text


@dataclasses.dataclass
class Inner:
    """What the inner section holds."""

    # Above the field,
    # on two lines.
    plain: int = bounded(3, at_least=1)  # and beside it
    spread: float = bounded(0.5, above=0, at_most=1)  # beside a statement of three lines

    choice: Literal["a", "b"] = "a"
    # not the next field's: a blank line is between

    maybe: str | None = None


@dataclasses.dataclass
class Outer:
    task: Literal["example"]
    inner: Inner = dataclasses.field(default_factory=Inner)
    names: list[str] = dataclasses.field(default_factory=lambda: ["x", ""])  # a list


def test_config_sections_read_types_defaults_bounds_and_comments():
    sections = reference_docs.config_sections(Outer)
    assert [(section, docstring) for section, _, docstring, _ in sections] == [
        ("", None),
        ("inner", "What the inner section holds."),
    ]
    top, inner = sections[0][3], sections[1][3]
    assert [(f.key, f.type, f.default, f.comment) for f in top] == [
        ("task", "one of `example`", "required", ""),
        ("names", "list of string", '`[x, ""]`', "a list"),
    ]
    assert [(f.key, f.type, f.default, f.range, f.comment) for f in inner] == [
        ("inner.plain", "int", "`3`", "&gt;= 1", "Above the field, on two lines. and beside it"),
        ("inner.spread", "float", "`0.5`", "in (0, 1]", "beside a statement of three lines"),
        ("inner.choice", "one of `a`, `b`", "`a`", "", ""),
        ("inner.maybe", "string or null", "`null`", "", ""),
    ]


def test_a_parser_becomes_a_usage_line_and_a_table():
    parser = argparse.ArgumentParser(prog="python -m example", description="Does a thing.")
    parser.add_argument("--config", required=True, help="a file like configs/*.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override")
    parser.add_argument("--only", nargs="+", choices=["a", "b"], metavar="SECTION", help="these | those")
    parser.add_argument("--quick", action="store_true", help="fast")
    parser.add_argument("--seed", type=int, default=0, help="seed <n>, default %(default)s")
    parser.add_argument("paths", nargs="+", metavar="PATH")
    lines = []
    reference_docs._render_parser(parser, "##", lines)
    text = "\n".join(lines)
    assert (
        "python -m example --config CONFIG [--set KEY=VALUE ...] [--only SECTION [SECTION ...]] [--quick] "
        "[--seed SEED] PATH [PATH ...]"
    ) in text
    assert "| `--config CONFIG` |  | a file like configs/\\*.yaml (required) |" in text
    assert "| `--set KEY=VALUE` |  | override (repeatable) |" in text
    assert "| `--only SECTION [SECTION ...]` |  | these \\| those (one of `a`, `b`) |" in text
    assert "| `--seed SEED` | `0` | seed &lt;n&gt;, default 0 |" in text


def test_github_anchors():
    assert reference_docs.github_anchor("`python -m tfxmodal.train`") == "python--m-tfxmodaltrain"
    assert reference_docs.github_anchor("Face → music: Table 1") == "face--music-table-1"
    assert reference_docs.github_anchor("`task: car_gan`") == "task-car_gan"


def test_check_reports_a_stale_file(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "configs").mkdir()
    (tmp_path / "docs" / "cli.md").write_text("old\n")
    assert reference_docs.main(["--check", "--root", str(tmp_path)]) == 1
    assert reference_docs.main(["--root", str(tmp_path)]) == 0
    assert reference_docs.main(["--check", "--root", str(tmp_path)]) == 0
