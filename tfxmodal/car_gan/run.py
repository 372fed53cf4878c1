"""`task: car_gan` — audio → image with CAR-GAN (Duan et al. 2020), resumable stage by stage.

Stages, each writing its artifact into the run directory atomically and
skipped when the artifact is already there (re-running the same command
resumes):

1. `config.yaml`                 the resolved config (a different config in
                                 the same run directory is refused);
2. `classifier.weights.h5`, `classifier.json`
                                 C (ResNet-50 + dense head) trained on the real
                                 images (`classifier.train_splits`), or loaded
                                 from `classifier.weights`, or from the shared
                                 `classifier.cache_dir`; its accuracy on the
                                 real images of both splits. An interrupted
                                 training resumes from its last epoch
                                 (`classifier_backup/`, per worker);
3. `checkpoints/`, `logs/`       the GAN (`CARGANTrainer`: G1, G2, D, both
                                 optimizers), checkpointed every
                                 `train.checkpoint_every` steps; TensorBoard
                                 losses, learning rates, sample grids, config;
                                 with `evaluation.every_steps`, `curve.json` /
                                 `curve.png` (C's accuracy on I′ and I″, FID,
                                 L1 on test examples as it trains);
4. `samples/grid.png`, export    LMS | I′ | I″ | ground truth of fixed test
                                 examples; the SavedModel; `run_summary.json`.

`car_gan.task.TASK` declares the task (its config, these stages, the evaluator
and Table I's ablations, models A-E as config overrides) and sets `task`.
"""

import functools
import hashlib
import json
import os
import shutil
import sys

import keras
import numpy as np
import tensorflow as tf

from tfxmodal.car_gan import data
from tfxmodal.car_gan.image_grids import sample_grid, save_png
from tfxmodal.car_gan.networks import NUM_CLASSES, build_networks, make_classifier
from tfxmodal.car_gan.probe import CARGANProbe
from tfxmodal.errors import ConfigError
from tfxmodal.evaluation.curve import LearningCurve, LearningCurveCallback
from tfxmodal.export.car_gan import export_car_gan
from tfxmodal.tasks.training_run import TrainingRun
from tfxmodal.trainers.callbacks import ImageSummaries
from tfxmodal.trainers.car_gan import CARGANTrainer
from tfxmodal.trainers.distribute import (
    allow_multi_worker_fit,
    average_replica_local_variables,
    is_chief,
    worker_directory,
)
from tfxmodal.utils.files import read_json, save_json, save_weights
from tfxmodal.utils.precision import precision_scope
from tfxmodal.utils.tracing import build_optimizer


def linear_decay(rate, total_steps, decay_epochs, steps_per_epoch):
    """The authors' schedule (pix2pix's "linear" policy) as a Keras schedule of the optimizer step.

    `rate` until the last `decay_epochs` epochs of `total_steps`; in epoch k
    (0-based) of those, `rate · (1 − k / (decay_epochs + 1))`: with 200 + 100
    epochs the last one trains at rate · 2/101.
    """
    decay = round(decay_epochs)
    if decay <= 1:
        return rate
    start = max(0, total_steps - decay * steps_per_epoch)
    # PiecewiseConstantDecay takes values[k] for boundaries[k-1] < step <= boundaries[k].
    boundaries = [start + k * steps_per_epoch - 1 for k in range(1, decay)]
    values = [rate] + [rate * (1.0 - k / (decay + 1.0)) for k in range(1, decay)]
    return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)


# What determines a trained C, by config key. Listed, not derived from the
# sections, so that a new key (with a default) never invalidates the caches
# users already have; a key added here must bump CLASSIFIER_CACHE_VERSION.
CLASSIFIER_CACHE_KEYS = (
    "data.source",
    "data.root",
    "data.data_dir",
    "data.mini_urmp_config",
    "data.image_size",
    "data.sample_rate",
    "data.skip_bad_files",
    "data.downmix",
    "classifier.backbone_weights",
    "classifier.train_splits",
    "classifier.epochs",
    "classifier.batch_size",
    "classifier.learning_rate",
    "classifier.cosine_decay",
    "classifier.label_smoothing",
    "seed",
)
CLASSIFIER_CACHE_VERSION = 1
# Keys added since, with the default each had before it existed: hashed only
# when set to something else, so the caches of earlier configs keep their keys.
CLASSIFIER_CACHE_LATER_KEYS = {"data.lms": "audio", "data.image_dir": "img", "data.lms_dir": "spectram"}


