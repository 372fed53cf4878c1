"""Records per second through the raw NSynth TFRecord reader, today's against another revision's.

A measurement, not part of the package. It writes (once) a TFRecord of
`--records` NSynth-schema notes (64000 float32 samples each, about 250 KiB a
record), then reads it whole `--rounds` times with
`tfxmodal.data.nsynth.records.read_tfrecords` of the working tree and of
`--against` (a git revision, its reader loaded from git: `tfxmodal/data/nsynth.py`
before the data packages, `nsynth/records.py` and `describe.py` since), alternating
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
import types

import numpy as np
import tensorflow as tf

from tests.support.nsynth_records import magenta_example
from tfxmodal.data.nsynth.describe import describe_tfrecords
from tfxmodal.data.nsynth.records import read_tfrecords

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def write_notes(path, count):
    """`count` notes of every key of the Magenta release, one waveform shared (the reader does not care)."""
    audio = np.random.default_rng(0).uniform(-0.5, 0.5, 64000).astype(np.float32)
    with tf.io.TFRecordWriter(path + ".tmp") as writer:
        for index in range(count):
            writer.write(magenta_example(index % 11, index % 3, index % 50, 20 + index % 80, 50, audio=audio))
    os.replace(path + ".tmp", path)


def _git_show(revision, path):
    return subprocess.run(
        ["git", "show", f"{revision}:{path}"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout


def _load(name, source):
    path = os.path.join(tempfile.mkdtemp(), f"{name}.py")
    with open(path, "w") as handle:
        handle.write(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def reader_at(revision):
    """The raw NSynth reader as it was at `revision`: an object with `read_tfrecords` and `describe_tfrecords`."""
    try:
        source = _git_show(revision, "tfxmodal/data/nsynth.py")
    except subprocess.CalledProcessError:  # since issue 25: tfxmodal/data/nsynth/ is a package
        records = _load(f"nsynth_records_{revision}", _git_show(revision, "tfxmodal/data/nsynth/records.py"))
        describe = _load(
            f"nsynth_describe_{revision}",
            _git_show(revision, "tfxmodal/data/nsynth/describe.py").replace(
                "from tfxmodal.data.nsynth.records import", f"from {records.__name__} import"
            ),
        )
        return types.SimpleNamespace(
            read_tfrecords=records.read_tfrecords, describe_tfrecords=describe.describe_tfrecords
        )
    # Before issue 25 the label tables were tfxmodal.data.nsynth_families.
    source = source.replace("from tfxmodal.data import nsynth_families", "from tfxmodal.data.nsynth import families")
    return _load(f"nsynth_{revision}", source)


def records_per_second(dataset, records):
    """`(records/s of one pass, seconds to build the pipeline)`: tracing is a fixed cost, timed apart."""
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

    records = sum(1 for _ in tf.data.TFRecordDataset(args.file))
    after = types.SimpleNamespace(read_tfrecords=read_tfrecords, describe_tfrecords=describe_tfrecords)
    readers = {"before": reader_at(args.against), "after": after}
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
