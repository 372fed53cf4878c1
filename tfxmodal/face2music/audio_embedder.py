"""`task: audio_embedder` — train ψ alone (Kim et al. 2020, Sec. 2.4, Table 5).

Writes `<out>/audio_embedder.weights.h5` (give it to a face2music config as
`audio_embedder.weights`) and `<out>/audio_embedder.json` with the final
triplet loss and the 1-nearest-neighbour family accuracy of held-out notes
against the training notes in ψ space.
"""

import dataclasses
from typing import Literal

import numpy as np

from tfxmodal.config import bounded
from tfxmodal.domain import CLIP_SAMPLES
from tfxmodal.errors import ConfigError, NsynthDataError, TrainingFailed
from tfxmodal.face2music import data
from tfxmodal.face2music.config import AudioData, AudioEmbedderSpec
from tfxmodal.models import AudioEmbedder
from tfxmodal.tasks.task import Artifact, Task
from tfxmodal.tasks.training_run import TrainingRun
from tfxmodal.trainers.audio_embedder import compile_for_triplets
from tfxmodal.trainers.callbacks import ConvergenceStop, NaNGuard
from tfxmodal.trainers.distribute import (
    STRATEGIES,
    allow_multi_worker_fit,
    average_replica_local_variables,
    is_chief,
)
from tfxmodal.utils.files import save_json, save_weights
from tfxmodal.utils.tracing import build_optimizer


@dataclasses.dataclass
class AudioEmbedderConfig:
    task: Literal["audio_embedder"]
    seed: int = bounded(0, at_least=0)
    audio: AudioData = dataclasses.field(default_factory=AudioData)
    audio_embedder: AudioEmbedderSpec = dataclasses.field(default_factory=AudioEmbedderSpec)
    heldout_split: str = "valid"  # notes scored by 1-NN family accuracy
    evaluation_examples: int = bounded(2000, at_least=2)
    strategy: str = "auto"  # auto, default, one_device, mirrored, multi_worker (docs/distributed.md)

    def validate(self):
        if self.audio_embedder.weights:
            raise ConfigError("audio_embedder.weights: this task trains psi; remove the path")
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"strategy: expected one of {list(STRATEGIES)}, got {self.strategy!r}")


def train_audio_embedder(spec, audio, seed, strategy, log=print):
    """A freshly trained `AudioEmbedder`; returns `(embedder, description dict)`.

    Adam (`spec.learning_rate`, `spec.beta_1`, `spec.beta_2`) on the
    semi-hard triplet loss; with `spec.validate_every` > 0, stopped at
    convergence of the validation 1-NN family accuracy (`spec.patience`
    checks without improvement; the best weights are kept), else after
    `spec.steps` steps. The description holds `final_triplet_loss`, `steps`
    and, with validation, `validation` (the checks) and `best_step`.
    """
    with strategy.scope():
        embedder = AudioEmbedder(width=spec.width, name="audio_embedder")
        embedder.build((None, CLIP_SAMPLES))
        compile_for_triplets(embedder, spec.learning_rate, spec.margin, beta_1=spec.beta_1, beta_2=spec.beta_2)
        build_optimizer(embedder)
    allow_multi_worker_fit(embedder, strategy)
    dataset = data.triplet_dataset(audio, spec.batch_size, seed, strategy)
    nan_guard = NaNGuard()
    callbacks = [nan_guard]
    if spec.validate_every:
        interval = min(spec.validate_every, spec.steps)
        epochs, steps_per_epoch = max(1, spec.steps // interval), interval
        stop = ConvergenceStop(
            lambda model: nearest_neighbour_family_accuracy(
                model, audio, spec.validation_split, spec.validation_examples, seed
            )[0],
            spec.patience,
            log=log,
        )
        callbacks.append(stop)
        log(
            f"training audio embedder psi for at most {epochs * steps_per_epoch} steps (triplet loss, margin "
            f"{spec.margin}), stopping when the {spec.validation_split} 1-NN family accuracy stops improving"
        )
    else:
        stop, epochs, steps_per_epoch = None, 1, spec.steps
        log(f"training audio embedder psi for {spec.steps} steps (triplet loss, margin {spec.margin})")
    history = embedder.fit(dataset, steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=2, callbacks=callbacks)
    if nan_guard.failure is not None:
        raise TrainingFailed(f"psi's triplet loss became non-finite ({nan_guard.failure['losses']}); nothing was saved")
    # Every replica (worker) then holds the same batch-norm moving statistics.
    average_replica_local_variables([embedder], strategy)
    description = {
        "final_triplet_loss": float(history.history["loss"][-1]),
        "steps": int(embedder.optimizer.iterations.numpy()),
    }
    if stop is not None:
        description.update(validation=stop.history, best_step=stop.best_step)
    return embedder, description


def nearest_neighbour_family_accuracy(embedder, audio, heldout_split, limit, seed):
    """1-NN family accuracy of `heldout_split` notes against train notes in ψ space."""
    reference, _, reference_family = data.target_subset(audio, limit, seed, with_family=True)
    heldout_audio = dataclasses.replace(audio, split=heldout_split)
    queries, _, query_family = data.target_subset(heldout_audio, limit, seed, with_family=True)
    ref = np.asarray(embedder.predict(reference, batch_size=128, verbose=0))
    qry = np.asarray(embedder.predict(queries, batch_size=128, verbose=0))
    nearest = np.argmax(qry @ ref.T, axis=1)  # unit vectors: max dot = min distance
    return float(np.mean(reference_family[nearest] == query_family)), len(queries)


class AudioEmbedderRun(TrainingRun):
    """Trains ψ alone, scores it by 1-NN family accuracy, and saves it."""

    @property
    def strategy_name(self):
        return self.config.strategy

    def global_batch_sizes(self):
        return {"audio_embedder.batch_size": self.config.audio_embedder.batch_size}

    def stages(self, strategy, config_text):
        config = self.config
        # Every target note read and checked before psi trains (a bad record is named, or skipped and listed).
        manifest = data.check_target_notes(config.audio)
        if config.audio.source == "tfrecord":
            save_json(self.path("audio_manifest.json"), manifest)
        if manifest["notes"] < 2:
            raise NsynthDataError(
                f"audio ({config.audio.source}, split {config.audio.split}): {manifest['notes']} note(s) kept, "
                f"keeping {data.filter_description(config.audio)}; triplets need at least 2"
            )
        embedder, trained = train_audio_embedder(
            config.audio_embedder, config.audio, config.seed, strategy, log=self.log
        )
        accuracy, count = nearest_neighbour_family_accuracy(
            embedder, config.audio, config.heldout_split, config.evaluation_examples, config.seed
        )
        summary = {
            "weights": self.path("audio_embedder.weights.h5"),
            **trained,
            f"{config.heldout_split}_1nn_family_accuracy": accuracy,
            f"{config.heldout_split}_examples": count,
        }
        if is_chief(strategy):
            save_weights(embedder, summary["weights"])
            save_json(self.path("audio_embedder.json"), summary)
        return summary


TASK = Task(
    name="audio_embedder",
    schema=AudioEmbedderConfig,
    run_class=AudioEmbedderRun,
    config_version=3,
    # Config versions 1-2 trained psi with Adam 1e-3 and Keras's default beta_1 0.9.
    earlier_defaults={2: {"audio_embedder.learning_rate": 1e-3, "audio_embedder.beta_1": 0.9}},
    artifacts=(
        Artifact("audio_embedder.weights.h5", independent_of=("strategy", "evaluation_examples", "heldout_split")),
    ),
)
AudioEmbedderRun.task = TASK
