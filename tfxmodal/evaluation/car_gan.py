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
import tensorflow as tf
import yaml

from tfxmodal.metrics import frechet_distance, inception_score
from tfxmodal.utils.files import save_json

COLUMN_TITLES = {"lms": "LMS", "stage1": "I'", "stage2": "I''", "image": "GT"}
GRID_PAD = 2


def _uint8(images):
    return np.clip(np.round((np.asarray(images, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def _lms_rgb(lms):
    """Normalised LMS `(n, S, S, 1)` (≈ [−1, 1]) → grey uint8 `(n, S, S, 3)`."""
    return np.repeat(_uint8(lms), 3, axis=-1)


def grid_columns(cascade, examples):
    """`{column: uint8 (n, S, S, 3)}` of the grid: LMS, I′, [I″], ground truth."""
    outputs = cascade(examples["lms"], examples["label"], training=False)
    columns = {"lms": _lms_rgb(examples["lms"]), "stage1": _uint8(outputs["stage1"])}
    if "stage2" in outputs:
        columns["stage2"] = _uint8(outputs["stage2"])
    columns["image"] = _uint8(examples["image"])
    return columns


def sample_grid(cascade, examples, header=False):
    """One uint8 RGB picture `(H, W, 3)`: a row per example, columns LMS | I′ | I″ | GT.

    Args:
        cascade: `CARGenerator` (run in inference mode).
        examples: `{"lms": (n, S, S, 1), "image": (n, S, S, 3), "label": (n,)}`.
        header: draw the column titles above the first row.
    """
    columns = grid_columns(cascade, examples)
    count, size = len(examples["label"]), examples["lms"].shape[1]
    cell = size + GRID_PAD
    top = 14 if header else 0
    picture = np.full((top + count * cell + GRID_PAD, len(columns) * cell + GRID_PAD, 3), 255, np.uint8)
    for col, images in enumerate(columns.values()):
        for row in range(count):
            y, x = top + GRID_PAD + row * cell, GRID_PAD + col * cell
            picture[y : y + size, x : x + size] = images[row]
    if header:
        from PIL import Image, ImageDraw

        image = Image.fromarray(picture)
        draw = ImageDraw.Draw(image)
        for col, key in enumerate(columns):
            draw.text((GRID_PAD + col * cell + 1, 1), COLUMN_TITLES[key], fill=(0, 0, 0))
        picture = np.asarray(image)
    return picture


def save_png(path, picture):
    """Writes a uint8 RGB array as a PNG, atomically."""
    from PIL import Image

    from tfxmodal.utils.files import atomic_path

    with atomic_path(path) as temp:
        with open(temp, "wb") as handle:
            Image.fromarray(picture).save(handle, format="PNG")


def load_run(run_dir):
    """`(config, CARGenerator with the run's C and latest generator weights, steps)`."""
    from tfxmodal.tasks.car_gan import build_networks, generator_trackables, load_config, make_classifier
    from tfxmodal.trainers.checkpoints import RunCheckpoints

    with open(os.path.join(run_dir, "config.yaml"), encoding="utf-8") as handle:
        config = load_config(yaml.safe_load(handle))
    classifier_path = os.path.join(run_dir, "classifier.weights.h5")
    if not os.path.exists(classifier_path):
        raise ValueError(f"{run_dir}: no classifier.weights.h5; the run has not trained its classifier yet")
    classifier = make_classifier(config)
    classifier.load_weights(classifier_path)
    cascade, _ = build_networks(config, classifier)
    checkpoints = RunCheckpoints(os.path.join(run_dir, "checkpoints"), **generator_trackables(cascade))
    restored = checkpoints.restore_latest()
    if restored is None:
        raise ValueError(f"{run_dir}: no checkpoint in {run_dir}/checkpoints; train the run first")
    # Checkpoints are numbered by generator step (`ckpt-<step>`).
    return config, cascade, int(restored.rsplit("-", 1)[-1])


def _classify_step(cascade, size):
    """A `tf.function` (traced once for any batch) giving C's logits and features on real, I′ and I″."""
    classifier = cascade.classifier

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, size, size, 1], tf.float32),
            tf.TensorSpec([None], tf.int32),
            tf.TensorSpec([None, size, size, 3], tf.float32),
        ]
    )
    def step(lms, label, image):
        outputs = cascade(lms, label, training=False)
        images = {"real": image, "stage1": outputs["stage1"]}
        if "stage2" in outputs:
            images["stage2"] = outputs["stage2"]
        result = {}
        for key, value in images.items():
            pooled = classifier.features(value, training=False)
            result[key] = (classifier.head(pooled), pooled)
        error = tf.reduce_mean(tf.abs(outputs["image"] - image), axis=[1, 2, 3])
        return result, error

    return step


def _generate(step, config, split, max_examples, batch_size=64):
    """C's logits and features on the real and generated images of one split, and the mean L1."""
    from tfxmodal.tasks import car_gan_data as data

    logits, features, labels, l1 = {}, {}, [], []
    for batch in data.eval_batches(config.data, split, batch_size, max_examples):
        result, error = step(batch["lms"], tf.cast(batch["label"], tf.int32), batch["image"])
        for key, (batch_logits, batch_features) in result.items():
            logits.setdefault(key, []).append(batch_logits.numpy())
            features.setdefault(key, []).append(batch_features.numpy())
        labels.append(batch["label"].numpy())
        l1.append(error.numpy())
    return (
        {key: np.concatenate(value) for key, value in logits.items()},
        {key: np.concatenate(value) for key, value in features.items()},
        np.concatenate(labels),
        float(np.mean(np.concatenate(l1))),
    )


def _softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def evaluate(run_dir, out_dir, max_examples=None):
    """Metrics of a finished CAR-GAN run (module docstring); writes the grids into `out_dir`.

    Args:
        run_dir: a run directory of `task: car_gan` with a checkpoint.
        out_dir: where `metrics.json`, `grid_test.png` and `grid_train.png` go.
        max_examples: at most this many examples per split (None: the
            config's `evaluation.max_examples`, else all).

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
    step = _classify_step(cascade, config.data.image_size)
    for split in ("train", "test"):
        logits, features, labels, l1 = _generate(step, config, split, limit)
        metrics[f"examples_{split}"] = int(len(labels))

        def accuracy(key):
            return float(np.mean(np.argmax(logits[key], axis=1) == labels))

        metrics[f"accuracy_{split}"] = accuracy(final)
        metrics[f"accuracy_stage1_{split}"] = accuracy("stage1")
        metrics[f"accuracy_real_{split}"] = accuracy("real")
        if split == "test":
            metrics["fid"] = frechet_distance(features[final], features["real"])
            metrics["is"] = inception_score(_softmax(logits[final]))
            metrics["is_stage1"] = inception_score(_softmax(logits["stage1"]))
            metrics["is_real"] = inception_score(_softmax(logits["real"]))
            metrics["l1_test"] = l1
    os.makedirs(out_dir, exist_ok=True)
    for split in ("test", "train"):
        fixed = data.fixed_examples(config.data, config.export.sample_count, split)
        save_png(os.path.join(out_dir, f"grid_{split}.png"), sample_grid(cascade, fixed, header=True))
    save_json(os.path.join(out_dir, "metrics.json"), metrics)
    return metrics
