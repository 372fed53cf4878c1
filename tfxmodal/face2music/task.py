"""`task: face2music` declared: the config, the run's stages, its artifacts and versions, the evaluation's
options, Table 1's ablation and the benchmark sections (`TASK`, registered in `tfxmodal.registry`)."""

import os

from tfxmodal.face2music.config import Face2MusicConfig
from tfxmodal.face2music.run import FACE_SHARDS, Face2MusicRun
from tfxmodal.tasks.task import Artifact, Task
from tfxmodal.utils.files import read_json

# Table 1's rows: the GAN ablation (aux is the paper's model) and the AAE baseline.
ABLATIONS = {
    "baseline": {"model.variant": "baseline"},
    "metric": {"model.variant": "metric"},
    "aux": {"model.variant": "aux"},
    # The AC-GAN pitch classifier sits on a GAN critic; the autoencoder baseline has none to put it on.
    "aae": {"model.variant": "aae", "model.pitch_classifier_weight": 0.0},
}
TABLE_COLUMNS = ("fid_pitch", "is_pitch", "fid_family", "is_family", "pc", "pc_fixed_pitch", "sv", "pitch_accuracy")


def reference_row(metrics):
    """Table 1's reference: the real test split scored like the translations."""
    return {
        "name": "real test split",
        "fid_pitch": metrics.get("real_test_fid_pitch"),
        "is_pitch": metrics.get("real_test_is_pitch"),
        "fid_family": metrics.get("real_test_fid_family"),
        "is_family": metrics.get("real_test_is_family"),
    }


# Keys a trained GAN does not depend on: how long it trains and on what machine.
TRAINING_LENGTH_AND_MACHINE = (
    "train.steps",
    "train.checkpoint_every",
    "train.keep_checkpoints",
    "train.histograms",
    "train.strategy",
    "train.jit_compile",
)


_CLASSIFIER_OPTIONS = (
    (
        ("--classifiers",),
        {
            "dest": "classifiers_dir",
            "help": "FID/IS classifier directory, trained there if missing (default: the run's evaluation.classifiers_dir, else <run>/../classifiers)",
        },
    ),
    (
        ("--classifier-steps",),
        {
            "type": int,
            "help": "training steps of each FID/IS classifier (default: the run's evaluation.classifier_steps)",
        },
    ),
    (
        ("--classifier-width",),
        {
            "type": int,
            "help": "FID/IS classifier width d (default: the run's evaluation.classifier_width, else psi's width)",
        },
    ),
    (
        ("--allow-weak-classifiers",),
        {
            "action": "store_true",
            "default": None,
            "help": "report FID/IS of a classifier that does not beat its MFCC baseline (default: withheld, null)",
        },
    ),
)


CURVE_KEYS = (
    "every_steps",
    "examples",
    "spectrograms",
    "classifier_steps",
    "classifier_width",
    "classifiers_dir",
    "classifier_validate_every",
    "classifier_patience",
    "classifier_validation_split",
)


def shared_audio_metric(first_run_dir, raw_config):
    """One φ for every row of Table 1: the later variants load the first one's ψ (unless the config gives one).

    With ψ fixed, λ1, λ2, μ and σ follow deterministically from the seeded
    target sample. Returns `(overrides, description)` (`Task.shared_ablation_stages`).
    """
    given = (raw_config.get("audio_embedder") or {}).get("weights")
    weights = given or os.path.abspath(os.path.join(first_run_dir, "audio_embedder.weights.h5"))
    description = {
        "audio_embedder_weights": weights,
        "trained_by": None if given else os.path.basename(os.path.normpath(first_run_dir)),
        "stats": read_json(os.path.join(first_run_dir, "stats.json")),
    }
    return ({} if given else {"audio_embedder.weights": weights}), description


TASK = Task(
    name="face2music",
    schema=Face2MusicConfig,
    run_class=Face2MusicRun,
    config_version=4,
    artifacts=(
        Artifact("face_embedder.weights.h5", depends_on=("seed", "faces", "face_embedder")),
        Artifact("source_embeddings.npy", depends_on=("seed", "faces", "face_embedder", "export.sample_faces")),
        Artifact(FACE_SHARDS, depends_on=("seed", "faces", "face_embedder")),
        Artifact("audio_embedder.weights.h5", depends_on=("seed", "audio", "audio_embedder")),
        Artifact("stats.json", depends_on=("seed", "audio", "audio_embedder", "faces", "face_embedder", "stats")),
        Artifact("checkpoints", independent_of=(*TRAINING_LENGTH_AND_MACHINE, "evaluation", "export")),
        # The curve, not `python -m tfxmodal.evaluate`'s `evaluation.fid_examples`.
        Artifact("curve.json", depends_on=tuple(f"evaluation.{key}" for key in CURVE_KEYS)),
    ),
    # Config version 1 trained with Tables 3-4's batch norms, versions 1-2 with a generator without SN,
    # versions 1-3 psi with Adam 1e-3 and Keras's default beta_1 0.9.
    earlier_defaults={
        1: {"model.generator_output_batch_norm": True, "model.discriminator_batch_norm": True},
        2: {"model.generator_spectral_norm": False},
        3: {"audio_embedder.learning_rate": 1e-3, "audio_embedder.beta_1": 0.9},
    },
    evaluator="tfxmodal.face2music.evaluate:evaluate",
    evaluate_options=_CLASSIFIER_OPTIONS,
    ablations=ABLATIONS,
    table_columns=TABLE_COLUMNS,
    reference_row=reference_row,
    shared_ablation_options=lambda out: {"classifiers_dir": os.path.join(out, "classifiers")},
    shared_ablation_stages=shared_audio_metric,
    benchmarks={
        "face2music_step": "tfxmodal.face2music.bench:training_step",
        "translate_latency": "tfxmodal.face2music.bench:translate_latency_section",
        "rehearsal": "tfxmodal.face2music.rehearsal:rehearsal_section",
    },
)
Face2MusicRun.task = TASK
