"""The learning curve of a run: a generator scored every N steps while it trains.

`LearningCurveCallback` calls a *probe* (a task's cheap evaluator on a fixed
evaluation set, e.g. `face2music.probe.Face2MusicProbe`) at step
0 and every `every_steps` steps, logs its metrics to TensorBoard
(`eval/<metric>`) with the images it returns (`eval/<name>`), and keeps
the points in `LearningCurve`: `curve.json` (a list of `{"step", metric:
value, ..., "eval_seconds"}`) and `curve.png`, both rewritten atomically
after each point. A resumed run drops the points after the step it resumes
from (a killed run may have scored steps its last checkpoint lacks) and
continues the curve.
"""

import os
import time

import keras
import tensorflow as tf

from tfxmodal.evaluation import plots
from tfxmodal.utils.files import read_json, save_json


class LearningCurve:
    """The points of one run's learning curve, kept in `json_path` and drawn in `png_path`.

    Args:
        json_path: `curve.json`.
        png_path: `curve.png`.
        panels: `[(metric key, label, log scale)]` to draw.
        references: `{metric key: value}` drawn as dashed lines.
        title: the plot's title.
    """

    def __init__(self, json_path, png_path, panels=(), references=None, title=None):
        self.json_path = json_path
        self.png_path = png_path
        self.panels = list(panels)
        self.references = dict(references or {})
        self.title = title
        self.records = read_json(json_path)["points"] if os.path.exists(json_path) else []

    def steps(self):
        return [record["step"] for record in self.records]

    def truncate(self, last_step):
        """Drops the points after `last_step` (a resumed run redoes them)."""
        self.records = [record for record in self.records if record["step"] <= last_step]

    def add(self, record):
        """Adds (or replaces) the point at `record["step"]` and rewrites both files."""
        self.records = [r for r in self.records if r["step"] != record["step"]] + [record]
        self.records.sort(key=lambda r: r["step"])
        self.save()

    def save(self):
        save_json(self.json_path, {"references": self.references, "points": self.records})
        if self.records and self.panels:
            plots.learning_curve(self.records, self.png_path, self.panels, self.references, self.title)


class LearningCurveCallback(keras.callbacks.Callback):
    """Scores the generator with `probe` at the start and every `every_steps` steps.

    Args:
        probe: object with `__call__() -> (metrics {name: float}, images
            {name: uint8 (H, W, 3)})`, `panels` and `references` (see
            `LearningCurve`).
        curve: the run's `LearningCurve`.
        every_steps: the interval in training steps (> 0).
        step_variable: the run's step counter.
        log_dir: TensorBoard directory (`eval/` below it is written).
        log: `str -> None` for one line per point.
    """

    def __init__(self, probe, curve, every_steps, step_variable, log_dir, log=print):
        super().__init__()
        if every_steps < 1:
            raise ValueError(f"LearningCurveCallback: every_steps must be >= 1, got {every_steps}")
        self.probe = probe
        self.curve = curve
        self.every_steps = int(every_steps)
        self.step_variable = step_variable
        self.writer = tf.summary.create_file_writer(os.path.join(log_dir, "eval"))
        self.log = log

    def on_train_begin(self, logs=None):
        step = int(self.step_variable.numpy())
        self.curve.truncate(step)
        if step not in self.curve.steps():
            self.score(step)

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.step_variable.numpy())
        if step % self.every_steps == 0 and step not in self.curve.steps():
            self.score(step)

    def score(self, step):
        """Evaluates now, at `step`; returns the point added to the curve."""
        started = time.perf_counter()
        metrics, images = self.probe()
        record = {"step": step, **{key: float(value) for key, value in metrics.items()}}
        record["eval_seconds"] = round(time.perf_counter() - started, 2)
        self.curve.add(record)
        with self.writer.as_default():
            for key, value in record.items():
                if key != "step":
                    tf.summary.scalar(f"eval/{key}", value, step=step)
            for name, image in images.items():
                tf.summary.image(f"eval/{name}", image[None], step=step)
        self.writer.flush()
        shown = ", ".join(f"{key} {value:.4g}" for key, value in record.items() if key != "step")
        self.log(f"curve at step {step}: {shown}")
        return record
