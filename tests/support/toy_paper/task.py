"""`task: toy`: estimate the mean of seeded noise by gradient steps, on the shared run skeleton.

Its stages write `result.json`; its evaluator scores the estimate; its
ablation varies the number of steps. Everything it uses comes from the
shared floors (`tasks`, `config`, `utils`).
"""

import dataclasses
import os
from typing import Literal

import numpy as np

from tfxmodal.config import bounded
from tfxmodal.tasks.task import Artifact, Task
from tfxmodal.tasks.training_run import TrainingRun
from tfxmodal.utils.files import read_json, save_json


@dataclasses.dataclass
class ToyTrain:
    """How the estimate is fitted."""

    batch_size: int = bounded(4, at_least=1)  # noise samples per step
    steps: int = bounded(20, at_least=1)
    learning_rate: float = bounded(0.3, above=0, at_most=1)
    strategy: str = "auto"  # the run skeleton's tf.distribute strategy


@dataclasses.dataclass
class ToyConfig:
    task: Literal["toy"]
    seed: int = bounded(0, at_least=0)
    target: float = 2.0  # the mean of the noise
    train: ToyTrain = dataclasses.field(default_factory=ToyTrain)


class ToyRun(TrainingRun):
    """Fits the mean; skipped when `result.json` is there (a re-run resumes)."""

    def stages(self, strategy, config_text):
        path = self.path("result.json")
        if os.path.exists(path):
            self.log("already fitted")
            return read_json(path)
        train = self.config.train
        rng = np.random.default_rng(self.config.seed)
        estimate = 0.0
        with self.timed("fit"):
            for _ in range(train.steps):
                batch = rng.normal(self.config.target, 0.1, train.batch_size)
                estimate -= train.learning_rate * (estimate - float(batch.mean()))
        result = {"estimate": estimate, "target": self.config.target, "steps": train.steps}
        save_json(path, result)
        return result


def evaluate(run_dir, out_dir, max_examples=None, seed=0):
    """`{"error", "steps"}` of a run's estimate; written to `<out_dir>/metrics.json`."""
    result = read_json(os.path.join(run_dir, "result.json"))
    metrics = {"error": abs(result["estimate"] - result["target"]), "steps": result["steps"]}
    save_json(os.path.join(out_dir, "metrics.json"), metrics)
    return metrics


TASK = Task(
    name="toy",
    schema=ToyConfig,
    run_class=ToyRun,
    artifacts=(Artifact("result.json", independent_of=("train.strategy",)),),
    evaluator="tfxmodal.toy_paper.task:evaluate",
    ablations={"short": {"train.steps": 1}, "long": {}},
    table_columns=("error", "steps"),
)
ToyRun.task = TASK
