"""Every task tfxmodal knows, by the config's `task:` name: the one list the CLIs read.

A new task is one module in `tfxmodal.tasks` that defines `TASK =
tasks.task.Task(...)`, plus one line here.
"""

import importlib
import os

import yaml

from tfxmodal.config import ConfigError, apply_overrides, parse, read_yaml, yaml_problem

TASK_MODULES = {
    "face2music": "tfxmodal.tasks.face2music",
    "audio_embedder": "tfxmodal.tasks.audio_embedder",
    "car_gan": "tfxmodal.tasks.car_gan",
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
    """The `Task` of a run directory (its `config.yaml`'s `task:`), or `ValueError` naming what is wrong."""
    path = os.path.join(run_dir, "config.yaml")
    if not os.path.isfile(path):
        raise ValueError(f"{run_dir}: no config.yaml; not a tfxmodal run directory")
    try:
        with open(path, encoding="utf-8") as handle:
            stored = yaml.safe_load(handle) or {}
    except (UnicodeDecodeError, yaml.YAMLError) as error:
        raise ValueError(f"{path}: not a readable YAML config{yaml_problem(error)}") from None
    try:
        return get_task(stored.get("task") if isinstance(stored, dict) else None, where=path)
    except ConfigError as error:
        raise ValueError(str(error)) from None
