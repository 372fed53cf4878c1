"""Evaluation of a finished CAR-GAN run (Duan et al. 2020, Sec. IV, Tables I-II, Fig. 4-5).

`evaluate(run_dir, out_dir)` loads the run's classifier C and generators
and measures the generated images of each split:

- `accuracy_train`, `accuracy_test` (Table II): C's accuracy on the final
  generated image (I″; I′ for the single-stage model D), as the paper
  measures it — C is the frozen network of L_c and L_r the generators were
  trained against, so this accuracy is partly white-box;
  `accuracy_stage1_*` on I′ and `accuracy_real_*` on the real images;
- `independent_accuracy_*`, `independent_accuracy_stage1_*`,
  `independent_accuracy_real_*`: the same for an independent classifier —
  C's architecture and recipe, another seed (`seed + 1`: other
  initialisation and batches), trained only on the real images and never
  seen by the generators (`evaluation.independent_classifier`; trained once
  into `<run>/independent_classifier/`, and shared through
  `classifier.cache_dir` like C);
- `fid`, `is` (Table I): the standard FID [50] and IS [51] — Inception-v3's
  2048-d pool features and 1000-way ImageNet softmax, images resized
  bilinearly to 299² (`models.inception`) — of the final test images against
  the real test images; `is_stage1`, `is_real` (Table I's GT). They need
  the Keras ImageNet weights file (`evaluation.inception_weights` or
  `--inception-weights`); without it they are null and `inception` says
  why (never computed on random weights);
- `fid_c`, `is_c`, `is_c_stage1`, `is_c_real`: the same on C's pooled
  features and softmax (cheaper, comparable only within this project);
- `l1_test`: mean |I − I″| (pixels in [−1, 1]);
- `seed`, `steps`, `variant` flags, and example counts.

It writes `grid_test.png` and `grid_train.png` into `out_dir`: one row per
fixed example (every instrument first), columns LMS | I′ | I″ | ground
truth (Fig. 4-5).
"""

import dataclasses
import os

import keras
import numpy as np
import tensorflow as tf

from tfxmodal.car_gan import data
from tfxmodal.car_gan.image_grids import sample_grid, save_png
from tfxmodal.car_gan.networks import build_networks, make_classifier
from tfxmodal.car_gan.probe import classify_step, score_split, softmax
from tfxmodal.car_gan.run import CARGANRun
from tfxmodal.car_gan.task import TASK
from tfxmodal.errors import RunDirectoryError
from tfxmodal.metrics import frechet_distance, inception_score
from tfxmodal.models.inception import InceptionScorer
from tfxmodal.tasks.run_directory import load_weights, read_run_config
from tfxmodal.trainers.checkpoints import RunCheckpoints
from tfxmodal.utils.files import save_json


def load_run(run_dir):
    """`(config, CARGenerator with the run's C and latest generator weights, steps)`."""
    config = read_run_config(TASK, os.path.join(run_dir, "config.yaml"))
    classifier_path = os.path.join(run_dir, "classifier.weights.h5")
    if not os.path.exists(classifier_path):
        raise RunDirectoryError(f"{run_dir}: no classifier.weights.h5; the run has not trained its classifier yet")
    classifier = make_classifier(config)
    load_weights(classifier, classifier_path)
    cascade, _ = build_networks(config, classifier)
    generators = {"g1": cascade.g1, **({"g2": cascade.g2} if cascade.g2 is not None else {})}
    checkpoints = RunCheckpoints(os.path.join(run_dir, "checkpoints"), **generators)
    restored = checkpoints.restore_latest()
    if restored is None:
        raise RunDirectoryError(f"{run_dir}: no checkpoint in {run_dir}/checkpoints; train the run first")
    # Checkpoints are numbered by generator step (`ckpt-<step>`).
    return config, cascade, int(restored.rsplit("-", 1)[-1])


