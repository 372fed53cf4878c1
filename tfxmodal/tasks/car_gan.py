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
4. `samples/grid.png`, export    LMS | I′ | I″ | ground truth of fixed test
                                 examples; the SavedModel; `run_summary.json`.

`ABLATIONS` (Table I's models A-E as config overrides) and `TABLE_COLUMNS`
are what `python -m tfxmodal.ablate` uses.
"""

import hashlib
import json
import os
import shutil
import sys
import time

import keras
import numpy as np

from tfxmodal.config import ConfigError, parse
from tfxmodal.tasks import car_gan_data as data
from tfxmodal.tasks.car_gan_config import CARGANConfig
from tfxmodal.tasks.run_directory import TrainingFailed, run_task, write_resolved_config
from tfxmodal.trainers.distribute import (
    allow_multi_worker_fit,
    average_replica_local_variables,
    checkpoint_directory,
    describe_strategy,
    is_chief,
    make_strategy,
    worker_directory,
)
from tfxmodal.utils.files import read_json, save_json, save_weights

NUM_CLASSES = data.NUM_CLASSES

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
TABLE_COLUMNS = ("fid", "is", "accuracy_train", "accuracy_test")


def load_config(raw):
    return parse(CARGANConfig, raw)


def run(raw, out_dir=None, config_path=None):
    """Runs (or resumes) a CAR-GAN training run; returns a process exit code."""
    return run_task(load_config, CARGANRun, raw, out_dir, config_path, "car_gan")


# -- networks -------------------------------------------------------------


def num_downs(image_size):
    """U-Net depth that takes an S×S input to a 1×1 bottleneck (pix2pix: 8 at 256)."""
    return int(image_size).bit_length() - 1


def make_classifier(config, backbone_weights=None):
    from tfxmodal.models.image_classifier import ImageClassifier

    classifier = ImageClassifier(
        NUM_CLASSES, config.data.image_size, backbone_weights=backbone_weights, name="classifier"
    )
    classifier.build((None, config.data.image_size, config.data.image_size, 3))
    return classifier


def build_networks(config, classifier):
    """`(CARGenerator, PatchGANDiscriminator)` of `config`, built (call in the strategy scope)."""
    from tfxmodal.models.car_gan import CARGenerator
    from tfxmodal.models.patchgan import PatchGANDiscriminator
    from tfxmodal.models.unet import UNetGenerator

    model, size = config.model, config.data.image_size

    def generator(name, seed):
        return UNetGenerator(
            output_channels=3,
            base_filters=model.generator_filters,
            num_downs=num_downs(size),
            attention=model.attention,
            dropout=model.dropout,
            key_channels_divisor=model.key_channels_divisor,
            downsample_keys=model.downsample_keys,
            init_stddev=model.init_stddev,
            seed=seed,
            name=name,
        )

    g1 = generator("g1", config.seed)
    g2 = generator("g2", config.seed + 100) if model.second_stage else None
    cascade = CARGenerator(g1, classifier, g2, residue=model.residue, num_classes=NUM_CLASSES, name="car_generator")
    cascade.build((None, size, size, 1))
    discriminator = PatchGANDiscriminator(
        base_filters=model.discriminator_filters,
        num_layers=model.discriminator_layers,
        attention=model.attention,
        key_channels_divisor=model.key_channels_divisor,
        downsample_keys=model.downsample_keys,
        init_stddev=model.init_stddev,
        seed=config.seed + 200,
        name="discriminator",
    )
    discriminator.build((None, size, size, 1), (None, size, size, 3))
    return cascade, discriminator


def generator_trackables(cascade):
    """The checkpointed generator objects (C is saved separately, as a stage)."""
    trackables = {"g1": cascade.g1}
    if cascade.g2 is not None:
        trackables["g2"] = cascade.g2
    return trackables


def classifier_cache_key(config):
    """Hash of what determines C: data, classifier settings and seed (not the GAN)."""
    relevant = {
        "data": {k: v for k, v in vars(config.data).items() if k not in ("shuffle_buffer", "cache")},
        "classifier": {k: v for k, v in vars(config.classifier).items() if k not in ("weights", "cache_dir")},
        "seed": config.seed,
    }
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


class CARGANRun:
    """One run directory and the stages that fill it."""

    def __init__(self, config, out_dir):
        self.config = config
        self.out_dir = out_dir

    def path(self, *parts):
        return os.path.join(self.out_dir, *parts)

    def log(self, message):
        print(f"[car_gan] {message}", flush=True)

    # -- stage 1 ---------------------------------------------------------
    def write_config(self):
        return write_resolved_config(self.config, self.out_dir)

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
            metrics=["accuracy"],
        )
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
        import tensorflow as tf

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
    def schedule(self, num_examples):
        """`(total steps, steps per Keras epoch)` from epochs or steps."""
        train = self.config.train
        per_epoch = max(1, num_examples // train.batch_size)
        total = train.steps if train.steps is not None else int(np.ceil(train.epochs * per_epoch))
        every = train.checkpoint_every or min(per_epoch, total)
        if total % every:
            rounded = -(-total // every) * every
            self.log(f"{total} steps rounded up to {rounded}, a multiple of the checkpoint interval {every}")
            total = rounded
        return total, every

    def build_gan(self, strategy, classifier):
        from tfxmodal.trainers.car_gan import CARGANTrainer, LossWeights

        train = self.config.train
        with strategy.scope():
            cascade, discriminator = build_networks(self.config, classifier)
            gan = CARGANTrainer(cascade, discriminator, LossWeights(**vars(self.config.loss)))

            def adam():
                return keras.optimizers.Adam(train.learning_rate, beta_1=train.beta_1, beta_2=train.beta_2)

            gan.compile(generator_optimizer=adam(), discriminator_optimizer=adam(), jit_compile=train.jit_compile)
        return gan

    def train_gan(self, strategy, gan, fixed, config_text):
        from tfxmodal.trainers.callbacks import AverageReplicaLocalState, CheckpointSaver, ImageSummaries, NaNGuard
        from tfxmodal.trainers.checkpoints import RunCheckpoints

        train = self.config.train
        chief = is_chief(strategy)
        trackables = dict(
            generator_trackables(gan.cascade),
            discriminator=gan.discriminator,
            generator_optimizer=gan.generator_optimizer,
            discriminator_optimizer=gan.discriminator_optimizer,
        )
        directory = checkpoint_directory(self.out_dir, strategy)
        checkpoints = RunCheckpoints(directory, max_to_keep=train.keep_checkpoints, **trackables)
        restored = checkpoints.restore_latest()
        step_variable = gan.generator_optimizer.iterations
        start_step = int(step_variable.numpy())
        total, every = self.schedule(data.count_examples(self.config.data, "train"))
        if restored:
            self.log(f"resumed from {restored} at step {start_step}")
        if start_step >= total:
            self.log(f"already trained for {start_step} steps")
            return start_step
        dataset = strategy.distribute_datasets_from_function(
            lambda context: data.gan_dataset(self.config.data, train.batch_size, self.config.seed + start_step, context)
        )
        nan_guard = NaNGuard()
        networks = [network for network in trackables.values() if isinstance(network, keras.Model)]
        callbacks = [
            nan_guard,
            AverageReplicaLocalState(networks, strategy),
            CheckpointSaver(checkpoints, step_variable, nan_guard, enabled=chief),
        ]
        if chief:
            from tfxmodal.evaluation.car_gan import sample_grid

            def make_images():
                return {"samples": sample_grid(gan.cascade, fixed)[None].astype(np.float32) / 255.0}

            callbacks += [
                keras.callbacks.TensorBoard(
                    self.path("logs"), histogram_freq=1 if train.histograms else 0, write_graph=False
                ),
                ImageSummaries(
                    self.path("logs"),
                    {"generator": gan.generator_optimizer, "discriminator": gan.discriminator_optimizer},
                    step_variable,
                    config_text,
                    make_images,
                ),
            ]
        allow_multi_worker_fit(gan, strategy)
        self.log(f"training CAR-GAN ({self.variant_name()}): steps {start_step} -> {total}")
        gan.fit(
            dataset,
            epochs=total // every,
            initial_epoch=start_step // every,
            steps_per_epoch=every,
            callbacks=callbacks,
            verbose=1 if sys.stdout.isatty() else 2,
        )
        if nan_guard.failure is not None:
            kept = checkpoints.manager.latest_checkpoint
            raise TrainingFailed(
                f"non-finite loss {nan_guard.failure['losses']} near step {int(step_variable.numpy())}; "
                f"kept the last good checkpoint {kept}"
            )
        return int(step_variable.numpy())

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
        from tfxmodal.evaluation.car_gan import sample_grid, save_png

        path = self.path("samples", "grid.png")
        save_png(path, sample_grid(cascade, fixed, header=True))
        return path

    def export(self, cascade):
        from tfxmodal.export.car_gan import export_car_gan

        base = self.config.export.dir or self.path("saved_model")
        return export_car_gan(cascade, self.config.data.image_size, base)

    def execute(self):
        started = time.time()
        keras.utils.set_random_seed(self.config.seed)
        strategy = make_strategy(self.config.train.strategy)
        self.log(f"strategy: {describe_strategy(strategy)}")
        if self.config.train.batch_size % strategy.num_replicas_in_sync:
            raise ConfigError(
                f"train.batch_size: {self.config.train.batch_size} does not divide over "
                f"{strategy.num_replicas_in_sync} replicas"
            )
        config_text = self.write_config()
        classifier = self.classifier(strategy)
        fixed = data.fixed_examples(self.config.data, self.config.export.sample_count)
        gan = self.build_gan(strategy, classifier)
        step = self.train_gan(strategy, gan, fixed, config_text)
        summary = {"out_dir": self.out_dir, "steps": step, "variant": self.variant_name()}
        if is_chief(strategy):
            summary["classifier"] = read_json(self.path("classifier.json"))
            summary["grid"] = self.write_grid(gan.cascade, fixed)
            summary["saved_model"] = self.export(gan.cascade)
            summary["seconds"] = round(time.time() - started, 1)
            save_json(self.path("run_summary.json"), summary)
        return summary


def _one_hot(label):
    import tensorflow as tf

    return tf.one_hot(tf.cast(label, tf.int32), NUM_CLASSES)
