"""Pitch and family classifiers for FID and IS (Kim et al. 2020, Appendix 5.1.4).

"The network exactly same as the audio embedding network except that the
L2-normalization layer is replaced with the softmax layer", trained on the
target dataset's training split; FID uses its penultimate (pooled) features,
IS its softmax. The two classifiers are stored in a directory with their
test-split accuracy and the audio config they were trained on, and are
reused by every evaluation of runs on that data.

Beside each classifier's accuracy the directory records a floor it must
beat: a logistic regression on the mean and standard deviation over frames
of the 13 MFCCs (`mfcc_baseline_accuracy`). A metric read through a
classifier that this linear model beats cannot rank generators, so
`weak_classifiers` names them and the evaluation withholds their FID / IS.
"""

import dataclasses
import json
import os

import keras
import numpy as np
import tensorflow as tf
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tfxmodal.audio.features import mfcc
from tfxmodal.data import pipeline as pipeline_lib
from tfxmodal.data.nsynth import families as nsynth_families
from tfxmodal.domain import CLIP_SAMPLES, NUM_PITCHES
from tfxmodal.errors import ConfigError, NsynthDataError
from tfxmodal.face2music import data
from tfxmodal.models import AudioClassifier
from tfxmodal.trainers.callbacks import ConvergenceStop
from tfxmodal.utils.files import save_json, save_weights
from tfxmodal.utils.tracing import build_optimizer

# NSynth family index -> class index over the paper's 10 families (synth_lead dropped).
FAMILY_CLASSES = {nsynth_families.family_index(name): i for i, name in enumerate(nsynth_families.PAPER_FAMILIES)}
KINDS = ("pitch", "family")


@dataclasses.dataclass
class ClassifierSpec:
    """How the FID/IS classifiers train.

    `steps` at most; with `validate_every` > 0 the accuracy on
    `validation_batches` batches of 256 notes of `validation_split` is scored
    every that many steps, and training stops after `patience` checks without
    improvement, keeping the best check's weights (a well-trained classifier,
    Sec. 3.3); 0 trains exactly `steps` steps.
    """

    width: int = 64
    steps: int = 5000
    batch_size: int = 64
    learning_rate: float = 1e-3
    test_split: str = "test"
    validate_every: int = 0
    patience: int = 5
    validation_split: str = "valid"
    validation_batches: int = 8


# What a classifier directory written before these settings existed was trained with.
SPEC_DEFAULTS_BEFORE_VALIDATION = {
    "validate_every": 0,
    "patience": 5,
    "validation_split": "valid",
    "validation_batches": 8,
}


def class_labels(kind, example):
    """Integer class of a target example: pitch class 0-60, or paper family 0-9."""
    if kind == "pitch":
        return example["pitch"]
    table = tf.constant([FAMILY_CLASSES.get(i, -1) for i in range(len(nsynth_families.FAMILIES))], tf.int32)
    return tf.gather(table, example["family"])


def num_classes(kind):
    return NUM_PITCHES if kind == "pitch" else len(FAMILY_CLASSES)


def _labelled(audio, kind):
    examples = data.target_examples(audio).map(lambda e: (e["audio"], class_labels(kind, e)))
    return examples.filter(lambda waveform, label: label >= 0)


