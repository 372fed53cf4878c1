"""`python -m tfxmodal.train --config FILE [--set key=value ...] [--out DIR]`.

Reads a YAML config, applies overrides, validates it against its task's
schema before any work, and runs (or resumes) the task's trainer in `--out`.
"""

import argparse
import sys

from tfxmodal import registry
from tfxmodal.config import ConfigError, apply_overrides, read_yaml


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
        print(f"config error: {error}", file=sys.stderr)
        return 2
    from tfxmodal.tasks.run_directory import run_task

    errors = input_errors()
    try:
        return run_task(task, raw, args.out, config_path=args.config)
    except errors as error:
        # Bad data or weights files: the message names the file and what was expected.
        print(f"input error: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        converted = bad_record_error(error)
        if converted is None:
            raise
        print(f"input error: {converted}", file=sys.stderr)
        return 2


def bad_record_error(error):
    """The `NsynthDataError` of a bad TFRecord record met while training (inside `fit`), or None."""
    if "tfxmodal-nsynth" not in str(error):
        return None  # not an NSynth reader's failure: TF is not even imported for it
    from tfxmodal.data.nsynth import bad_data_error

    return bad_data_error(error)


def input_errors():
    """The exception types of unreadable or ill-formed user files (data, weights)."""
    from tfxmodal.audio.soundfont import SoundfontError
    from tfxmodal.audio.wav import AudioFileError
    from tfxmodal.data.faces import EmbeddingFileError
    from tfxmodal.data.images import DatasetLayoutError, ImageFileError
    from tfxmodal.data.nsynth import NsynthDataError
    from tfxmodal.models.face_embedder import WeightsFileError

    return (
        AudioFileError,
        DatasetLayoutError,
        EmbeddingFileError,
        ImageFileError,
        NsynthDataError,
        SoundfontError,
        WeightsFileError,
    )


if __name__ == "__main__":
    sys.exit(main())
