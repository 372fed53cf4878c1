"""What every training task shares: its exit codes and its resolved config in the run directory.

A task module defines `load_config(raw)` and a run class `Run(config,
out_dir)` with `execute() -> summary dict`; `run_task` turns that into the
`python -m tfxmodal.train` exit code: 0 done, 2 bad config, 3 training
stopped on a non-finite loss.
"""

import json
import os

from tfxmodal.config import ConfigError, dump_yaml
from tfxmodal.utils.files import save_text


class TrainingFailed(RuntimeError):
    """Training stopped on a non-finite loss; the last good checkpoint is kept."""


def run_task(load_config, run_class, raw, out_dir, config_path, default_name):
    """Runs (or resumes) one training run; returns a process exit code.

    Args:
        load_config: `raw mapping -> config`, raising `ConfigError`.
        run_class: `(config, out_dir)` -> object with `execute()`.
        raw: the config mapping (overrides applied).
        out_dir: run directory, or None for `runs/<config file name>`.
        config_path: the config file (names the default run directory).
        default_name: run directory name when there is no config file.
    """
    try:
        config = load_config(raw)
    except ConfigError as error:
        print(f"config error: {error}")
        return 2
    if out_dir is None:
        name = os.path.splitext(os.path.basename(config_path or default_name))[0]
        out_dir = os.path.join("runs", name)
    try:
        summary = run_class(config, out_dir).execute()
    except ConfigError as error:
        print(f"config error: {error}")
        return 2
    except TrainingFailed as error:
        print(f"training stopped: {error}")
        return 3
    print(json.dumps(summary, indent=1))
    return 0


def write_resolved_config(config, out_dir):
    """Writes `<out_dir>/config.yaml` once; returns its YAML text.

    Raises:
        ConfigError: the run directory holds a different config (a resumed
            run must use the same config and `--set` values).
    """
    text = dump_yaml(config)
    target = os.path.join(out_dir, "config.yaml")
    if os.path.exists(target):
        with open(target, encoding="utf-8") as handle:
            if handle.read() != text:
                raise ConfigError(
                    f"{target} holds a different config: resume with the same config and "
                    "--set values, or use a new --out directory"
                )
        return text
    os.makedirs(out_dir, exist_ok=True)
    save_text(target, text)
    return text
