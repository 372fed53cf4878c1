"""`python -m tfxmodal.ablate --config FILE [--out DIR] [--set KEY=VALUE ...] [--variants ...]`.

Trains every ablation variant of the config's task on the same data, each
in its own run directory `<out>/<variant>` (a real `python -m
tfxmodal.train` subprocess, so a re-run resumes), evaluates each, and writes
the paper-style table as `<out>/table.md` and `<out>/table.json`.

- `face2music` (Table 1): `baseline`, `metric` (+ geometry preservation),
  `aux` (+ auxiliary discriminator, the paper's model), `aae` (adversarial
  autoencoder); plus the real test split as the reference row.
- `car_gan` (Table I): models A-E from `tfxmodal.tasks.car_gan.ABLATIONS`.
"""

import argparse
import importlib
import json
import os
import subprocess
import sys

from tfxmodal.config import ConfigError, apply_overrides, read_yaml
from tfxmodal.utils.files import save_json, save_text

FACE2MUSIC_ABLATIONS = {
    "baseline": {"model.variant": "baseline"},
    "metric": {"model.variant": "metric"},
    "aux": {"model.variant": "aux"},
    "aae": {"model.variant": "aae"},
}
FACE2MUSIC_COLUMNS = ["fid_pitch", "is_pitch", "fid_family", "is_family", "pc", "sv", "pitch_accuracy"]


def ablations(task):
    """`(variants {name: overrides}, table columns)` of a task."""
    if task == "face2music":
        return FACE2MUSIC_ABLATIONS, FACE2MUSIC_COLUMNS
    if task == "car_gan":
        module = importlib.import_module("tfxmodal.tasks.car_gan")
        return module.ABLATIONS, list(module.TABLE_COLUMNS)
    raise ConfigError(f"task {task!r} has no ablation study (known: face2music, car_gan)")


def _format(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def markdown_table(rows, columns):
    """A markdown table: one row per dict in `rows` (key `name` first)."""
    header = ["name"] + columns
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(_format(row.get(key)) for key in header) + " |")
    return "\n".join(lines) + "\n"


def reference_row(task, metrics):
    """The real-data reference row (face2music: the real test split vs train)."""
    if task != "face2music":
        return None
    return {
        "name": "real test split",
        "fid_pitch": metrics.get("real_test_fid_pitch"),
        "is_pitch": metrics.get("real_test_is_pitch"),
        "fid_family": metrics.get("real_test_fid_family"),
        "is_family": metrics.get("real_test_is_family"),
    }


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m tfxmodal.ablate", description="Train and evaluate every ablation variant.")
    parser.add_argument("--config", required=True, help="the base config (e.g. configs/face2music_demo.yaml)")
    parser.add_argument("--out", help="output directory (default: runs/ablation_<config name>)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override the base config; repeatable")
    parser.add_argument("--variants", nargs="+", help="only these variants (default: all)")
    parser.add_argument("--max-examples", type=int, default=2000, help="evaluation: examples compared")
    parser.add_argument("--classifier-steps", type=int, default=1000, help="face2music evaluation: classifier training steps")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        base = apply_overrides(read_yaml(args.config), args.overrides)
        task = base.get("task")
        variants, columns = ablations(task)
        chosen = args.variants or list(variants)
        unknown = [name for name in chosen if name not in variants]
        if unknown:
            raise ConfigError(f"--variants: unknown {unknown} (known: {list(variants)})")
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        return 2
    out = args.out or os.path.join("runs", "ablation_" + os.path.splitext(os.path.basename(args.config))[0])
    os.makedirs(out, exist_ok=True)
    from tfxmodal.evaluate import evaluate_run

    rows, results = [], {}
    for name in chosen:
        run_dir = os.path.join(out, name)
        overrides = dict(variants[name])
        overrides["export.dir"] = None  # ablation exports stay inside each run directory
        sets = [f"{key}={json.dumps(value)}" for key, value in overrides.items()]
        command = [sys.executable, "-m", "tfxmodal.train", "--config", args.config, "--out", run_dir]
        for item in args.overrides + sets:
            command += ["--set", item]
        print(f"[ablate] training {name}: {' '.join(command)}", flush=True)
        completed = subprocess.run(command)
        if completed.returncode != 0:
            print(f"[ablate] {name} failed (exit {completed.returncode}); see {run_dir}", file=sys.stderr)
            return completed.returncode
        metrics = evaluate_run(
            run_dir,
            max_examples=args.max_examples,
            classifiers=os.path.join(out, "classifiers"),
            classifier_steps=args.classifier_steps,
        )
        results[name] = metrics
        rows.append({"name": name, **{key: metrics.get(key) for key in columns}})
    reference = reference_row(task, next(iter(results.values())))
    if reference is not None:
        rows.append(reference)
    table = {"task": task, "config": os.path.abspath(args.config), "overrides": args.overrides, "columns": columns, "rows": rows, "metrics": results}
    save_json(os.path.join(out, "table.json"), table, default=str)
    text = markdown_table(rows, columns)
    save_text(os.path.join(out, "table.md"), text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
