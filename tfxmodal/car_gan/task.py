"""`task: car_gan` declared: the config, the run's stages, its artifacts and versions, the evaluation's
options, Table I's ablation and the benchmark section (`TASK`, registered in `tfxmodal.registry`)."""

from tfxmodal.car_gan.config import CARGANConfig
from tfxmodal.car_gan.run import CLASSIFIER_CACHE_KEYS, CLASSIFIER_CACHE_LATER_KEYS, CARGANRun
from tfxmodal.tasks.task import Artifact, Task

# Table I: A no attention, B no classification loss, C no residue module
# (L_r replaced by L_a), D no second stage, E the full model.
ABLATIONS = {
    "A": {"model.attention": False},
    "B": {"loss.classification": 0.0},
    "C": {"model.residue": False},
    "D": {"model.second_stage": False},
    "E": {},
}
# Table I (FID, IS on C's features and predictions), then Table II (C's
# accuracy on the generated images of each split).
TABLE_COLUMNS = (
    "fid",
    "is",
    "fid_c",
    "is_c",
    "accuracy_train",
    "accuracy_test",
    "independent_accuracy_train",
    "independent_accuracy_test",
)


# Keys a trained CAR-GAN does not depend on: how long it trains, on what machine, how data is cached.
TRAINING_LENGTH_AND_MACHINE = (
    "train.steps",
    "train.epochs",
    "train.checkpoint_every",
    "train.keep_checkpoints",
    "train.histograms",
    "train.strategy",
    "train.jit_compile",
    "data.cache",
    "classifier.cache_dir",
)

TASK = Task(
    name="car_gan",
    schema=CARGANConfig,
    run_class=CARGANRun,
    config_version=3,
    # Config version 2 rejected multi-channel Sub-URMP chunks unless asked to average them.
    earlier_defaults={2: {"data.downmix": False}},
    artifacts=(
        Artifact(
            "classifier.weights.h5",
            depends_on=CLASSIFIER_CACHE_KEYS + tuple(CLASSIFIER_CACHE_LATER_KEYS) + ("classifier.weights",),
        ),
        Artifact("checkpoints", independent_of=(*TRAINING_LENGTH_AND_MACHINE, "evaluation", "export")),
        Artifact("curve.json", depends_on=("evaluation.every_steps", "evaluation.curve_examples")),
    ),
    evaluator="tfxmodal.car_gan.evaluate:evaluate",
    evaluate_options=(
        (
            ("--inception-weights",),
            {
                "help": "Keras inception_v3 ImageNet weights (.h5) for Table I's FID/IS "
                "(default: the run's evaluation.inception_weights; none: reported unavailable)"
            },
        ),
    ),
    ablations=ABLATIONS,
    table_columns=TABLE_COLUMNS,
    benchmarks={"car_gan_step": "tfxmodal.car_gan.bench:training_step"},
)
CARGANRun.task = TASK