def independent_classifier(config, run_dir):
    """The independent classifier of the module docstring: loaded from the run directory, the cache, or trained."""
    twin = dataclasses.replace(
        config,
        seed=config.seed + 1,
        classifier=dataclasses.replace(config.classifier, weights=None),
    )
    keras.utils.set_random_seed(twin.seed)
    run = CARGANRun(twin, os.path.join(run_dir, "independent_classifier"))
    os.makedirs(run.out_dir, exist_ok=True)
    return run.classifier(tf.distribute.get_strategy())


def evaluate(run_dir, out_dir, max_examples=None, seed=0, inception_weights=None):
    """Metrics of a finished CAR-GAN run (module docstring); writes the grids into `out_dir`.

    Args:
        run_dir: a run directory of `task: car_gan` with a checkpoint.
        out_dir: where `metrics.json`, `grid_test.png` and `grid_train.png` go.
        max_examples: at most this many examples per split (None: the
            config's `evaluation.max_examples`, else all).
        seed: accepted like every evaluator's; unused, as every example is
            scored in split order.
        inception_weights: Keras inception_v3 ImageNet weights file (None:
            the config's `evaluation.inception_weights`).

    Returns:
        flat JSON-able dict of floats, ints and strings.
    """
    config, cascade, steps = load_run(run_dir)
    limit = max_examples if max_examples is not None else config.evaluation.max_examples
    final = "stage2" if cascade.two_stage else "stage1"
    metrics = {
        "seed": config.seed,
        "steps": steps,
        "attention": config.model.attention,
        "residue": config.model.residue,
        "second_stage": config.model.second_stage,
        "classification_weight": config.loss.classification,
        "image_size": config.data.image_size,
    }
    step = classify_step(cascade, config.data.image_size)
    scorers, inception_path = {}, inception_weights or config.evaluation.inception_weights
    if inception_path:
        scorers["inception"] = InceptionScorer(inception_path)
        metrics["inception"] = os.path.abspath(inception_path)
    else:
        metrics["inception"] = "unavailable: no evaluation.inception_weights (Keras inception_v3 ImageNet .h5)"
    if config.evaluation.independent_classifier:
        independent = independent_classifier(config, run_dir)
        scorers["independent"] = lambda images: independent(images, training=False).numpy()
    for split in ("train", "test"):
        logits, features, labels, l1, scored = score_split(step, config, split, limit, scorers=scorers)
        metrics[f"examples_{split}"] = len(labels)

        def accuracy(logits_of, key, labels=labels):
            return float(np.mean(np.argmax(logits_of[key], axis=1) == labels))

        for prefix, logits_of in (("", logits), ("independent_", scored.get("independent"))):
            if logits_of is not None:
                metrics[f"{prefix}accuracy_{split}"] = accuracy(logits_of, final)
                metrics[f"{prefix}accuracy_stage1_{split}"] = accuracy(logits_of, "stage1")
                metrics[f"{prefix}accuracy_real_{split}"] = accuracy(logits_of, "real")
        if split == "test":
            for name in ("fid", "is", "is_stage1", "is_real"):
                metrics[name] = None
            if "inception" in scored:
                pooled = {key: value[0] for key, value in scored["inception"].items()}
                probabilities = {key: value[1] for key, value in scored["inception"].items()}
                metrics["fid"] = frechet_distance(pooled[final], pooled["real"])
                metrics["is"] = inception_score(probabilities[final])
                metrics["is_stage1"] = inception_score(probabilities["stage1"])
                metrics["is_real"] = inception_score(probabilities["real"])
            metrics["fid_c"] = frechet_distance(features[final], features["real"])
            metrics["is_c"] = inception_score(softmax(logits[final]))
            metrics["is_c_stage1"] = inception_score(softmax(logits["stage1"]))
            metrics["is_c_real"] = inception_score(softmax(logits["real"]))
            metrics["l1_test"] = l1
    os.makedirs(out_dir, exist_ok=True)
    for split in ("test", "train"):
        fixed = data.fixed_examples(config.data, config.export.sample_count, split)
        save_png(os.path.join(out_dir, f"grid_{split}.png"), sample_grid(cascade, fixed, header=True))
    save_json(os.path.join(out_dir, "metrics.json"), metrics)
    return metrics
