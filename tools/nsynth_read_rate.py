"""Records per second through the raw NSynth TFRecord reader, today's against another revision's.

A measurement, not part of the package. It writes (once) a TFRecord of
`--records` NSynth-schema notes (64000 float32 samples each, about 250 KiB a
record), then reads it whole `--rounds` times with
`tfxmodal.data.nsynth.read_tfrecords` of the working tree and of
`--against` (a git revision, its `nsynth.py` loaded from git), alternating
the two, with the paper's filter off and on; it prints one JSON line per
read and a summary of the best of each (the machine may be shared: best-of
is the least disturbed). Records/s count every record read, kept or not,
over the pass alone (building the pipeline, its tracing and the up-front
check of each file's first record, is a fixed cost printed apart).
`describe_tfrecords` is timed whole.

    python tools/nsynth_read_rate.py --file /tmp/nsynth-train.tfrecord --records 3000 --against 95c43af
"""

import argparse
import functools
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def write_notes(path, count):
    """`count` notes of every key of the Magenta release, one waveform shared (the reader does not care)."""
    import tensorflow as tf

    from tests.data.test_nsynth import magenta_example

    audio = np.random.default_rng(0).uniform(-0.5, 0.5, 64000).astype(np.float32)
    with tf.io.TFRecordWriter(path + ".tmp") as writer:
        for index in range(count):
            writer.write(magenta_example(index % 11, index % 3, index % 50, 20 + index % 80, 50, audio=audio))
    os.replace(path + ".tmp", path)


def reader_at(revision):
    """`tfxmodal.data.nsynth` as it was at `revision`."""
    source = subprocess.run(
        ["git", "show", f"{revision}:tfxmodal/data/nsynth.py"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    path = os.path.join(tempfile.mkdtemp(), f"nsynth_{revision}.py")
    with open(path, "w") as handle:
        handle.write(source)
    spec = importlib.util.spec_from_file_location(f"nsynth_{revision}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def records_per_second(dataset, records):
    """`(records/s of one pass, seconds to build the pipeline)`: tracing is a fixed cost, timed apart."""
    import tensorflow as tf

    started = time.perf_counter()
    pipeline = dataset()  # its map, filter and scan functions are traced here
    built = time.perf_counter()
    pipeline.reduce(tf.constant(0, tf.int64), lambda count, _: count + 1).numpy()
    return records / (time.perf_counter() - built), built - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", required=True, help="the TFRecord to read (written first if missing)")
    parser.add_argument("--records", type=int, default=3000, help="notes written when --file is missing")
    parser.add_argument("--against", default="HEAD", help="git revision whose reader is the baseline")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not os.path.exists(args.file):
        write_notes(args.file, args.records)
    import tensorflow as tf

    from tfxmodal.data import nsynth

    records = sum(1 for _ in tf.data.TFRecordDataset(args.file))
    readers = {"before": reader_at(args.against), "after": nsynth}
    best = {}
    for _ in range(args.rounds):
        for paper_filter in (False, True):
            for name, module in readers.items():
                read = functools.partial(module.read_tfrecords, args.file, paper_filter=paper_filter)
                rate, build_seconds = records_per_second(read, records)
                key = f"read_tfrecords paper_filter={paper_filter} {name}"
                best[key] = max(best.get(key, 0.0), rate)
                line = {"what": key, "records_per_second": round(rate), "build_seconds": round(build_seconds, 2)}
                print(json.dumps(line), flush=True)
        for name, module in readers.items():
            started = time.perf_counter()
            module.describe_tfrecords(args.file)
            rate = records / (time.perf_counter() - started)
            key = f"describe_tfrecords {name}"
            best[key] = max(best.get(key, 0.0), rate)
            print(json.dumps({"what": key, "records_per_second": round(rate)}), flush=True)
    summary = {"records": records, "against": args.against, "best_records_per_second": {}}
    summary["best_records_per_second"] = {key: round(rate) for key, rate in best.items()}
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
