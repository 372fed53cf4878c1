"""`python -m tfxmodal.train --config FILE [--set key=value ...] [--out DIR]`.

Reads a YAML config, applies overrides, validates it against its task's
schema before any work, and runs (or resumes) the task's trainer in `--out`.
"""

import argparse
import importlib
import sys

from tfxmodal.config import ConfigError, apply_overrides, read_yaml

# task name (the config's `task:` key) -> module with `run(raw_config, out_dir)`
TASKS = {
    "face2music": "tfxmodal.tasks.face2music",
    "audio_embedder": "tfxmodal.tasks.audio_embedder",
    "car_gan": "tfxmodal.tasks.car_gan",
}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m tfxmodal.train",
        description=__doc__.strip().splitlines()[2].strip(),
    )
    parser.add_argument("--config", required=True, help="YAML run config, e.g. configs/face2music_demo.yaml")
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
        task = raw.get("task")
        if task not in TASKS:
            known = ", ".join(sorted(TASKS)) or "none yet"
            raise ConfigError(f"{args.config}: unknown task {task!r} (known: {known})")
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        return 2
    module = importlib.import_module(TASKS[task])
    errors = input_errors()
    try:
        return module.run(raw, args.out, config_path=args.config)
    except errors as error:
        # Bad data or weights files: the message names the file and what was expected.
        print(f"input error: {error}", file=sys.stderr)
        return 2


def input_errors():
    """The exception types of unreadable or ill-formed user files (data, weights)."""
    from tfxmodal.audio.wav import AudioFileError
    from tfxmodal.data.faces import EmbeddingFileError
    from tfxmodal.data.images import DatasetLayoutError, ImageFileError
    from tfxmodal.data.nsynth import NsynthDataError
    from tfxmodal.models.face_embedder import WeightsFileError

    return (AudioFileError, DatasetLayoutError, EmbeddingFileError, ImageFileError, NsynthDataError, WeightsFileError)


if __name__ == "__main__":
    sys.exit(main())
