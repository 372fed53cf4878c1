"""A third paper is one new package and one registry line.

A copy of the package gets `tests/support/toy_paper/` as
`tfxmodal/toy_paper/` and the line `"toy": "tfxmodal.toy_paper.task",` in
`registry.TASK_MODULES`, nothing else; then `python -m tfxmodal.train`,
`evaluate` and `ablate` run the new task end to end in that copy, and its
imports point down the floors like the two papers'.
"""

import difflib
import filecmp
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest
import yaml

from tests.conftest import ROOT, subprocess_env
from tests.test_layout import declared_floors, find_cycle, floor_of, import_graph, upward_imports

pytestmark = pytest.mark.slow  # runs the commands as subprocesses

TOY_PAPER = os.path.join(ROOT, "tests", "support", "toy_paper")
REGISTRY_LINE = '    "toy": "tfxmodal.toy_paper.task",\n'


@pytest.fixture(scope="module")
def with_a_third_paper(tmp_path_factory):
    """A checkout-like folder: today's package plus the toy paper and its one registry line."""
    root = tmp_path_factory.mktemp("third_paper")
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(os.path.join(ROOT, "tfxmodal"), root / "tfxmodal", ignore=ignore)
    shutil.copytree(TOY_PAPER, root / "tfxmodal" / "toy_paper", ignore=ignore)
    registry = root / "tfxmodal" / "registry.py"
    lines = registry.read_text(encoding="utf-8").splitlines(keepends=True)
    end = lines.index("}\n", next(i for i, line in enumerate(lines) if line.startswith("TASK_MODULES = {")))
    registry.write_text("".join([*lines[:end], REGISTRY_LINE, *lines[end:]]), encoding="utf-8")
    (root / "toy.yaml").write_text(yaml.safe_dump({"task": "toy", "train": {"steps": 30}}))
    return root


def run(root, *args):
    env = dict(subprocess_env(), PYTHONPATH=str(root))
    return subprocess.run(
        [sys.executable, "-m", *map(str, args)], cwd=root, env=env, capture_output=True, text=True, timeout=600
    )


def test_nothing_but_the_new_package_and_one_registry_line_differs(with_a_third_paper):
    copy = with_a_third_paper / "tfxmodal"
    changed, added = [], []

    def compare(comparison, relative=""):
        changed.extend(os.path.join(relative, name) for name in comparison.diff_files)
        added.extend(os.path.join(relative, name) for name in comparison.left_only if name != "__pycache__")
        assert not [name for name in comparison.right_only if name != "__pycache__"], comparison.right_only
        for name, sub in comparison.subdirs.items():
            compare(sub, os.path.join(relative, name))

    compare(filecmp.dircmp(copy, os.path.join(ROOT, "tfxmodal"), ignore=["__pycache__"]))
    assert added == ["toy_paper"] and changed == ["registry.py"]
    before = pathlib.Path(ROOT, "tfxmodal", "registry.py").read_text(encoding="utf-8").splitlines(keepends=True)
    after = (copy / "registry.py").read_text(encoding="utf-8").splitlines(keepends=True)
    assert [line for line in difflib.ndiff(before, after) if line[:2] in ("+ ", "- ")] == ["+ " + REGISTRY_LINE]


def test_the_new_paper_stands_on_the_shared_floors(with_a_third_paper):
    package = str(with_a_third_paper / "tfxmodal")
    floors = declared_floors(package)
    assert ("tfxmodal.car_gan", "tfxmodal.face2music", "tfxmodal.toy_paper") in floors
    graph = import_graph(package)
    assert upward_imports(graph, floors) == []
    assert find_cycle(import_graph(package, references=False)) is None
    assert floor_of("tfxmodal.toy_paper.task", floors)[1] == "tfxmodal.toy_paper"


def test_the_commands_train_evaluate_and_ablate_the_new_task(with_a_third_paper):
    root = with_a_third_paper
    trained = run(root, "tfxmodal.train", "--config", "toy.yaml", "--out", root / "run")
    assert trained.returncode == 0, trained.stdout[-3000:] + trained.stderr[-3000:]
    assert yaml.safe_load((root / "run" / "config.yaml").read_text())["task"] == "toy"
    summary = json.loads(trained.stdout[trained.stdout.index("{") :])
    assert summary["steps"] == 30 and abs(summary["estimate"] - 2.0) < 0.1

    evaluated = run(root, "tfxmodal.evaluate", "--run", root / "run")
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    metrics = json.loads((root / "run" / "evaluation" / "metrics.json").read_text())
    assert metrics["error"] < 0.1 and metrics["steps"] == 30

    ablated = run(root, "tfxmodal.ablate", "--config", "toy.yaml", "--out", root / "ablation")
    assert ablated.returncode == 0, ablated.stdout[-3000:] + ablated.stderr[-3000:]
    table = json.loads((root / "ablation" / "table.json").read_text())
    assert [row["name"] for row in table["rows"]] == ["short", "long"] and table["rows"][0]["steps"] == 1

    listed = run(root, "tfxmodal.train", "--config", root / "missing.yaml")
    assert listed.returncode == 2  # an unknown file; the same command line as for the two papers
