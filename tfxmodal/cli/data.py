"""`python -m tfxmodal.data`: build the embedded datasets, describe real ones.

Results are JSON on stdout (TFDS's progress goes to stderr). Bad input
exits with status 2 and a one-line message.
"""

import argparse
import contextlib
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tfxmodal.data.nsynth.families import MINI_NSYNTH_CONFIGS
from tfxmodal.errors import EXIT_BAD_INPUT, EXIT_OK, InputError, SoundfontError, UsageError

PROG = "python -m tfxmodal.data"
COMMAND_FORMS = """\
commands:
  prepare mini_nsynth [--data-dir DIR] [--config NAME] [--soundfont PATH ...]
      render the embedded NSynth-schema note dataset (TFDS, cached) and
      print its summary: path, examples, per-family counts, seconds.
      --config default|held_out_instruments|tiny|tiny_held_out (default:
      default, the paper's split; held_out_instruments holds out whole
      instruments); --soundfont PATH (repeatable, at most 7) renders your own
      .sf2 files instead of TimGM6mb + Merlin, built as mini_nsynth/NAME-sf-HASH
  prepare mini_urmp [--data-dir DIR] [--config NAME]
      build the embedded Sub-URMP-like image/audio dataset (tfxmodal.data.urmp.mini)
  describe nsynth-tfrecord FILE [FILE ...]
      count notes per split, family and source in raw Magenta NSynth TFRecords,
      checking every record as train does (bad records, empty or damaged files)
  describe sub_urmp ROOT
      count and check a Sub-URMP copy (tfxmodal.data.urmp)
  benchmark mini_nsynth [--data-dir DIR] [--config NAME] [--batch-size N]
                        [--batches N] [--all-notes] [--cache]
      examples/second of the training pipeline over mini_nsynth

--data-dir defaults to TFDS's data dir ($TFDS_DATA_DIR, else ~/tensorflow_datasets).
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def build_parser():
    parser = _Parser(
        prog=PROG,
        description=__doc__.splitlines()[0].split(": ", 1)[1],
        epilog=COMMAND_FORMS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    prepare = commands.add_parser(
        "prepare",
        help="build an embedded dataset (mini_nsynth, mini_urmp) or reuse its cached build",
        description="Build an embedded dataset under the TFDS data dir, or reuse it.",
    )
    prepare.add_argument("dataset", choices=["mini_nsynth", "mini_urmp"])
    prepare.add_argument("--data-dir", help="TFDS data dir (default: TFDS's)")
    prepare.add_argument("--config", help=f"builder config (mini_nsynth: {', '.join(MINI_NSYNTH_CONFIGS)})")
    prepare.add_argument(
        "--soundfont",
        action="append",
        default=[],
        metavar="PATH",
        help="mini_nsynth: a .sf2 file to render instead of the bundled two (repeatable, in label order)",
    )

    describe = commands.add_parser(
        "describe",
        help="count the notes of real data (nsynth-tfrecord FILE..., sub_urmp ROOT)",
        description="Count and check real data files.",
    )
    describe.add_argument("kind", choices=["nsynth-tfrecord", "sub_urmp"])
    describe.add_argument("paths", nargs="+", metavar="PATH", help="files (nsynth-tfrecord) or ROOT (sub_urmp)")

    benchmark = commands.add_parser(
        "benchmark",
        help="examples/second of the mini_nsynth training pipeline",
        description="Time the training tf.data pipeline over mini_nsynth (built if needed).",
    )
    benchmark.add_argument("dataset", choices=["mini_nsynth"])
    benchmark.add_argument("--data-dir", help="TFDS data dir (default: TFDS's)")
    benchmark.add_argument("--config", default="default", choices=list(MINI_NSYNTH_CONFIGS))
    benchmark.add_argument("--batch-size", type=int, default=64)
    benchmark.add_argument("--batches", type=int, default=100, help="timed batches")
    benchmark.add_argument(
        "--all-notes",
        action="store_true",
        help="no paper filter: every source, whole 64000-sample notes",
    )
    benchmark.add_argument("--cache", action="store_true", help="cache parsed examples in memory")
    return parser


@contextlib.contextmanager
def _soundfont_errors():
    """A missing or unreadable .sf2 (its message names the file and the fix) as a usage error."""
    try:
        yield
    except SoundfontError as error:
        raise UsageError(str(error)) from None


def _prepare(args):
    if args.dataset == "mini_nsynth":
        from tfxmodal.data.nsynth import mini as mini_nsynth  # noqa: PLC0415 — TF/TFDS only once a command runs: --help and usage errors stay fast

        with _soundfont_errors():
            return mini_nsynth.prepare(args.data_dir, args.config or "default", args.soundfont)
    if args.soundfont:
        raise UsageError("--soundfont is an option of prepare mini_nsynth only")
    from tfxmodal.data.urmp import mini as mini_urmp  # noqa: PLC0415 — TF/TFDS only once a command runs: --help and usage errors stay fast

    if args.config is None:
        return mini_urmp.prepare(args.data_dir)
    return mini_urmp.prepare(args.data_dir, config=args.config)


def _describe(args):
    if args.kind == "nsynth-tfrecord":
        from tfxmodal.data.nsynth.describe import describe_tfrecords  # noqa: PLC0415 — TF/TFDS only once a command runs: --help and usage errors stay fast

        return describe_tfrecords(args.paths)
    if len(args.paths) != 1:
        raise UsageError(f"describe sub_urmp takes one ROOT, got {len(args.paths)} paths")
    from tfxmodal.data.urmp.layout import describe as describe_urmp  # noqa: PLC0415 — TF/TFDS only once a command runs: --help and usage errors stay fast

    return describe_urmp(args.paths[0])


def _benchmark(args):
    from tfxmodal.data import pipeline  # noqa: PLC0415 — TF/TFDS only once a command runs: --help and usage errors stay fast
    from tfxmodal.data.nsynth.reader import embedded_pipeline  # noqa: PLC0415 — TF/TFDS only once a command runs: --help and usage errors stay fast

    if args.batch_size < 1 or args.batches < 1:
        raise UsageError("--batch-size and --batches must be positive")
    with _soundfont_errors():
        dataset = embedded_pipeline(
            args.batch_size,
            config=args.config,
            data_dir=args.data_dir,
            paper_filter=not args.all_notes,
            cache=args.cache,
            seed=0,
        )
    result = pipeline.measure_throughput(dataset, num_batches=args.batches)
    result.update(
        dataset=f"mini_nsynth/{args.config}",
        batch_size=args.batch_size,
        paper_filter=not args.all_notes,
        cache=args.cache,
    )
    return result


_COMMANDS = {"prepare": _prepare, "describe": _describe, "benchmark": _benchmark}


def main(argv=None):
    """Runs one command; returns the exit status (0 ok, 2 bad input or a description that found problems).

    A description's problems are listed in its JSON report (stdout); the first is also the stderr line.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
        if (
            args.command == "prepare"
            and args.dataset == "mini_nsynth"
            and args.config
            not in (
                None,
                *MINI_NSYNTH_CONFIGS,
            )
        ):
            raise UsageError(f"mini_nsynth has configs {', '.join(MINI_NSYNTH_CONFIGS)}, not {args.config!r}")
        # TFDS prints progress lines to stdout; keep stdout for the JSON result.
        with contextlib.redirect_stdout(sys.stderr):
            result = _COMMANDS[args.command](args)
    except (InputError, OSError) as error:
        # Bad input (a usage error, unusable data: `errors.InputError`), or a path the OS refuses to read or write.
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(json.dumps(result, indent=2, default=str))
    # A description that found problems (`"ok": false`) is bad input: exit 2, the first problem on stderr.
    if isinstance(result, dict) and result.get("ok") is False:
        count = result.get("problem_count", len(result["problems"]))
        first = " ".join(str(result["problems"][0]).split()) if result["problems"] else "problems found"
        print(f"{PROG}: error: {first} ({count} problem(s) in all; the JSON report lists them)", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
