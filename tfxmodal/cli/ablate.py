"""`python -m tfxmodal.ablate --config FILE [--out DIR] [--set KEY=VALUE ...] [--variants ...]`.

Trains every ablation variant of the config's task on the same data, each
in its own run directory `<out>/<variant>` (a real `python -m
tfxmodal.train` subprocess, so a re-run resumes), evaluates each, and writes
the paper-style table as `<out>/table.md` and `<out>/table.json`. The
variants, the table's columns and its real-data reference row are what the
task declares (`Task.ablations`, `table_columns`, `reference_row`;
docs/configs.md lists them per task). What the first variant trains that the rows
must share (`Task.shared_ablation_stages`, e.g. the audio embedding, so
every row is scored in one metric space) is given to every later variant
and recorded in `table.json` under `shared`.
"""

import argparse
import json
import os
import subprocess
import sys

from tfxmodal import registry
from tfxmodal.cli.evaluate import add_task_options, evaluate_run
from tfxmodal.config import apply_overrides, has_key, read_yaml
from tfxmodal.errors import EXIT_OK, ConfigError, InputError, describe, exit_code
from tfxmodal.utils.files import save_json, save_text


def ablations(task_name):
    """`(variants {name: overrides}, table columns)` of a task."""
    task = registry.get_task(task_name)
    if not task.ablations:
        raise ConfigError(f"task {task_name!r} has no ablation study")
    return task.ablations, list(task.table_columns)


def _format(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def markdown_table(rows, columns):
    """A markdown table: one row per dict in `rows` (key `name` first)."""
    header = ["name", *columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(_format(row.get(key)) for key in header) + " |")
    return "\n".join(lines) + "\n"


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m tfxmodal.ablate", description="Train and evaluate every ablation variant."
    )
    parser.add_argument("--config", required=True, help="the base config (configs/*.yaml)")
    parser.add_argument("--out", help="output directory (default: runs/ablation_<config name>)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override the base config; repeatable",
    )
    parser.add_argument("--variants", nargs="+", help="only these variants (default: all)")
    parser.add_argument("--max-examples", type=int, default=None, help="evaluation: examples compared")
    add_task_options(parser, exclude=("--classifiers",))
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        base = apply_overrides(read_yaml(args.config), args.overrides)
        task = registry.get_task(base.get("task"), where=args.config)
        variants, columns = ablations(task.name)
        chosen = args.variants or list(variants)
        unknown = [name for name in chosen if name not in variants]
        if unknown:
            raise ConfigError(f"--variants: unknown {unknown} (known: {list(variants)})")
    except ConfigError as error:
        print(describe(error), file=sys.stderr)
        return exit_code(error)
    out = args.out or os.path.join("runs", "ablation_" + os.path.splitext(os.path.basename(args.config))[0])
    os.makedirs(out, exist_ok=True)
    rows, results, shared, shared_description = [], {}, {}, None
    for name in chosen:
        run_dir = os.path.join(out, name)
        overrides = dict(variants[name])
        if has_key(task.schema, "export.dir"):
            overrides["export.dir"] = None  # ablation exports stay inside each run directory
        overrides.update(shared)
        sets = [f"{key}={json.dumps(value)}" for key, value in overrides.items()]
        command = [sys.executable, "-m", "tfxmodal.train", "--config", args.config, "--out", run_dir]
        for item in args.overrides + sets:
            command += ["--set", item]
        print(f"[ablate] training {name}: {' '.join(command)}", flush=True)
        completed = subprocess.run(command)
        if completed.returncode != 0:
            print(f"[ablate] {name} failed (exit {completed.returncode}); see {run_dir}", file=sys.stderr)
            return completed.returncode
        if task.shared_ablation_stages is not None and shared_description is None:
            given = apply_overrides(base, sets)
            shared, shared_description = task.shared_ablation_stages(run_dir, given)
            print(f"[ablate] later variants reuse {name}'s {', '.join(shared) or 'configured'} stages", flush=True)
        options = {
            key: value for key, value in vars(args).items() if key not in ("config", "out", "overrides", "variants")
        }
        if task.shared_ablation_options is not None:
            options.update(task.shared_ablation_options(out))
        try:
            metrics = evaluate_run(run_dir, **options)
        except InputError as error:
            print(f"[ablate] evaluating {name}: {describe(error)}", file=sys.stderr)
            return exit_code(error)
        results[name] = metrics
        rows.append({"name": name, **{key: metrics.get(key) for key in columns}})
    reference = task.reference_row(next(iter(results.values()))) if task.reference_row else None
    if reference is not None:
        rows.append(reference)
    table = {
        "task": task.name,
        "config": os.path.abspath(args.config),
        "overrides": args.overrides,
        "columns": columns,
        "shared": shared_description,
        "rows": rows,
        "metrics": results,
    }
    save_json(os.path.join(out, "table.json"), table, default=str)
    text = markdown_table(rows, columns)
    save_text(os.path.join(out, "table.md"), text)
    print(text)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
