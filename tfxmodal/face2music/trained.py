"""A finished (or checkpointed) face-to-music run, loaded back for evaluation (`load_trained`)."""

import os

from tfxmodal.domain import CLIP_SAMPLES
from tfxmodal.errors import ConfigError
from tfxmodal.face2music import data
from tfxmodal.face2music.networks import build_wavegan
from tfxmodal.face2music.task import TASK
from tfxmodal.models import AudioEmbedder, AudioMetric
from tfxmodal.tasks.run_directory import load_weights, read_run_config
from tfxmodal.trainers.checkpoints import RunCheckpoints
from tfxmodal.utils.files import read_json


class TrainedRun:
    """A finished (or checkpointed) face2music run, loaded for evaluation.

    Attributes: `config` (`Face2MusicConfig`), `face_embedder`, `generator`
    (the decoder for `aae`), `audio_metric` (φ with the run's λ1, λ2),
    `stats` (stats.json), `step` (generator steps of the checkpoint).
    """

    def __init__(self, config, face_embedder, generator, audio_metric, stats, step):
        self.config = config
        self.face_embedder = face_embedder
        self.generator = generator
        self.audio_metric = audio_metric
        self.stats = stats
        self.step = step


def load_trained(run_dir):
    """Rebuilds a run's networks from its directory and latest checkpoint."""
    config_path = os.path.join(run_dir, "config.yaml")
    if not os.path.exists(config_path):
        raise ConfigError(f"{run_dir}: no config.yaml; not a face2music run directory")
    config = read_run_config(TASK, config_path)
    face_embedder = data.make_face_embedder(config.face_embedder)
    load_weights(face_embedder, os.path.join(run_dir, "face_embedder.weights.h5"))
    psi = AudioEmbedder(width=config.audio_embedder.width, name="audio_embedder")
    psi.build((None, CLIP_SAMPLES))
    load_weights(psi, config.audio_embedder.weights or os.path.join(run_dir, "audio_embedder.weights.h5"))
    stats = read_json(os.path.join(run_dir, "stats.json"))
    metric = AudioMetric(psi, name="audio_metric")
    metric.set_scales(stats["psi_scale"], stats["mfcc_scale"])
    generator, _ = build_wavegan(config)
    checkpoints = RunCheckpoints(os.path.join(run_dir, "checkpoints"), generator=generator)
    restored = checkpoints.restore_latest()
    if restored is None:
        raise ConfigError(f"{run_dir}: no checkpoint to evaluate")
    step = int(os.path.basename(restored).split("-")[-1])  # saved as ckpt-<generator step>
    return TrainedRun(config, face_embedder, generator, metric, stats, step)
