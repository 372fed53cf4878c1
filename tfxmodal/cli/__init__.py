"""Every command of tfxmodal: `python -m tfxmodal` / `tfxmodal` lists them and dispatches to them.

One module per command, each with `build_parser()` and `main(argv) -> exit
status`: `train`, `translate`, `evaluate`, `ablate`, `data`, `bench` (and
`reference_docs`, which regenerates docs/cli.md and docs/configs.md).
`python -m tfxmodal.COMMAND` keeps working through a thin entry module per
command (`tfxmodal/train.py`, ..., `tfxmodal/data/__main__.py`). Errors and
exit codes: `tfxmodal.errors`. Nothing here imports TensorFlow before a
command runs, so `--help` stays fast.
"""

import importlib
import sys

# name -> (the module `python -m MODULE` runs, one-line summary); the command's code is `tfxmodal.cli.<name>`.
COMMANDS = {
    "train": ("tfxmodal.train", "train a model from a YAML config (resumes from --out)"),
    "translate": ("tfxmodal.translate", "faces -> WAV notes with an exported face2music SavedModel"),
    "evaluate": ("tfxmodal.evaluate", "metrics, plots and HTML report of a trained run"),
    "ablate": ("tfxmodal.ablate", "train and evaluate every ablation variant; write the paper-style table"),
    "data": ("tfxmodal.data", "build the embedded datasets, describe and benchmark data"),
    "bench": ("tfxmodal.bench", "print training, feature and pipeline timings as JSON"),
}


def usage():
    lines = [
        "usage: tfxmodal COMMAND [ARGS...]   (or: python -m tfxmodal.COMMAND ...)",
        "",
        "commands:",
    ]
    width = max(map(len, COMMANDS))
    for name, (module, summary) in COMMANDS.items():
        lines.append(f"  {name:<{width}}  {summary}  [{module}]")
    lines.append("")
    lines.append("`tfxmodal COMMAND --help` shows a command's options.")
    return "\n".join(lines)


def command_module(name):
    """The module whose `main(argv)` and `build_parser()` serve command `name`: `tfxmodal.cli.<name>`."""
    return importlib.import_module(f"{__name__}.{name}")


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"tfxmodal: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    return command_module(name).main(rest)
