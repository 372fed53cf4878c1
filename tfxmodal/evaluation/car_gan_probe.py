"""CAR-GAN scored by its classifier C, for the evaluator and for the learning curve (`CARGANProbe`).

`classify_step` runs the cascade on a batch and gives C's logits and pooled
features on the real image, I′ and (two-stage models) I″, the images, and
the L1 error of the final image; `score_split` gathers them over a split,
with the outputs of further image scorers (Inception-v3, an independent
classifier) on the same images. The probe
scores a fixed set of test examples every few hundred steps:

- `accuracy_stage1`, `accuracy_stage2`: C's accuracy on I′ and I″ (Table II
  is the accuracy on the final image; higher is better);
- `fid_c`: Fréchet distance of C's features of the final images and of the
  real images (lower is better; not Table I's FID, which uses Inception-v3:
  see `evaluation.car_gan`);
- `l1`: mean |I − final image| in [−1, 1] pixels (lower is better).
"""

import numpy as np
import tensorflow as tf

from tfxmodal.metrics import frechet_distance

PANELS = (
    ("accuracy_stage2", "C's accuracy on I'' (test)", False),
    ("accuracy_stage1", "C's accuracy on I' (test)", False),
    ("fid_c", "FID on C's features (test)", True),
    ("l1", "L1 to ground truth (test)", False),
)


def classify_step(cascade, size):
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
        return result, error, images

    return step


def score_split(step, config, split, max_examples, batch_size=64, scorers=None):
    """C's logits and features on the real and generated images of one split, and the mean L1.

    Args:
        scorers: optional `{name: callable(images (n, S, S, 3) in [-1, 1]) ->
            array or tuple of arrays (n, ...)}` also applied to every image set.

    Returns:
        `(logits, features, labels, l1)`, or with `scorers`
        `(logits, features, labels, l1, scored)`: `logits` and `features`
        map "real", "stage1" (and "stage2") to `(n, ...)` arrays; `scored`
        maps each scorer's name to such a mapping of its outputs.
    """
    from tfxmodal.tasks import car_gan_data as data

    logits, features, labels, l1 = {}, {}, [], []
    scored = {name: {} for name in scorers or {}}
    for batch in data.eval_batches(config.data, split, batch_size, max_examples):
        result, error, images = step(batch["lms"], tf.cast(batch["label"], tf.int32), batch["image"])
        for key, (batch_logits, batch_features) in result.items():
            logits.setdefault(key, []).append(batch_logits.numpy())
            features.setdefault(key, []).append(batch_features.numpy())
        for name, scorer in (scorers or {}).items():
            for key, value in images.items():
                scored[name].setdefault(key, []).append(scorer(value.numpy()))
        labels.append(batch["label"].numpy())
        l1.append(error.numpy())
    result = (
        {key: np.concatenate(value) for key, value in logits.items()},
        {key: np.concatenate(value) for key, value in features.items()},
        np.concatenate(labels),
        float(np.mean(np.concatenate(l1))),
    )
    if scorers is None:
        return result
    return result + (
        {name: {key: _concatenate(parts) for key, parts in by_key.items()} for name, by_key in scored.items()},
    )


def _concatenate(parts):
    if isinstance(parts[0], tuple):
        return tuple(np.concatenate(column) for column in zip(*parts))
    return np.concatenate(parts)


def softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


class CARGANProbe:
    """Scores a CAR-GAN cascade with C on fixed examples of one split.

    Args:
        cascade: the `CARGenerator` being trained (C inside it, frozen).
        config: the run's `CARGANConfig` (data and image size).
        split: the split scored ("test").
        max_examples: examples scored at every point.
    """

    panels = PANELS

    def __init__(self, cascade, config, split="test", max_examples=256):
        self.cascade = cascade
        self.config = config
        self.split = split
        self.max_examples = max_examples
        self.step = classify_step(cascade, config.data.image_size)
        logits, _, labels, _ = score_split(self.step, config, split, max_examples)
        self.references = {"accuracy_stage2": float(np.mean(np.argmax(logits["real"], axis=1) == labels))}
        self.references["accuracy_stage1"] = self.references["accuracy_stage2"]

    def __call__(self):
        logits, features, labels, l1 = score_split(self.step, self.config, self.split, self.max_examples)
        final = "stage2" if self.cascade.two_stage else "stage1"
        metrics = {"l1": l1, "fid_c": frechet_distance(features[final], features["real"])}
        for key in ("stage1", "stage2"):
            if key in logits:
                metrics[f"accuracy_{key}"] = float(np.mean(np.argmax(logits[key], axis=1) == labels))
        return metrics, {}
