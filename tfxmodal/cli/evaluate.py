"""`python -m tfxmodal.evaluate --run DIR [--out DIR] [--max-examples N] [--seed S] [task options]`.

Evaluates a finished run and writes `metrics.json`, plots and a static HTML
report (open `<out>/report/index.html` from disk). The run's `config.yaml`
says which task it is; the task (`tfxmodal.registry`) names its evaluator
and the options it adds here.
"""

import argparse
import json
import os
import sys

from tfxmodal import registry
from tfxmodal.errors import EXIT_OK, InputError, exit_code


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m tfxmodal.evaluate", description="Evaluate a trained run.")
    parser.add_argument("--run", required=True, help="run directory written by python -m tfxmodal.train")
    parser.add_argument("--out", help="output directory (default: <run>/evaluation)")
    parser.add_argument(
        "--max-examples", type=int, default=None, help="generated and real examples compared, each at most"
    )
    parser.add_argument("--seed", type=int, default=0, help="seeds sampling and plots")
    add_task_options(parser)
    return parser


def add_task_options(parser, exclude=()):
    """Adds the evaluation options every registered task declares (`Task.evaluate_options`)."""
    added = set(exclude)
    for task in registry.all_tasks():
        for flags, options in task.evaluate_options:
            if flags[0] not in added:
                added.add(flags[0])
                parser.add_argument(*flags, **{**options, "help": f"{options.get('help', '')} [task {task.name}]"})


def _option_name(flags, options):
    return options.get("dest") or flags[0].lstrip("-").replace("-", "_")


def evaluate_run(run_dir, out_dir=None, **options):
    """Runs the evaluator of the run's task; returns its metrics dict.

    Options left at None are not passed, so each evaluator's defaults (often
    read from the run's config) apply.
    """
    task = registry.task_of_run(run_dir)
    out_dir = out_dir or os.path.join(run_dir, "evaluation")
    accepted = {"max_examples", "seed"} | {_option_name(flags, opts) for flags, opts in task.evaluate_options}
    given = {key: value for key, value in options.items() if value is not None and key in accepted}
    return task.evaluate(run_dir, out_dir, **given)


def main(argv=None):
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    options = {key: value for key, value in vars(args).items() if key not in ("run", "out")}
    try:
        registry.task_of_run(args.run)  # before any heavy import: not a run directory is one quick line
        metrics = evaluate_run(args.run, args.out, **options)
    except InputError as error:  # an unusable run, classifier or weights directory
        print(f"evaluate: {error}", file=sys.stderr)
        return exit_code(error)
    print(json.dumps(metrics, indent=1, default=str))
    for kind, reason in (metrics.get("withheld_metrics") or {}).items():
        print(f"evaluate: warning: {kind} FID and IS withheld: {reason} (--allow-weak-classifiers reports them)",
              file=sys.stderr)  # fmt: skip
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
