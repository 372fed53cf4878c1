"""The learning curve: points kept across a resume, written atomically, logged to TensorBoard."""

import glob
import json
from typing import ClassVar

import keras
import numpy as np
import tensorflow as tf

from tfxmodal.evaluation.curve import LearningCurve, LearningCurveCallback


class CountingProbe:
    """A probe whose metric is the number of times it was called."""

    panels = (("calls", "calls so far", False),)
    references: ClassVar[dict] = {"calls": 2.0}

    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return {"calls": self.calls}, {"picture": np.full((4, 6, 3), 200, np.uint8)}


def event_steps(log_dir):
    steps = {}
    for path in glob.glob(f"{log_dir}/**/events.out.tfevents.*", recursive=True):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                steps.setdefault(value.tag, []).append(event.step)
    return steps


def test_points_at_the_start_and_every_interval_then_a_resume_redoes_only_later_ones(tmp_path):
    curve = LearningCurve(
        str(tmp_path / "curve.json"), str(tmp_path / "curve.png"), CountingProbe.panels, CountingProbe.references
    )
    step = keras.Variable(0, dtype="int64")
    probe = CountingProbe()
    callback = LearningCurveCallback(probe, curve, 2, step, str(tmp_path / "logs"), log=lambda message: None)
    callback.on_train_begin()
    for value in range(1, 6):
        step.assign(value)
        callback.on_train_batch_end(value - 1)
    stored = json.loads((tmp_path / "curve.json").read_text())
    assert [p["step"] for p in stored["points"]] == [0, 2, 4] and [p["calls"] for p in stored["points"]] == [1, 2, 3]
    assert stored["references"] == {"calls": 2.0}
    assert all(p["eval_seconds"] >= 0 for p in stored["points"])
    assert (tmp_path / "curve.png").stat().st_size > 1000
    tags = event_steps(str(tmp_path / "logs"))
    assert sorted(tags["eval/calls"]) == [0, 2, 4] and sorted(tags["eval/picture"]) == [0, 2, 4]

    # Killed after scoring step 4 but resumed from the step-2 checkpoint: 4 is scored again.
    resumed = LearningCurve(str(tmp_path / "curve.json"), str(tmp_path / "curve.png"), CountingProbe.panels)
    step.assign(2)
    again = CountingProbe()
    callback = LearningCurveCallback(again, resumed, 2, step, str(tmp_path / "logs"), log=lambda message: None)
    callback.on_train_begin()
    assert again.calls == 0 and resumed.steps() == [0, 2]
    for value in (3, 4):
        step.assign(value)
        callback.on_train_batch_end(value)
    points = json.loads((tmp_path / "curve.json").read_text())["points"]
    assert [(p["step"], p["calls"]) for p in points] == [(0, 1), (2, 2), (4, 1)]