def classifier_cache_key(config):
    """Hash of what determines C (`CLASSIFIER_CACHE_KEYS`): data, classifier settings and seed, not the GAN."""
    relevant = {"version": CLASSIFIER_CACHE_VERSION}

    def value_of(key):
        value = config
        for part in key.split("."):
            value = getattr(value, part)
        return value

    for key in CLASSIFIER_CACHE_KEYS:
        relevant[key] = value_of(key)
    for key, default in CLASSIFIER_CACHE_LATER_KEYS.items():
        # lms_dir only matters to which frames pair up when the spectrogram pictures are read.
        if value_of(key) != default and (key != "data.lms_dir" or value_of("data.lms") == "image"):
            relevant[key] = value_of(key)
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=list).encode()).hexdigest()[:16]


class CARGANRun(TrainingRun):
    """One CAR-GAN run directory and the stages that fill it."""

    # -- stage 2 ---------------------------------------------------------
    def classifier(self, strategy):
        spec = self.config.classifier
        target = self.path("classifier.weights.h5")
        cached = None
        if spec.cache_dir:
            cached = os.path.join(spec.cache_dir, f"classifier_{classifier_cache_key(self.config)}.weights.h5")
        with strategy.scope():
            if os.path.exists(target):
                classifier = make_classifier(self.config)
                classifier.load_weights(target)
                return classifier
            source = spec.weights or (cached if cached and os.path.exists(cached) else None)
            if source:
                self.log(f"loading classifier C from {source}")
                classifier = make_classifier(self.config)
                try:
                    classifier.load_weights(source)
                except ValueError as error:
                    raise ConfigError(
                        f"classifier.weights: {source} does not fit ImageClassifier({NUM_CLASSES}, "
                        f"{self.config.data.image_size}): {str(error).splitlines()[0][:200]}"
                    ) from None
                description = {"source": os.path.abspath(source)}
                trained = False
            else:
                classifier = make_classifier(self.config, spec.backbone_weights)
                description = self.train_classifier(classifier, strategy)
                trained = True
        description.update(self.real_accuracy(classifier))
        self.log(f"classifier C on real images: {json.dumps(description)}")
        # Every worker keeps C (the same weights on all) in its run directory,
        # like ψ in face2music: a restarted worker must load it, not train
        # alone while the others load theirs.
        save_weights(classifier, target)
        save_json(self.path("classifier.json"), description)
        # Only a C trained from this config may go into the cache under its key.
        if is_chief(strategy) and cached and trained and not os.path.exists(cached):
            save_weights(classifier, cached)
        return classifier

    def train_classifier(self, classifier, strategy):
        spec = self.config.classifier
        counts = []

        def dataset_fn(input_context):
            dataset, count = data.classifier_dataset(
                self.config.data, spec.train_splits, spec.batch_size, self.config.seed, True, input_context
            )
            counts.append(count)  # of all examples, the same in every pipeline
            return dataset.map(lambda image, label: (image, _one_hot(label)))

        # The strategy builds this worker's pipelines here, so the splits are indexed once.
        distributed = strategy.distribute_datasets_from_function(dataset_fn)
        count = counts[0]
        steps = max(1, count // spec.batch_size)
        self.log(f"training classifier C on {count} real images ({'+'.join(spec.train_splits)}): {spec.epochs} epochs")
        learning_rate = spec.learning_rate
        if spec.cosine_decay:
            learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, spec.epochs * steps)
        classifier.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=spec.label_smoothing),
            metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
        )
        build_optimizer(classifier)
        allow_multi_worker_fit(classifier, strategy)
        # Each worker backs up its own copy (workers may share one run directory).
        backup = worker_directory(self.out_dir, "classifier_backup", strategy)
        history = classifier.fit(
            distributed,
            epochs=spec.epochs,
            steps_per_epoch=steps,
            callbacks=[keras.callbacks.BackupAndRestore(backup)],
            verbose=1 if sys.stdout.isatty() else 2,
        )
        # Each replica updated C's batch-norm statistics from its own batches.
        average_replica_local_variables([classifier], strategy)
        shutil.rmtree(backup, ignore_errors=True)
        return {
            "source": "trained",
            "trained_on": list(spec.train_splits),
            "epochs": spec.epochs,
            "final_loss": float(history.history["loss"][-1]) if history.history.get("loss") else None,
        }

    def real_accuracy(self, classifier):

        size = self.config.data.image_size
        predict = tf.function(
            lambda images: tf.argmax(classifier(images, training=False), -1, output_type=tf.int32),
            input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32)],
        )
        result = {}
        for split in ("train", "test"):
            dataset, count = data.classifier_dataset(self.config.data, [split], 64, self.config.seed, training=False)
            hits = 0
            for images, labels in dataset:
                hits += int(np.sum(predict(images).numpy() == labels.numpy()))
            result[f"accuracy_real_{split}"] = round(hits / max(count, 1), 4)
        return result

    # -- stage 3 ---------------------------------------------------------
    @functools.cached_property
    def schedule(self):
        """`(total steps, steps per Keras epoch, steps per pass over the train split)`, worked out once.

        From epochs (plus the decay epochs) or steps; the train split is
        counted once (for Sub-URMP that reads every chunk's header).
        """
        train = self.config.train
        per_data_epoch = max(1, data.count_examples(self.config.data, "train") // train.batch_size)
        epochs = train.epochs + train.decay_epochs
        total = train.steps if train.steps is not None else int(np.ceil(epochs * per_data_epoch))
        every = train.checkpoint_every or min(per_data_epoch, total)
        if total % every:
            rounded = -(-total // every) * every
            self.log(f"{total} steps rounded up to {rounded}, a multiple of the checkpoint interval {every}")
            total = rounded
        return total, every, per_data_epoch

    def build_gan(self, strategy, classifier):

        train = self.config.train
        learning_rate = train.learning_rate
        if train.decay_epochs:
            total, _, per_data_epoch = self.schedule
            learning_rate = linear_decay(train.learning_rate, total, train.decay_epochs, per_data_epoch)
        with strategy.scope():
            with precision_scope(train.precision):  # G1, G2 and D; C (built already) stays float32
                cascade, discriminator = build_networks(self.config, classifier)
            gan = CARGANTrainer(
                cascade,
                discriminator,
                self.config.loss,
                discriminator_first=train.discriminator_first,
                augment=train.diff_augment,
                augment_seed=self.config.seed + 300,
                classifier_augment=train.classifier_augment,
            )

            def adam():
                return keras.optimizers.Adam(learning_rate, beta_1=train.beta_1, beta_2=train.beta_2)

            gan.compile({"generator": adam(), "discriminator": adam()}, jit_compile=train.jit_compile)
        return gan

    def chief_callbacks(self, gan, fixed, config_text):
        def make_images():
            return {"samples": sample_grid(gan.cascade, fixed)[None].astype(np.float32) / 255.0}

        callbacks = [
            ImageSummaries(self.path("logs"), gan.named_optimizers(), gan.step_counter, config_text, make_images)
        ]
        every = self.config.evaluation.every_steps
        if every:
            probe = CARGANProbe(
                gan.cascade,
                self.config,
                "test",
                self.config.evaluation.curve_examples,
                discriminator=gan.discriminator,
            )
            curve = LearningCurve(
                self.path("curve.json"),
                self.path("curve.png"),
                probe.panels,
                probe.references,
                title=f"CAR-GAN {self.variant_name()} ({self.out_dir})",
            )
            callbacks.append(
                LearningCurveCallback(probe, curve, every, gan.step_counter, self.path("logs"), log=self.log)
            )
        return callbacks

    def train_gan(self, strategy, gan, fixed, config_text):
        total, every, _ = self.schedule
        chief = self.chief_callbacks(gan, fixed, config_text) if is_chief(strategy) else []

        def dataset_fn(seed, context):
            return data.gan_dataset(self.config.data, self.config.train.batch_size, seed, context)

        self.log(f"CAR-GAN model: {self.variant_name()}")
        return self.fit_gan(strategy, gan, dataset_fn, total, every, chief)

    def variant_name(self):
        model, loss = self.config.model, self.config.loss
        off = []
        if not model.attention:
            off.append("no attention")
        if loss.classification == 0:
            off.append("no classification loss")
        if not model.residue:
            off.append("no residue module")
        if not model.second_stage:
            off.append("no second stage")
        return ", ".join(off) or "full model"

    # -- stage 4 ---------------------------------------------------------
    def write_grid(self, cascade, fixed):

        path = self.path("samples", "grid.png")
        save_png(path, sample_grid(cascade, fixed, header=True))
        return path

    def export(self, cascade):

        base = self.config.export.dir or self.path("saved_model")
        return export_car_gan(cascade, self.config.data.image_size, base, data.lms_channels(self.config.data))

    def stages(self, strategy, config_text):
        classifier = self.classifier(strategy)
        fixed = data.fixed_examples(self.config.data, self.config.export.sample_count)
        gan = self.build_gan(strategy, classifier)
        step = self.train_gan(strategy, gan, fixed, config_text)
        summary = {"out_dir": self.out_dir, "steps": step, "variant": self.variant_name()}
        if is_chief(strategy):
            summary["classifier"] = read_json(self.path("classifier.json"))
            summary["grid"] = self.write_grid(gan.cascade, fixed)
            summary["saved_model"] = self.export_once(step, lambda: self.export(gan.cascade))
            if os.path.exists(self.path("curve.json")):
                summary["curve"] = self.path("curve.json")
            save_json(self.path("run_summary.json"), summary)
        return summary


def _one_hot(label):

    return tf.one_hot(tf.cast(label, tf.int32), NUM_CLASSES)
