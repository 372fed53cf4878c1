"""The package's architecture, checked: no import cycles, no task names in the CLIs, one home for constants."""

import ast
import os

import pytest

from tests.conftest import ROOT

PACKAGE = os.path.join(ROOT, "tfxmodal")


def modules():
    """`{module name: path}` of every module of the package."""
    found = {}
    for directory, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                relative = os.path.relpath(path, ROOT)[: -len(".py")].split(os.sep)
                if relative[-1] == "__init__":
                    relative = relative[:-1]
                found[".".join(relative)] = path
    return found


def imports_of(path, known):
    """The package modules `path` imports, at module level or inside functions."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name in known and name.startswith("tfxmodal.")}


def import_graph():
    known = modules()
    return {name: imports_of(path, known) - {name} for name, path in known.items()}


def find_cycle(graph):
    """One import cycle as a list of modules, or None."""
    state = {}

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for child in sorted(graph[node]):
            # A package's __init__ re-exporting its modules is not a cycle through them.
            if node.startswith(child + "."):
                continue
            if state.get(child) == "open":
                return stack[stack.index(child) :] + [child]
            if child not in state:
                cycle = visit(child, stack)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node, [])
            if cycle:
                return cycle
    return None


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    assert len(graph) > 80
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("cli", ["train.py", "evaluate.py", "ablate.py", "bench.py"])
def test_the_command_lines_hold_no_task_names(cli):
    from tfxmodal import registry

    source = open(os.path.join(PACKAGE, cli), encoding="utf-8").read()
    for name in registry.names():
        assert name not in source, f"{cli} mentions task {name!r}; tasks are looked up in tfxmodal.registry"


# Domain quantities that must come from tfxmodal.domain, never be written again.
DOMAIN_LITERALS = {8192: "CLIP_SAMPLES", 64000: "NOTE_SAMPLES", 505: "PHI_DIM", 377: "MFCC_DIM", 61: "NUM_PITCHES"}


def test_domain_constants_are_written_once():
    offenders = []
    for name, path in modules().items():
        if name == "tfxmodal.domain":
            continue
        tree = ast.parse(open(path, encoding="utf-8").read())
        # General MIDI program numbers in the GM -> NSynth family table are not pitches.
        tables = [
            node
            for node in tree.body
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_TABLE" for t in node.targets)
        ]
        exempt = {id(child) for table in tables for child in ast.walk(table)}
        for node in ast.walk(tree):
            if id(node) in exempt:
                continue
            if isinstance(node, ast.Constant) and type(node.value) is int and node.value in DOMAIN_LITERALS:
                offenders.append(
                    f"{os.path.relpath(path, ROOT)}:{node.lineno}: {node.value} (use domain.{DOMAIN_LITERALS[node.value]})"
                )
    assert not offenders, "\n".join(offenders)
