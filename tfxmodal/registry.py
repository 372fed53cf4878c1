"""Every task tfxmodal knows, by the config's `task:` name: the one list the CLIs read.

A task is declared by a module of its paper's package that defines `TASK =
tfxmodal.tasks.task.Task(...)`; a new paper is one new package beside
`face2music/` and `car_gan/` plus one line per task here. The modules are
imported when a task is first asked for (the command lines' `--help` stays
fast), and the layout test reads `TASK_MODULES` as this module's imports of
the paper packages: the registry is the floor above them.
"""

import importlib
import os

import yaml

from tfxmodal.config import apply_overrides, parse, read_yaml, yaml_problem
from tfxmodal.errors import ConfigError, RunDirectoryError

TASK_MODULES = {
    "face2music": "tfxmodal.face2music.task",
    "audio_embedder": "tfxmodal.face2music.audio_embedder",
    "car_gan": "tfxmodal.car_gan.task",
}


def names():
    """The task names, sorted."""
    return sorted(TASK_MODULES)


def get_task(name, where="config"):
    """The `Task` called `name`; `ConfigError` naming `where` for an unknown one."""
    if name not in TASK_MODULES:
        raise ConfigError(f"{where}: unknown task {name!r} (known: {', '.join(names())})")
    return importlib.import_module(TASK_MODULES[name]).TASK


def parsed_config(path, overrides=()):
    """The config file `path` with `KEY=VALUE` `overrides`, parsed into its task's schema."""
    raw = apply_overrides(read_yaml(path), list(overrides))
    return parse(get_task(raw.get("task"), where=path).schema, raw)


def all_tasks():
    """Every registered `Task`, in name order."""
    return [get_task(name) for name in names()]


def task_of_run(run_dir):
    """The `Task` of a run directory (its `config.yaml`'s `task:`), or `RunDirectoryError` naming what is wrong.

    Run directories store only the task's name, never a module path, so a
    run written before a task moved between modules still finds its task.
    """
    path = os.path.join(run_dir, "config.yaml")
    if not os.path.isfile(path):
        raise RunDirectoryError(f"{run_dir}: no config.yaml; not a tfxmodal run directory")
    try:
        with open(path, encoding="utf-8") as handle:
            stored = yaml.safe_load(handle) or {}
    except (UnicodeDecodeError, yaml.YAMLError) as error:
        raise RunDirectoryError(f"{path}: not a readable YAML config{yaml_problem(error)}") from None
    try:
        return get_task(stored.get("task") if isinstance(stored, dict) else None, where=path)
    except ConfigError as error:
        raise RunDirectoryError(str(error)) from None
