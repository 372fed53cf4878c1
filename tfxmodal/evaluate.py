"""`python -m tfxmodal.evaluate --run DIR [--out DIR] [--max-examples N] [--classifiers DIR] ...`.

Evaluates a finished run and writes `metrics.json`, plots and a static HTML
report (open `<out>/report/index.html` from disk). The run's `config.yaml`
says which task it is; each task has its evaluator in `tfxmodal.evaluation`.
"""

import argparse
import importlib
import json
import os
import sys

# task -> module with evaluate(run_dir, out_dir, **options) -> metrics dict
EVALUATORS = {
    "face2music": "tfxmodal.evaluation.face2music",
    "car_gan": "tfxmodal.evaluation.car_gan",
}


def run_task(run_dir):
    """The `task:` of a run directory, or a `ValueError` naming what is wrong."""
    import yaml

    path = os.path.join(run_dir, "config.yaml")
    if not os.path.isfile(path):
        raise ValueError(f"{run_dir}: no config.yaml; not a tfxmodal run directory")
    with open(path, encoding="utf-8") as handle:
        task = (yaml.safe_load(handle) or {}).get("task")
    if task not in EVALUATORS:
        raise ValueError(f"{path}: task {task!r} has no evaluator (known: {', '.join(EVALUATORS)})")
    return task


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m tfxmodal.evaluate", description="Evaluate a trained run.")
    parser.add_argument("--run", required=True, help="run directory written by python -m tfxmodal.train")
    parser.add_argument("--out", help="output directory (default: <run>/evaluation)")
    parser.add_argument("--max-examples", type=int, default=2000, help="generated and real examples compared, each at most")
    parser.add_argument("--seed", type=int, default=0, help="seeds sampling and plots")
    parser.add_argument("--classifiers", help="face2music: FID/IS classifier directory, trained there if missing (default: <run>/../classifiers)")
    parser.add_argument("--classifier-steps", type=int, default=1000, help="face2music: training steps of each classifier")
    parser.add_argument("--classifier-width", type=int, help="face2music: classifier width d (default: the run's psi width)")
    return parser


def evaluate_run(run_dir, out_dir=None, max_examples=2000, seed=0, classifiers=None, classifier_steps=1000, classifier_width=None):
    """Runs the task's evaluator; returns its metrics dict."""
    task = run_task(run_dir)
    out_dir = out_dir or os.path.join(run_dir, "evaluation")
    module = importlib.import_module(EVALUATORS[task])
    if task == "face2music":
        from tfxmodal.evaluation.classifiers import ClassifierSpec
        from tfxmodal.tasks.face2music import load_config
        import yaml

        with open(os.path.join(run_dir, "config.yaml"), encoding="utf-8") as handle:
            config = load_config(yaml.safe_load(handle))
        spec = ClassifierSpec(width=classifier_width or config.audio_embedder.width, steps=classifier_steps)
        return module.evaluate(run_dir, out_dir, max_examples=max_examples, classifiers_dir=classifiers, classifier_spec=spec, seed=seed)
    return module.evaluate(run_dir, out_dir, max_examples=max_examples)


def main(argv=None):
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        run_task(args.run)
    except ValueError as error:
        print(f"evaluate: {error}", file=sys.stderr)
        return 2
    metrics = evaluate_run(
        args.run, args.out, args.max_examples, args.seed, args.classifiers, args.classifier_steps, args.classifier_width
    )
    print(json.dumps(metrics, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
