"""`python -m tfxmodal.train --config FILE [--set key=value ...] [--out DIR]`.

Reads a YAML config, applies overrides, validates it against its task's
schema before any work, and runs (or resumes) the task's trainer in `--out`.
"""

import argparse
import json
import sys

from tfxmodal import registry
from tfxmodal.config import apply_overrides, read_yaml
from tfxmodal.errors import EXIT_BAD_INPUT, EXIT_OK, ConfigError, InputError, describe, exit_code
from tfxmodal.tasks.run_directory import execute_run


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m tfxmodal.train",
        description=" ".join(__doc__.split("\n\n")[1].split()),
    )
    parser.add_argument(
        "--config", required=True, help="YAML run config (configs/*.yaml; its task: key names the task)"
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value (dotted key, YAML value); repeatable",
    )
    parser.add_argument(
        "--out",
        default=None,
        help="run directory for checkpoints, logs, samples and the export; "
        "re-running with the same --out resumes (default: runs/<config name>)",
    )
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        raw = apply_overrides(read_yaml(args.config), args.overrides)
        task = registry.get_task(raw.get("task"), where=args.config)
    except ConfigError as error:
        print(describe(error), file=sys.stderr)
        return EXIT_BAD_INPUT
    return run_task(task, raw, args.out, config_path=args.config)


def run_task(task, raw, out_dir, config_path=None):
    """Runs (or resumes) one training run of `task` (`run_directory.execute_run`); returns the exit status.

    The summary goes to stdout as JSON; a user-facing error (`errors.InputError`, `errors.TrainingFailed`)
    is one line on stderr and its `errors.exit_code`. Anything else is a bug and raises.
    """
    try:
        summary = execute_run(task, raw, out_dir, config_path=config_path)
    except Exception as error:
        # A bad NSynth record met while training reaches here wrapped by TF; it is bad input like the others.
        error = bad_record_error(error) or error
        code = exit_code(error)
        if code is None:
            raise
        print(describe(error), file=sys.stderr)
        return code
    print(json.dumps(summary, indent=1, default=str))
    return EXIT_OK


def bad_record_error(error):
    """The `NsynthDataError` of a bad TFRecord record met while training (inside `fit`), or None."""
    if isinstance(error, InputError) or "tfxmodal-nsynth" not in str(error):
        return None  # not an NSynth reader's failure inside a TF op
    from tfxmodal.data.nsynth.records import bad_data_error  # noqa: PLC0415 — imports TensorFlow: --help and config errors stay fast

    return bad_data_error(error)


if __name__ == "__main__":
    sys.exit(main())
