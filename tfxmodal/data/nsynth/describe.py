"""`python -m tfxmodal.data describe nsynth-tfrecord`: notes per split, family and source of raw TFRecords, every record checked."""

import collections
import os
import re

from tfxmodal.data.nsynth import families as labels
from tfxmodal.data.nsynth.records import scan_problems, scan_tfrecords

# ----------------------------------------------------------------- describe


def _split_of(path):
    match = re.search(r"nsynth-([A-Za-z0-9_]+)\.tfrecord", os.path.basename(path))
    return match.group(1) if match else os.path.basename(path)


def describe_tfrecords(paths, max_problems=50):
    """Counts of notes per split, family and source in raw NSynth TFRecord files, and their problems.

    Every record is read and checked as `read_tfrecords` checks it (the
    split is read from the file name: `nsynth-valid.tfrecord` → valid); bad
    records are counted, not described.

    Returns:
        JSON-able dict: `files`; per split `examples` (good records),
        `families` (name → count), `sources` (name → count), `pitch_range`
        [min, max] and `bad_records`; `bad_records` (all files),
        `problem_count`, `problems` (the first `max_problems` messages:
        empty files, each bad record with its reason, damaged data) and
        `ok` (no problems).

    Raises:
        NsynthDataError: a path that names no file.
    """
    splits, problems, bad_records = {}, [], 0
    scans = scan_tfrecords(paths)
    for scan in scans:
        counts = splits.setdefault(
            _split_of(scan["path"]),
            {"examples": 0, "families": collections.Counter(), "sources": collections.Counter(), "pitches": []},
        )
        found = scan["labels"]
        counts["examples"] += len(found["pitch"])
        counts["families"].update(labels.FAMILIES[i] for i in found["family"])
        counts["sources"].update(labels.SOURCES[i] for i in found["source"])
        if len(found["pitch"]):
            counts["pitches"].extend([found["pitch"].min(), found["pitch"].max()])
        counts["bad_records"] = counts.get("bad_records", 0) + len(scan["bad"])
        bad_records += len(scan["bad"])
        problems.extend(scan_problems(scan))
    for counts in splits.values():
        pitches = counts.pop("pitches")
        counts["families"] = dict(sorted(counts["families"].items()))
        counts["sources"] = dict(sorted(counts["sources"].items()))
        counts["pitch_range"] = [int(min(pitches)), int(max(pitches))] if pitches else None
    return {
        "files": [scan["path"] for scan in scans],
        "splits": splits,
        "bad_records": bad_records,
        "problem_count": len(problems),
        "problems": problems[:max_problems],
        "ok": not problems,
    }
