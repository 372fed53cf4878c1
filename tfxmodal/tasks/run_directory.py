"""What every run shares: its resolved config in the run directory, and running its task there.

`execute_run(task, raw, out_dir, config_path)` parses the config, runs the
task's stages and returns the run's summary; what can go wrong is raised
(`tfxmodal.errors`: `ConfigError` and the other `InputError`s, or
`TrainingFailed` on a non-finite loss), and `python -m tfxmodal.train`
turns it into its exit code and stderr line.

The run directory's `config.yaml` is the resolved config (every key, its
default filled in) plus `config_version`, the config version the run
directory was created under (kept when the file is rewritten). A re-run
compares configs *by value* after filling defaults, so a run written before
a new key with a default existed resumes; a key whose default changed since
that version keeps the run's value unless the command sets it
(`Task.earlier_defaults`); a key that a later version renamed or removed is
named in the message with what to do (`Task.renamed_keys`). The file names
the task by its `task:` name only (no module path), so run directories
outlive moves of the code that wrote them.
"""

import copy
import os

import yaml

from tfxmodal.config import dump_yaml, parse, to_dict, yaml_problem
from tfxmodal.errors import ConfigError, RunDirectoryError
from tfxmodal.utils.files import save_text

VERSION_KEY = "config_version"


def execute_run(task, raw, out_dir, config_path=None):
    """Runs (or resumes) one training run of `task`; returns its summary (a JSON-able dict).

    Args:
        task: the `tasks.task.Task`.
        raw: the config mapping (overrides applied).
        out_dir: run directory, or None for `runs/<config file name>`.
        config_path: the config file (names the default run directory).

    Raises:
        InputError: a bad config (`ConfigError`), input file or run
            directory (`IncompatibleCheckpoint`, `DamagedCheckpoints`, ...).
        TrainingFailed: training stopped on a non-finite loss.
    """
    if out_dir is None:
        name = os.path.splitext(os.path.basename(config_path or task.name))[0]
        out_dir = os.path.join("runs", name)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ConfigError(f"--out: {out_dir} is a file; expected a run directory")
    config = parse(task.schema, keep_run_defaults(task, strip_version(task, raw), out_dir))
    return task.run_class(config, out_dir).execute()


def strip_version(task, raw):
    """`raw` without its `config_version` (a run's config.yaml may be reused as a config file)."""
    raw = dict(raw)
    version = raw.pop(VERSION_KEY, task.config_version)
    if not isinstance(version, int) or version > task.config_version:
        raise ConfigError(
            f"{VERSION_KEY}: {version!r} was written by a newer tfxmodal (this one reads up to "
            f"{task.config_version}); upgrade tfxmodal"
        )
    return raw


def resolved_config_text(task, config, version=None):
    """The YAML `config.yaml` holds: `config_version` (default: today's) and every key of `config`."""
    return yaml.safe_dump({VERSION_KEY: version or task.config_version}, sort_keys=False) + dump_yaml(config)


def stored_version(path):
    """The `config_version` of the `config.yaml` at `path`; None when there is none or it is unreadable."""
    try:
        with open(path, encoding="utf-8") as handle:
            stored = yaml.safe_load(handle)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    if not isinstance(stored, dict):
        return None
    version = stored.get(VERSION_KEY, 1)
    return version if isinstance(version, int) else None


def keep_run_defaults(task, raw, out_dir):
    """`raw` with the run directory's values for keys whose default changed since its version.

    A run directory created under config version v keeps, for every key of
    `Task.earlier_defaults` of a version >= v that `raw` does not set, the
    value it was trained with: re-running the same command after an upgrade
    resumes instead of being refused as a changed config. A key `raw` sets
    is taken as given (and compared as usual).
    """
    path = os.path.join(out_dir, "config.yaml")
    version = stored_version(path) if os.path.isfile(path) else None
    if version is None or version >= task.config_version:
        return raw
    stored = to_dict(read_run_config(task, path))
    raw = copy.deepcopy(raw)
    for earlier, defaults in task.earlier_defaults.items():
        if version <= earlier:
            for key in defaults:
                if not _has_key(raw, key):
                    _set_missing(raw, key, _get(stored, key))
    return raw