def train_classifier(kind, audio, spec, seed, log=print):
    """A trained `AudioClassifier`, its accuracy on `spec.test_split`, and its validation checks (or None)."""
    model = AudioClassifier(num_classes(kind), width=spec.width, name=f"{kind}_classifier")
    model.build((None, CLIP_SAMPLES))
    model.compile(
        optimizer=keras.optimizers.Adam(spec.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    build_optimizer(model)
    train = pipeline_lib.finish(_labelled(audio, kind), spec.batch_size, training=True, seed=seed, cache=True)
    callbacks, epochs, steps_per_epoch, stop = [], 1, spec.steps, None
    if spec.validate_every:
        valid_audio = dataclasses.replace(audio, split=spec.validation_split)
        valid = pipeline_lib.finish(_labelled(valid_audio, kind), 256, training=False).take(spec.validation_batches)
        valid = valid.cache()
        stop = ConvergenceStop(lambda trained: trained.evaluate(valid, verbose=0)[1], spec.patience, log=log)
        callbacks.append(stop)
        steps_per_epoch = min(spec.validate_every, spec.steps)
        epochs = max(1, spec.steps // steps_per_epoch)
    model.fit(train, steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=2, callbacks=callbacks)
    test_audio = dataclasses.replace(audio, split=spec.test_split)
    test = pipeline_lib.finish(_labelled(test_audio, kind), 256, training=False)
    _, accuracy = model.evaluate(test, verbose=0)
    checks = None if stop is None else {"validation": stop.history, "best_step": stop.best_step}
    return model, float(accuracy), checks


# Notes per split the MFCC baseline reads at most (a seeded sample; mini-NSynth's splits are smaller).
MFCC_BASELINE_EXAMPLES = 20000


def mfcc_statistics(waveforms, batch_size=256):
    """`(n, 26)` float64: per clip `(n, 8192)`, the mean then the standard deviation over frames of 13 MFCCs."""
    rows = []
    for start in range(0, len(waveforms), batch_size):
        coefficients = mfcc(tf.convert_to_tensor(waveforms[start : start + batch_size]), flatten=False).numpy()
        rows.append(np.concatenate([coefficients.mean(axis=1), coefficients.std(axis=1)], axis=1))
    return np.concatenate(rows).astype(np.float64)


def _labelled_arrays(audio, kind, limit, seed):
    """`(clips (n, 8192), labels (n,))`: a seeded sample of at most `limit` labelled notes of `audio`."""
    examples = _labelled(audio, kind).shuffle(max(4 * limit, 10000), seed=seed).take(limit).batch(256)
    clips, labels = [], []
    for waveform, label in examples:
        clips.append(waveform.numpy())
        labels.append(label.numpy())
    if not clips:
        raise NsynthDataError(f"audio ({audio.source}, split {audio.split}): no labelled {kind} notes")
    return np.concatenate(clips), np.concatenate(labels)


def mfcc_baseline_accuracy(kind, audio, spec, seed, limit=MFCC_BASELINE_EXAMPLES):
    """Test-split accuracy of a logistic regression on `mfcc_statistics` (standardised), trained on `audio`'s split.

    The floor a `kind` classifier must beat: both see the same notes of the
    same splits (at most `limit` of each, seeded).
    """
    train_clips, train_labels = _labelled_arrays(audio, kind, limit, seed)
    test_audio = dataclasses.replace(audio, split=spec.test_split)
    test_clips, test_labels = _labelled_arrays(test_audio, kind, limit, seed)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    model.fit(mfcc_statistics(train_clips), train_labels)
    return float(np.mean(model.predict(mfcc_statistics(test_clips)) == test_labels))


def weak_classifiers(info):
    """`{kind: (accuracy, MFCC baseline)}` of the classifiers in `info` that do not beat their MFCC baseline."""
    baselines = info.get("mfcc_baseline", {})
    return {
        kind: (accuracy, baselines[kind])
        for kind, accuracy in info.get("accuracy", {}).items()
        if kind in baselines and accuracy <= baselines[kind]
    }


def _describe_audio(audio):
    return {key: value for key, value in dataclasses.asdict(audio).items() if key != "split"}


def load_or_train(directory, audio, spec, seed=0, log=print):
    """`({kind: AudioClassifier}, info)` from `directory`, training what is missing.

    `info["accuracy"]` and `info["mfcc_baseline"]` hold each kind's test
    accuracy and its MFCC baseline's (computed once, kept in the directory;
    a directory written before the baseline existed gets it on first use).

    The directory records the audio config (source, paths, filter) the
    classifiers were trained on; asking for other data raises `ConfigError`
    rather than silently scoring against the wrong classifier.
    """
    os.makedirs(directory, exist_ok=True)
    info_path = os.path.join(directory, "classifiers.json")
    info = {"audio": _describe_audio(audio), "spec": dataclasses.asdict(spec), "seed": seed, "accuracy": {}}
    if os.path.exists(info_path):
        with open(info_path, encoding="utf-8") as handle:
            stored = json.load(handle)
        stored_spec = {**SPEC_DEFAULTS_BEFORE_VALIDATION, **stored["spec"]}
        if stored["audio"] != info["audio"] or stored_spec != info["spec"]:
            raise ConfigError(
                f"{directory} holds classifiers for other data or settings ({stored['audio']}, {stored['spec']}); "
                "use another --classifiers directory"
            )
        info = {**stored, "spec": stored_spec}
    models = {}
    for kind in KINDS:
        path = os.path.join(directory, f"{kind}_classifier.weights.h5")
        if os.path.exists(path) and kind in info["accuracy"]:
            model = AudioClassifier(num_classes(kind), width=spec.width, name=f"{kind}_classifier")
            model.build((None, CLIP_SAMPLES))
            model.load_weights(path)
        else:
            until = f"at most {spec.steps} steps, to convergence" if spec.validate_every else f"{spec.steps} steps"
            log(f"training the {kind} classifier for FID / IS ({until})")
            model, accuracy, checks = train_classifier(kind, audio, spec, seed, log=log)
            save_weights(model, path)
            info["accuracy"][kind] = accuracy
            if checks is not None:
                info.setdefault("convergence", {})[kind] = checks
            save_json(info_path, info)
        if kind not in info.get("mfcc_baseline", {}):
            log(f"scoring the MFCC baseline of the {kind} classifier (logistic regression on MFCC statistics)")
            info.setdefault("mfcc_baseline", {})[kind] = mfcc_baseline_accuracy(kind, audio, spec, seed)
            save_json(info_path, info)
        models[kind] = model
    for kind, (accuracy, baseline) in weak_classifiers(info).items():
        log(
            f"WARNING: the {kind} classifier ({100 * accuracy:.1f} % on {spec.test_split}) does not beat a "
            f"logistic regression on MFCC statistics ({100 * baseline:.1f} %): its FID and IS cannot rank generators"
        )
    return models, info


def features_and_probabilities(model, waveforms, batch_size=128):
    """`(penultimate features (n, 16d), class probabilities (n, classes))` of `(n, 8192)` clips."""
    features, probabilities = [], []
    for start in range(0, len(waveforms), batch_size):
        batch = tf.convert_to_tensor(waveforms[start : start + batch_size])
        pooled = model.features(batch, training=False)
        features.append(np.asarray(pooled))
        probabilities.append(np.asarray(tf.nn.softmax(model.logits(pooled), axis=-1)))
    return np.concatenate(features), np.concatenate(probabilities)


def classifier_spec(config):
    """The FID/IS classifier settings of a face2music run (its `evaluation` section)."""
    spec = config.evaluation
    return ClassifierSpec(
        width=spec.classifier_width or config.audio_embedder.width,
        steps=spec.classifier_steps,
        validate_every=spec.classifier_validate_every,
        patience=spec.classifier_patience,
        validation_split=spec.classifier_validation_split,
    )


def default_classifiers_dir(run_dir):
    """Where a run's FID/IS classifiers live unless configured: beside the run (shared by an ablation's rows)."""
    return os.path.join(os.path.dirname(os.path.abspath(run_dir)), "classifiers")
