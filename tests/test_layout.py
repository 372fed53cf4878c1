"""The package's architecture, checked: imports point down the floors, no cycle, one registry line per task.

`FLOORS` is the one declaration of the layering (docs/library.md, "Layout",
shows it): a module may import modules of its own floor or of a floor
below, never above. The papers' floor is every package the registry's
`TASK_MODULES` point into, so a new paper is one package and one registry
line; two papers may not import each other. Besides `import` statements, the graph holds the module references a
module resolves at run time (`"tfxmodal.face2music.evaluate:evaluate"` in a
`Task`, `registry.TASK_MODULES`), so lazy references point down too. A
function-level import is deliberate or it is a mistake: each one carries
`# noqa: PLC0415 — <why>` (ruff's PLC0415 flags any other).
"""

import ast
import os
import pathlib
import re

import pytest

from tests.conftest import LONGEST_FILES, ROOT
from tfxmodal import registry

PACKAGE = os.path.join(ROOT, "tfxmodal")

# The papers' floor: the packages the registry's TASK_MODULES point into (face2music, car_gan).
PAPERS = "<the paper packages>"
# Bottom to top. An entry is a module or a package (with everything in it).
FLOORS = (
    ("tfxmodal", "tfxmodal.domain", "tfxmodal.errors", "tfxmodal.utils"),
    ("tfxmodal.config", "tfxmodal.audio", "tfxmodal.layers", "tfxmodal.losses", "tfxmodal.metrics"),
    ("tfxmodal.data",),
    ("tfxmodal.models",),
    ("tfxmodal.trainers", "tfxmodal.export"),
    ("tfxmodal.evaluation", "tfxmodal.benchmarks"),
    ("tfxmodal.tasks",),
    (PAPERS,),
    ("tfxmodal.registry",),
    (
        "tfxmodal.cli",
        # `python -m tfxmodal.COMMAND` keeps working through these thin entry modules.
        "tfxmodal.__main__",
        "tfxmodal.train",
        "tfxmodal.evaluate",
        "tfxmodal.ablate",
        "tfxmodal.translate",
        "tfxmodal.bench",
        "tfxmodal.reference_docs",
        "tfxmodal.data.__main__",
    ),
)
# A module path in a string, as `Task` names what it resolves later (`module:attribute`); the registry's
# `TASK_MODULES` name whole modules. (`python -m tfxmodal.train` in a subprocess is no import.)
REFERENCE = re.compile(r"^(tfxmodal(?:\.\w+)+):\w+$")
MODULE_REFERENCE = re.compile(r"^(tfxmodal(?:\.\w+)+)$")


def modules(package=PACKAGE):
    """`{module name: path}` of every module of the package."""
    root = os.path.dirname(package)
    found = {}
    for directory, _, files in os.walk(package):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                relative = os.path.relpath(path, root)[: -len(".py")].split(os.sep)
                if relative[-1] == "__init__":
                    relative = relative[:-1]
                found[".".join(relative)] = path
    return found


