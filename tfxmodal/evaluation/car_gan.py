"""Evaluation of a finished CAR-GAN run (Duan et al. 2020, Sec. IV, Tables I-II, Fig. 4-5).

`evaluate(run_dir, out_dir)` loads the run's classifier C and generators
and, as the paper does, measures the generated images with C — the
ResNet-50 trained on the real images:

- `accuracy_train`, `accuracy_test` (Table II): C's accuracy on the final
  generated image (I″; I′ for the single-stage model D) of each split;
  `accuracy_stage1_*` on I′ and `accuracy_real_*` on the real images (the
  reference);
- `fid` (Table I): Fréchet distance between C's pooled 2048-d features of
  the generated and the real test images;
- `is` (Table I): Inception Score of C's predictions on the generated test
  images; `is_stage1`, and `is_real` on the real test images (Table I's GT);
- `l1_test`: mean |I − I″| (pixels in [−1, 1]);
- `seed`, `steps`, `variant` flags, and example counts.

It writes `grid_test.png` and `grid_train.png` into `out_dir`: one row per
fixed example (every instrument first), columns LMS | I′ | I″ | ground
truth (Fig. 4-5).
"""

import os

import numpy as np

from tfxmodal.evaluation.car_gan_probe import classify_step, score_split, softmax
from tfxmodal.evaluation.image_grids import sample_grid, save_png
from tfxmodal.metrics import frechet_distance, inception_score
from tfxmodal.utils.files import save_json


def load_run(run_dir):
    """`(config, CARGenerator with the run's C and latest generator weights, steps)`."""
    from tfxmodal.tasks.car_gan import TASK, build_networks, make_classifier
    from tfxmodal.tasks.run_directory import read_run_config
    from tfxmodal.trainers.checkpoints import RunCheckpoints

    config = read_run_config(TASK, os.path.join(run_dir, "config.yaml"))
    classifier_path = os.path.join(run_dir, "classifier.weights.h5")
    if not os.path.exists(classifier_path):
        raise ValueError(f"{run_dir}: no classifier.weights.h5; the run has not trained its classifier yet")
    classifier = make_classifier(config)
    classifier.load_weights(classifier_path)
    cascade, _ = build_networks(config, classifier)
    generators = {"g1": cascade.g1, **({"g2": cascade.g2} if cascade.g2 is not None else {})}
    checkpoints = RunCheckpoints(os.path.join(run_dir, "checkpoints"), **generators)
    restored = checkpoints.restore_latest()
    if restored is None:
        raise ValueError(f"{run_dir}: no checkpoint in {run_dir}/checkpoints; train the run first")
    # Checkpoints are numbered by generator step (`ckpt-<step>`).
    return config, cascade, int(restored.rsplit("-", 1)[-1])


def evaluate(run_dir, out_dir, max_examples=None, seed=0):
    """Metrics of a finished CAR-GAN run (module docstring); writes the grids into `out_dir`.

    Args:
        run_dir: a run directory of `task: car_gan` with a checkpoint.
        out_dir: where `metrics.json`, `grid_test.png` and `grid_train.png` go.
        max_examples: at most this many examples per split (None: the
            config's `evaluation.max_examples`, else all).
        seed: accepted like every evaluator's; unused, as every example is
            scored in split order.

    Returns:
        flat JSON-able dict of floats, ints and strings.
    """
    from tfxmodal.tasks import car_gan_data as data

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
    for split in ("train", "test"):
        logits, features, labels, l1 = score_split(step, config, split, limit)
        metrics[f"examples_{split}"] = int(len(labels))

        def accuracy(key, logits=logits, labels=labels):
            return float(np.mean(np.argmax(logits[key], axis=1) == labels))

        metrics[f"accuracy_{split}"] = accuracy(final)
        metrics[f"accuracy_stage1_{split}"] = accuracy("stage1")
        metrics[f"accuracy_real_{split}"] = accuracy("real")
        if split == "test":
            metrics["fid"] = frechet_distance(features[final], features["real"])
            metrics["is"] = inception_score(softmax(logits[final]))
            metrics["is_stage1"] = inception_score(softmax(logits["stage1"]))
            metrics["is_real"] = inception_score(softmax(logits["real"]))
            metrics["l1_test"] = l1
    os.makedirs(out_dir, exist_ok=True)
    for split in ("test", "train"):
        fixed = data.fixed_examples(config.data, config.export.sample_count, split)
        save_png(os.path.join(out_dir, f"grid_{split}.png"), sample_grid(cascade, fixed, header=True))
    save_json(os.path.join(out_dir, "metrics.json"), metrics)
    return metrics
