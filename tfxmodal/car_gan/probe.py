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
  see `car_gan.evaluate`);
- `l1`: mean |I − final image| in [−1, 1] pixels (lower is better);
- with the discriminator given, `d_real_train`, `d_real_test`, `d_fake`:
  D's mean probability of "real" (over patches and examples) on fixed
  train pairs, held-out test pairs and the final fakes of the test pairs,
  in batches of `train.batch_size` as D sees them in training (batch
  statistics; D's moving statistics are put back afterwards). Train ≫ test
  is memorisation; test ≈ train ≫ fake a real gap the generator has not
  closed.

`patchgan_trunk_label_probe` asks whether the critic's features can carry
the instrument at the config's width: a fresh PatchGAN trunk with a pooled
linear head trained alone on real (LMS, image) pairs (see
`evaluation.critic_probe`).
"""

import keras
import numpy as np
import tensorflow as tf

from tfxmodal.car_gan import data
from tfxmodal.domain import NUM_INSTRUMENTS
from tfxmodal.evaluation.critic_probe import train_label_probe
from tfxmodal.metrics import frechet_distance
from tfxmodal.models.patchgan import PatchGANDiscriminator

PANELS = (
    ("accuracy_stage2", "C's accuracy on I'' (test)", False),
    ("accuracy_stage1", "C's accuracy on I' (test)", False),
    ("fid_c", "FID on C's features (test)", True),
    ("l1", "L1 to ground truth (test)", False),
)
# Drawn when the probe has the discriminator (`CARGANProbe(discriminator=...)`).
DISCRIMINATOR_PANELS = (
    ("d_real_train", "D(real train pairs), mean probability", False),
    ("d_real_test", "D(real held-out test pairs)", False),
    ("d_fake", "D(fakes of the test pairs)", False),
)
# What the critic-trunk probe sees of a real pair: both halves, or one with the other zeroed.
PROBE_INPUTS = ("pair", "lms", "image")


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
    return (
        *result,
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


def split_arrays(config, split, limit=None):
    """`{lms, image, label}` NumPy arrays of the first `limit` examples of `split` (all: None), in split order."""
    parts = {"lms": [], "image": [], "label": []}
    for batch in data.eval_batches(config.data, split, 128, limit):
        for key in parts:
            parts[key].append(batch[key].numpy())
    return {key: np.concatenate(value) for key, value in parts.items()}


def discriminator_probability(discriminator, lms, image, batch_size, labels=None, seed=0):
    """D's mean probability of "real" on `(lms, image)` pairs, scored as in training; D's state unchanged.

    Args:
        discriminator: a `PatchGANDiscriminator` without label channels.
        lms: `(n, S, S, C_A)`; image: `(n, S, S, 3)` in [−1, 1].
        batch_size: D sees seeded shuffled batches of this size with batch
            statistics (training mode), as in a training step; its moving
            statistics are restored afterwards.
        labels: int `(n,)` instruments, the class vector of a projection
            discriminator (`projection_classes`); ignored by others.

    Returns:
        float in (0, 1): the mean over patches and examples of sigmoid(logits).
    """
    saved = [variable.numpy() for variable in discriminator.non_trainable_variables]
    order = np.random.default_rng(seed).permutation(len(lms))
    total = 0.0
    for start in range(0, len(lms), batch_size):
        rows = order[start : start + batch_size]
        kwargs = {}
        if discriminator.projection_classes:
            kwargs["class_label"] = tf.one_hot(labels[rows], discriminator.projection_classes)
        logits = discriminator(tf.constant(lms[rows]), tf.constant(image[rows]), training=True, **kwargs)
        total += float(tf.reduce_sum(tf.reduce_mean(tf.sigmoid(logits), axis=[1, 2, 3])))
    for variable, value in zip(discriminator.non_trainable_variables, saved):
        variable.assign(value)
    return total / len(lms)


class CARGANProbe:
    """Scores a CAR-GAN cascade with C on fixed examples of one split (and D on real and fake pairs).

    Args:
        cascade: the `CARGenerator` being trained (C inside it, frozen).
        config: the run's `CARGANConfig` (data and image size).
        split: the split scored ("test").
        max_examples: examples scored at every point.
        discriminator: optional `PatchGANDiscriminator` (no label channels):
            also score `d_real_train`, `d_real_test`, `d_fake` (module
            docstring) on `max_examples` examples of the train and scored split.
    """

    def __init__(self, cascade, config, split="test", max_examples=256, discriminator=None):
        self.cascade = cascade
        self.config = config
        self.split = split
        self.max_examples = max_examples
        self.discriminator = discriminator if discriminator is not None and not discriminator.label_channels else None
        self.panels = PANELS + (DISCRIMINATOR_PANELS if self.discriminator is not None else ())
        self.step = classify_step(cascade, config.data.image_size)
        logits, _, labels, _ = score_split(self.step, config, split, max_examples)
        self.references = {"accuracy_stage2": float(np.mean(np.argmax(logits["real"], axis=1) == labels))}
        self.references["accuracy_stage1"] = self.references["accuracy_stage2"]
        if self.discriminator is not None:
            self.pairs = {
                "train": split_arrays(config, "train", max_examples),
                "test": split_arrays(config, split, max_examples),
            }

    def discriminator_metrics(self):
        """`{d_real_train, d_real_test, d_fake}` (module docstring)."""
        batch = self.config.train.batch_size
        test = self.pairs["test"]
        fakes = []
        for start in range(0, len(test["label"]), 128):
            outputs = self.cascade(
                tf.constant(test["lms"][start : start + 128]),
                tf.constant(test["label"][start : start + 128].astype(np.int32)),
                training=False,
            )
            fakes.append(outputs["image"].numpy())
        return {
            "d_real_train": discriminator_probability(
                self.discriminator,
                self.pairs["train"]["lms"],
                self.pairs["train"]["image"],
                batch,
                self.pairs["train"]["label"],
            ),
            "d_real_test": discriminator_probability(
                self.discriminator, test["lms"], test["image"], batch, test["label"]
            ),
            "d_fake": discriminator_probability(
                self.discriminator, test["lms"], np.concatenate(fakes), batch, test["label"]
            ),
        }

    def __call__(self):
        logits, features, labels, l1 = score_split(self.step, self.config, self.split, self.max_examples)
        final = "stage2" if self.cascade.two_stage else "stage1"
        metrics = {"l1": l1, "fid_c": frechet_distance(features[final], features["real"])}
        for key in ("stage1", "stage2"):
            if key in logits:
                metrics[f"accuracy_{key}"] = float(np.mean(np.argmax(logits[key], axis=1) == labels))
        if self.discriminator is not None:
            metrics.update(self.discriminator_metrics())
        return metrics, {}


def patchgan_trunk_label_probe(config, train, test, steps, inputs="pair", batch_size=32, seed=0, **optimizer):
    """The critic-trunk probe for CAR-GAN: a fresh PatchGAN trunk trained alone to name the instrument.

    A `PatchGANDiscriminator` of the config's architecture and width
    (`model.discriminator_filters`, `discriminator_layers`, `attention`, …;
    no label channels) with fresh weights; its trunk (`features`), a global
    average pool and a `Dense(13)` are trained with cross-entropy on real
    train pairs (`evaluation.critic_probe.train_label_probe`) and scored on
    the test pairs.

    Args:
        config: a `CARGANConfig`.
        train, test: `{"lms": (n, S, S, C_A), "image": (n, S, S, 3) in [−1, 1],
            "label": (n,) int}` arrays (`split_arrays`).
        steps: Adam updates.
        inputs: "pair" (LMS and image, as D sees them), "lms" (image
            zeroed: can the audio alone name the instrument?) or "image"
            (LMS zeroed).
        optimizer: `learning_rate`, `beta_1` of `train_label_probe`.

    Returns:
        `{"steps", "train_accuracy", "test_accuracy", "final_loss", "inputs"}`.
    """
    if inputs not in PROBE_INPUTS:
        raise ValueError(f"patchgan_trunk_label_probe: inputs must be one of {PROBE_INPUTS}, got {inputs!r}")
    keras.utils.set_random_seed(seed)
    model, size = config.model, config.data.image_size
    lms_channels = train["lms"].shape[-1]
    critic = PatchGANDiscriminator(
        **model.trunk_arguments(),
        seed=seed,
        name="critic_probe",
    )
    critic.build((None, size, size, lms_channels), (None, size, size, 3))
    head = keras.layers.Dense(NUM_INSTRUMENTS, name="instrument_logits")
    head.build((None, critic.convs[-1].filters))

    def stacked(arrays):
        lms, image = np.asarray(arrays["lms"], np.float32), np.asarray(arrays["image"], np.float32)
        if inputs == "lms":
            image = np.zeros_like(image)
        elif inputs == "image":
            lms = np.zeros_like(lms)
        return np.concatenate([lms, image], axis=-1)

    def features_fn(x, training):
        pooled = critic.features(x[..., :lms_channels], x[..., lms_channels:], training=training)
        return tf.reduce_mean(pooled, axis=[1, 2])

    result = train_label_probe(
        features_fn,
        head,
        critic.trainable_variables + head.trainable_variables,
        stacked(train),
        np.asarray(train["label"], np.int32),
        stacked(test),
        np.asarray(test["label"], np.int32),
        steps,
        batch_size=batch_size,
        seed=seed,
        **optimizer,
    )
    result["inputs"] = inputs
    return result