def imports_of(path, known, references=True):
    """The package modules `path` imports (module level or inside functions), and with `references` names in a
    module reference (resolved when used, so not part of an import cycle)."""
    tree = ast.parse(pathlib.Path(path).read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif references and isinstance(node, ast.Constant) and isinstance(node.value, str):
            pattern = MODULE_REFERENCE if path.endswith(os.path.join("tfxmodal", "registry.py")) else REFERENCE
            if pattern.match(node.value):
                names.add(pattern.match(node.value).group(1))
    return {name for name in names if name in known and name.startswith("tfxmodal")}


def import_graph(package=PACKAGE, references=True):
    known = modules(package)
    return {name: imports_of(path, known, references) - {name} for name, path in known.items()}


def paper_packages(package=PACKAGE):
    """The packages `TASK_MODULES` in the package's `registry.py` point into (read from its source, not imported)."""
    tree = ast.parse(pathlib.Path(package, "registry.py").read_text(encoding="utf-8"))
    (table,) = [
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["TASK_MODULES"]
    ]
    return {".".join(value.value.split(".")[:2]) for value in table.values}


def declared_floors(package=PACKAGE):
    """`FLOORS` with the papers' floor filled in from the package's registry."""
    return tuple(tuple(sorted(paper_packages(package))) if floor == (PAPERS,) else floor for floor in FLOORS)


def floor_of(module, floors=None):
    """`(floor index, entry)` of the longest floor entry that is `module` or a package holding it (None: none).

    The root entry `tfxmodal` is the package's `__init__` alone, not everything in it.
    """
    floors = floors or declared_floors()
    best = None
    for index, floor in enumerate(floors):
        for entry in floor:
            holds = module == entry or (entry != "tfxmodal" and module.startswith(entry + "."))
            if holds and (best is None or len(entry) > len(best[1])):
                best = (index, entry)
    return best


def upward_imports(graph, floors=None):
    """`[(module, imported module, why)]` of every import that does not point down the floors."""
    floors = floors or declared_floors()
    papers = set(floors[FLOORS.index((PAPERS,))])
    found = []
    for module, imported in sorted(graph.items()):
        floor, entry = floor_of(module, floors)
        for target in sorted(imported):
            # A package's __init__ re-exporting its own modules is not an edge between floors.
            if target.startswith(module + "."):
                continue
            target_floor, target_entry = floor_of(target, floors)
            if target_floor > floor:
                found.append((module, target, f"floor {floor} imports floor {target_floor}"))
            elif target_floor == floor and entry != target_entry and {entry, target_entry} <= papers:
                found.append((module, target, f"{entry} and {target_entry} may not import each other"))
    return found


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
                return [*stack[stack.index(child) :], child]
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


def test_the_papers_are_the_packages_the_registry_points_into():
    assert paper_packages() == {"tfxmodal.face2music", "tfxmodal.car_gan"}


def test_every_module_has_a_floor():
    unplaced = [module for module in modules() if floor_of(module) is None]
    assert not unplaced, f"modules on no floor of FLOORS: {unplaced}"
    assert floor_of("tfxmodal.newpaper.task") is None  # a new package gets a floor when it is declared


def test_imports_only_point_down_the_floors():
    graph = import_graph()
    assert len(graph) > 100
    offenders = upward_imports(graph)
    assert not offenders, "\n".join(f"{module} -> {target}: {why}" for module, target, why in offenders)


def test_the_floor_check_finds_an_upward_import_and_papers_importing_each_other():
    graph = {
        "tfxmodal.data.images": {"tfxmodal.models.unet"},
        "tfxmodal.models.unet": {"tfxmodal.layers"},
        "tfxmodal.car_gan.run": {"tfxmodal.face2music.data", "tfxmodal.car_gan.data", "tfxmodal.tasks.task"},
        "tfxmodal.registry": {"tfxmodal.car_gan.task"},
    }
    assert upward_imports(graph) == [
        (
            "tfxmodal.car_gan.run",
            "tfxmodal.face2music.data",
            "tfxmodal.car_gan and tfxmodal.face2music may not import each other",
        ),
        ("tfxmodal.data.images", "tfxmodal.models.unet", "floor 2 imports floor 3"),
    ]


def test_the_package_has_no_import_cycle():
    graph = import_graph(references=False)
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_registry_holds_one_line_per_task_and_each_task_is_its_papers():
    source = pathlib.Path(os.path.join(PACKAGE, "registry.py")).read_text(encoding="utf-8")
    lines = [line for line in source.splitlines() if re.match(r'\s+"\w+": "tfxmodal\.[\w.]+",$', line)]
    assert len(lines) == len(registry.names()) == len(registry.TASK_MODULES)
    for name, module in registry.TASK_MODULES.items():
        assert floor_of(module)[1] in paper_packages(), f"task {name} is declared outside a paper package: {module}"
        assert registry.get_task(name).name == name


def test_function_level_imports_say_why():
    """Every import inside a function is deliberate, and its line says why (`# noqa: PLC0415 — <reason>`)."""
    undeclared = []
    for path in sorted(modules().values()):
        text = pathlib.Path(path).read_text(encoding="utf-8")
        lines = text.splitlines()
        for function in ast.walk(ast.parse(text)):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    line = lines[node.end_lineno - 1]
                    if not re.search(r"#\s*noqa:[^—]*PLC0415[^—]*—\s*\S.{10,}", line):
                        undeclared.append(f"{os.path.relpath(path, ROOT)}:{node.lineno}: {line.strip()}")
    assert not undeclared, "function-level imports without a reason:\n" + "\n".join(sorted(set(undeclared)))


@pytest.mark.parametrize("cli", ["train.py", "evaluate.py", "ablate.py", "bench.py"])
def test_the_command_lines_hold_no_task_names(cli):
    source = pathlib.Path(os.path.join(PACKAGE, "cli", cli)).read_text(encoding="utf-8")
    for name in registry.names():
        assert name not in source, f"cli/{cli} mentions task {name!r}; tasks are looked up in tfxmodal.registry"


@pytest.mark.parametrize(
    "entry", ["train", "evaluate", "ablate", "translate", "bench", "reference_docs", "__main__", "data/__main__"]
)
def test_the_entry_modules_only_hand_over_to_the_cli(entry):
    """`python -m tfxmodal.<command>` still works; the command itself lives in `tfxmodal.cli`."""
    tree = ast.parse(pathlib.Path(os.path.join(PACKAGE, f"{entry}.py")).read_text(encoding="utf-8"))
    imported = {node.module for node in tree.body if isinstance(node, ast.ImportFrom)}
    assert imported <= {"tfxmodal.cli", f"tfxmodal.cli.{entry}", "tfxmodal.cli.data"}, imported
    assert len([node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))]) == 0


def test_the_longest_test_files_conftest_orders_first_exist():
    missing = [path for path in LONGEST_FILES if not os.path.isfile(os.path.join(ROOT, path))]
    assert not missing, f"conftest.LONGEST_FILES names files that are gone: {missing}"


# Domain quantities that must come from tfxmodal.domain, never be written again.
DOMAIN_LITERALS = {8192: "CLIP_SAMPLES", 64000: "NOTE_SAMPLES", 505: "PHI_DIM", 377: "MFCC_DIM", 61: "NUM_PITCHES"}


def test_domain_constants_are_written_once():
    offenders = []
    for name, path in modules().items():
        if name == "tfxmodal.domain":
            continue
        tree = ast.parse(pathlib.Path(path).read_text(encoding="utf-8"))
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


def test_every_folder_of_the_package_is_a_regular_package():
    """`packages = find:` installs only folders with an `__init__.py`; a namespace folder would be left out."""
    missing = [
        os.path.relpath(directory, ROOT)
        for directory, _, files in os.walk(PACKAGE)
        if "__pycache__" not in directory and "__init__.py" not in files
    ]
    assert not missing, f"folders without __init__.py: {missing}"
