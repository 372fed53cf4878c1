"""Why does CAR-GAN miss the instrument? Score a run's generators in the ways that tell the causes apart.

A diagnostic, not part of the package. Loads a CAR-GAN run's C and latest
generators (`evaluation.car_gan.load_run`) and prints one JSON line with,
for each split (all its examples unless `--max-examples`):

- `c_stage1_inference`, `c_stage2_inference`: C's accuracy on I′, I″ with
  the generators in inference mode (batch norm's moving statistics; what
  the learning curve and `tfxmodal.evaluate` score);
- `c_stage1_train_mode`, `c_stage2_train_mode`: the same with the
  generators in training mode (batch statistics of shuffled batches of
  `train.batch_size`, as the losses saw them); a large gap between the
  two is a batch-norm train/test mismatch;
- `c_stage1_follows_other_label`: I′ generated with a label drawn from the
  other 12 instruments, the share C reads as that label (the label
  reaches G1 and decides the glyph), and `..._follows_true_label`, the
  share still read as the true instrument (G1 takes the instrument from
  the LMS instead);
- with `--independent`, the independent classifier's accuracy on I′, I″
  (inference mode), when the run's evaluation has trained it already.

    python tools/car_gan_diagnose.py --run runs/diag/g_only
"""

import argparse
import json
import os

import keras
import numpy as np
import tensorflow as tf

from tfxmodal.car_gan.evaluate import load_run
from tfxmodal.car_gan.networks import make_classifier
from tfxmodal.car_gan.probe import split_arrays


def generate(cascade, arrays, labels, training, batch_size, seed=0):
    """I′ (and I″) of every example, in its order; training mode runs shuffled batches of `batch_size`."""
    count = len(labels)
    order = np.random.default_rng(seed).permutation(count) if training else np.arange(count)
    stage1 = np.zeros(arrays["image"].shape, np.float32)
    stage2 = np.zeros(arrays["image"].shape, np.float32) if cascade.two_stage else None
    for start in range(0, count, batch_size):
        rows = order[start : start + batch_size]
        outputs = cascade(tf.constant(arrays["lms"][rows]), tf.constant(labels[rows]), training=training)
        stage1[rows] = outputs["stage1"].numpy()
        if stage2 is not None:
            stage2[rows] = outputs["stage2"].numpy()
    return stage1, stage2


def predict(classifier, images):
    return np.concatenate(
        [np.argmax(classifier(images[i : i + 128], training=False).numpy(), axis=1) for i in range(0, len(images), 128)]
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True)
    parser.add_argument("--max-examples", type=int, default=None)
    parser.add_argument("--independent", action="store_true", help="also score with <run>/independent_classifier")
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)
    config, cascade, steps = load_run(args.run)
    result = {"run": args.run, "steps": steps}
    independent = None
    independent_path = os.path.join(args.run, "independent_classifier", "classifier.weights.h5")
    if args.independent and os.path.exists(independent_path):
        independent = make_classifier(config)
        independent.load_weights(independent_path)
    classifier = cascade.classifier
    batch = config.train.batch_size
    generators = [network for network in (cascade.g1, cascade.g2) if network is not None]
    for split in ("test", "train"):
        arrays = split_arrays(config, split, args.max_examples)
        labels = arrays["label"].astype(np.int32)
        result[f"{split}_c_real"] = float(np.mean(predict(classifier, arrays["image"]) == labels))
        stage1, stage2 = generate(cascade, arrays, labels, False, batch)
        result[f"{split}_c_stage1_inference"] = float(np.mean(predict(classifier, stage1) == labels))
        if stage2 is not None:
            result[f"{split}_c_stage2_inference"] = float(np.mean(predict(classifier, stage2) == labels))
        if independent is not None:
            result[f"{split}_independent_stage1"] = float(np.mean(predict(independent, stage1) == labels))
            if stage2 is not None:
                result[f"{split}_independent_stage2"] = float(np.mean(predict(independent, stage2) == labels))
        # Another instrument for every example: does the glyph follow the label or the LMS?
        other = (labels + np.random.default_rng(1).integers(1, 13, size=len(labels))) % 13
        other = other.astype(np.int32)
        swapped, _ = generate(cascade, arrays, other, False, batch)
        swapped_predictions = predict(classifier, swapped)
        result[f"{split}_c_stage1_follows_other_label"] = float(np.mean(swapped_predictions == other))
        result[f"{split}_c_stage1_follows_true_label"] = float(np.mean(swapped_predictions == labels))
        # Training mode moves batch norm's moving statistics: put the checkpoint's back afterwards.
        saved = [network.get_weights() for network in generators]
        stage1, stage2 = generate(cascade, arrays, labels, True, batch)
        for network, weights in zip(generators, saved):
            network.set_weights(weights)
        result[f"{split}_c_stage1_train_mode"] = float(np.mean(predict(classifier, stage1) == labels))
        if stage2 is not None:
            result[f"{split}_c_stage2_train_mode"] = float(np.mean(predict(classifier, stage2) == labels))
    print(json.dumps({key: round(value, 4) if isinstance(value, float) else value for key, value in result.items()}))


if __name__ == "__main__":
    main()