def read_run_config(task, path):
    """Parses a run directory's stored `config.yaml` (any earlier config version).

    Keys missing from the file take today's defaults. A key renamed or
    removed since the file's version raises `ConfigError` naming it.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            stored = yaml.safe_load(handle)
    except (UnicodeDecodeError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: not a readable YAML config{yaml_problem(error)}") from None
    if not isinstance(stored, dict):
        raise ConfigError(f"{path}: expected a mapping of config keys")
    version = stored.pop(VERSION_KEY, 1)
    if not isinstance(version, int) or version > task.config_version:
        raise ConfigError(
            f"{path}: {VERSION_KEY} {version!r} was written by a newer tfxmodal "
            f"(this one reads up to {task.config_version}); upgrade tfxmodal or use a new --out directory"
        )
    for old, new in task.renamed_keys.items():
        if _has_key(stored, old):
            what = f"renamed to {new}" if new else "removed"
            raise ConfigError(
                f"{path}: key {old} (config version {version}) was {what} in config version "
                f"{task.config_version}; edit it there (and in your config file), or use a new --out directory"
            )
    for earlier, defaults in task.earlier_defaults.items():
        if version <= earlier:
            for key, value in defaults.items():
                _set_missing(stored, key, value)
    try:
        return parse(task.schema, stored)
    except ConfigError as error:
        raise ConfigError(f"{path} (config version {version}): {error}") from None


def _set_missing(mapping, dotted, value):
    *sections, name = dotted.split(".")
    node = mapping
    for part in sections:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            return
    node.setdefault(name, value)


def _get(mapping, dotted):
    for part in dotted.split("."):
        mapping = mapping[part]
    return mapping


def _has_key(mapping, dotted):
    node = mapping
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def config_differences(stored, config):
    """`[(dotted key, stored value, new value)]` where two parsed configs differ, by value."""
    before, after = _flatten(to_dict(stored)), _flatten(to_dict(config))
    return [
        (key, before.get(key), after.get(key))
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    ]


def _flatten(value, prefix=""):
    if isinstance(value, dict):
        items = {}
        for key, item in value.items():
            items.update(_flatten(item, f"{prefix}{key}."))
        return items
    return {prefix[:-1]: value}


def stale_artifacts(task, out_dir, keys):
    """The existing artifacts of `out_dir` that a change of `keys` makes stale: `[(path, [keys])]`."""
    stale = []
    for artifact in task.artifacts:
        path = os.path.join(out_dir, artifact.path)
        exists = os.path.isfile(path) or (os.path.isdir(path) and bool(os.listdir(path)))
        changed = [key for key in keys if artifact.depends(key)]
        if exists and changed:
            stale.append((artifact.path, changed))
    return stale


def write_resolved_config(task, config, out_dir):
    """Writes `<out_dir>/config.yaml` (or checks the one there); returns its YAML text.

    A stored config that differs by value is replaced when no artifact the
    change affects exists yet (`Task.artifacts`): a run that failed before
    any stage it would invalidate takes the corrected config.

    Raises:
        ConfigError: the run directory holds a config that differs in keys
            that made some of its artifacts (keys, values and artifacts are
            listed), or one this version cannot read.
    """
    target = os.path.join(out_dir, "config.yaml")
    text = resolved_config_text(task, config, stored_version(target) if os.path.isfile(target) else None)
    if os.path.exists(target):
        stored = read_run_config(task, target)
        differences = config_differences(stored, config)
        stale = stale_artifacts(task, out_dir, [key for key, _, _ in differences])
        if stale:
            shown = "; ".join(f"{key}: {old!r} → {new!r}" for key, old, new in differences[:5])
            made = "; ".join(f"{path} (from {', '.join(keys)})" for path, keys in stale)
            raise ConfigError(
                f"{target} holds a different config ({shown}{'; …' if len(differences) > 5 else ''}); the change "
                f"invalidates what this run already made: {made}. Resume with the same config and --set values, "
                "delete those to redo them with the new values, or use a new --out directory"
            )
        if differences:
            print(
                f"[{task.name}] {target}: taking the changed "
                f"{', '.join(key for key, _, _ in differences)} (nothing made so far depends on it)",
                flush=True,
            )
        with open(target, encoding="utf-8") as handle:
            if handle.read() != text:
                # New values nothing depends on yet, or the same values in an older layout.
                save_text(target, text)
        return text
    os.makedirs(out_dir, exist_ok=True)
    save_text(target, text)
    return text


def load_weights(network, path):
    """`network.load_weights(path)` of a run directory's weights file; one that does not fit is a `RunDirectoryError`.

    Keras raises `ValueError` for a file written for other networks; the message is kept as it is.
    """
    try:
        network.load_weights(path)
    except ValueError as error:
        raise RunDirectoryError(str(error)) from None
