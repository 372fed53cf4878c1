"""`python -m tfxmodal.bench [--quick] [--only SECTION ...] [--xla] [--output FILE]`: one JSON object of timings.

Sections: every task's own (`Task.benchmarks`; docs/benchmarks.md lists them:
training steps on synthetic batches at the demo and the paper size, the
exported model's serving latency) and two that every install has:

- `mfcc`: clips per second through `tfxmodal.audio.mfcc` (batches of 64);
- `data`: examples per second of each embedded-data tf.data pipeline;
- `layer_timings`: the WaveGAN generator layer by layer, forward and
  backward, with both transposed-convolution implementations, and this
  CPU's float32 peak (`tfxmodal/benchmarks/layer_timings.py`).

`rehearsal` (only with `--only rehearsal`, ~30 min): the face → music
paper config through every stage on generated VGGFace2- and NSynth-shaped
data at two sizes, with peak memory (the face → music task's own section).

`--quick` runs fewer iterations and skips the paper-size entries. `--xla`
jit-compiles the training steps (on CPU far slower for the transposed 1-D
convolutions of WaveGAN).

Plus the TF version, the devices, the thread counts and the process's peak
resident memory (`peak_memory_mb`; also after each section in
`peak_memory_mb_after_section`, which can only grow). Benchmarks, not
tests: nothing here asserts a speed.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import tensorflow as tf

from tfxmodal import registry
from tfxmodal.audio import mfcc
from tfxmodal.benchmarks.common import meminfo_mb, peak_memory_mb
from tfxmodal.benchmarks.layer_timings import layer_timings_section
from tfxmodal.data.faces.benchmark import benchmark as faces_benchmark
from tfxmodal.data.nsynth.reader import embedded_pipeline
from tfxmodal.data.pipeline import measure_throughput
from tfxmodal.data.urmp.pipeline import benchmark_mini_urmp
from tfxmodal.domain import CLIP_SAMPLES
from tfxmodal.tasks.task import resolve
from tfxmodal.utils.files import save_text


def _environment():
    return {
        "tensorflow": tf.__version__,
        "devices": [device.name for device in tf.config.list_logical_devices()],
        "gpus": len(tf.config.list_physical_devices("GPU")),
        "cpu_count": os.cpu_count(),
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "memory_total_mb": meminfo_mb("MemTotal"),
    }


def mfcc_throughput(batches=20, batch_size=64):
    clips = tf.constant(np.random.default_rng(0).uniform(-0.5, 0.5, (batch_size, CLIP_SAMPLES)).astype("float32"))
    compiled = tf.function(mfcc)
    compiled(clips).numpy()
    started = time.perf_counter()
    for _ in range(batches):
        compiled(clips).numpy()
    elapsed = time.perf_counter() - started
    return {"clips_per_second": round(batches * batch_size / elapsed, 1), "batch_size": batch_size}


def data_throughput(quick):
    """Examples per second of each embedded-data pipeline (built first if needed)."""
    num_batches = 20 if quick else 100

    def mini_nsynth_pipeline():
        dataset = embedded_pipeline(64, training=True, seed=0, cache=False)
        return {"batch_size": 64, "paper_filter": True, "train": measure_throughput(dataset, num_batches)}

    results = {}
    for name, bench in (
        ("mini_nsynth", mini_nsynth_pipeline),
        ("lfw_faces", lambda: faces_benchmark(batch_size=32, image_size=25, num_batches=num_batches)),
        ("mini_urmp", lambda: benchmark_mini_urmp(batch_size=16, image_size=64, num_batches=num_batches)),
    ):
        try:
            results[name] = bench()
        except Exception as error:  # one missing dataset must not hide the others
            results[name] = {"error": f"{type(error).__name__}: {error}"}
    return results


# Sections every install has; each task adds its own (`Task.benchmarks`).
GENERIC_SECTIONS = {
    "mfcc": lambda quick, jit_compile: mfcc_throughput(batches=5 if quick else 20),
    "data": lambda quick, jit_compile: data_throughput(quick),
    "layer_timings": layer_timings_section,
}


# Run only when named with --only.
OPT_IN_SECTIONS = ("rehearsal",)


def sections():
    """`{section name: callable(quick, jit_compile) -> JSON}` in report order."""
    found = {}
    for task in registry.all_tasks():
        for name, reference in task.benchmarks.items():
            found[name] = lambda quick, jit_compile, reference=reference: resolve(reference)(quick, jit_compile)
    found.update(GENERIC_SECTIONS)
    return found


def build_parser(available=None):
    """The command line; `available`: the sections `--only` accepts (default: `sections()`)."""
    available = sections() if available is None else available
    parser = argparse.ArgumentParser(
        prog="python -m tfxmodal.bench", description="Print one JSON object of timings (benchmarks, not tests)."
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer iterations; skips the paper-size GAN steps and d = 64 latency"
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=list(available),
        metavar="SECTION",
        help=f"run only these sections: {', '.join(available)} ({', '.join(OPT_IN_SECTIONS)} only when named)",
    )
    parser.add_argument(
        "--xla", action="store_true", help="jit_compile the GAN steps (slow for Conv1DTranspose on CPU)"
    )
    parser.add_argument("--output", metavar="FILE", help="also write the JSON to this file")
    return parser


def main(argv=None):
    available = sections()
    args = build_parser(available).parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # The rehearsal takes half an hour and writes gigabytes: only when named.
    chosen = (
        [name for name in available if name in args.only]
        if args.only
        else [name for name in available if name not in OPT_IN_SECTIONS]
    )
    report = {"environment": _environment(), "quick": args.quick, "xla": args.xla}
    after = {}
    for name in chosen:
        report[name] = available[name](args.quick, args.xla)
        after[name] = peak_memory_mb()
    report["peak_memory_mb"] = peak_memory_mb()
    report["peak_memory_mb_after_section"] = after
    text = json.dumps(report, indent=1)
    if args.output:
        save_text(args.output, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
