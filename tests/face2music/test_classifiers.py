import json

import numpy as np
import pytest
import tensorflow as tf
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tfxmodal.audio.features import mfcc
from tfxmodal.data.nsynth import families as nsynth_families
from tfxmodal.face2music import classifiers, data
from tfxmodal.face2music.config import AudioData
from tfxmodal.models import AudioClassifier


def test_family_classes_drop_synth_lead():
    families = tf.constant([nsynth_families.family_index(name) for name in nsynth_families.FAMILIES])
    labels = classifiers.class_labels("family", {"family": families}).numpy()
    expected = [
        nsynth_families.PAPER_FAMILIES.index(n) if n in nsynth_families.PAPER_FAMILIES else -1
        for n in nsynth_families.FAMILIES
    ]
    np.testing.assert_array_equal(labels, expected)
    assert classifiers.num_classes("family") == 10 and classifiers.num_classes("pitch") == 61


def test_features_and_probabilities_shapes():
    model = AudioClassifier(61, width=2)
    features, probabilities = classifiers.features_and_probabilities(
        model, np.zeros((5, 8192), "float32"), batch_size=2
    )
    assert features.shape == (5, 32) and probabilities.shape == (5, 61)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(probabilities, model(np.zeros((5, 8192), "float32")), rtol=1e-5)


def test_refuses_a_directory_trained_on_other_data(tmp_path):
    spec = classifiers.ClassifierSpec(width=2, steps=3)
    other = AudioData(source="tfds", tfds_name="nsynth/full", data_dir="/somewhere")
    (tmp_path / "classifiers.json").write_text(
        json.dumps(
            {
                "audio": {k: v for k, v in vars(other).items() if k != "split"},
                "spec": vars(spec),
                "seed": 0,
                "accuracy": {},
            }
        )
    )
    with pytest.raises(ValueError, match="holds classifiers for other data"):
        classifiers.load_or_train(str(tmp_path), AudioData(), spec)


@pytest.mark.slow  # trains four tiny classifiers
def test_classifiers_can_train_to_convergence_and_older_directories_still_load(tmp_path, mini_nsynth_tiny_dir):
    """validate_every: checks recorded, best weights kept; a classifiers.json without the new keys is the fixed-step spec."""
    audio = AudioData(
        source="mini_nsynth", mini_nsynth_config="tiny", data_dir=mini_nsynth_tiny_dir, paper_filter=False
    )
    spec = classifiers.ClassifierSpec(width=2, steps=6, validate_every=2, patience=1, validation_batches=1)
    directory = tmp_path / "converged"
    _, info = classifiers.load_or_train(str(directory), audio, spec, log=lambda message: None)
    for kind in classifiers.KINDS:
        checks = info["convergence"][kind]["validation"]
        assert [check["step"] for check in checks] == [2 * (i + 1) for i in range(len(checks))]
        assert info["convergence"][kind]["best_step"] in [check["step"] for check in checks]

    fixed = classifiers.ClassifierSpec(width=2, steps=3)
    older = tmp_path / "older"
    _, info = classifiers.load_or_train(str(older), audio, fixed, log=lambda message: None)
    stored = json.loads((older / "classifiers.json").read_text())
    for key in classifiers.SPEC_DEFAULTS_BEFORE_VALIDATION:
        del stored["spec"][key]  # as an older tfxmodal wrote it
    (older / "classifiers.json").write_text(json.dumps(stored))
    del stored["mfcc_baseline"]  # written before the MFCC baselines existed
    (older / "classifiers.json").write_text(json.dumps(stored))
    messages = []
    _, info = classifiers.load_or_train(str(older), audio, fixed, log=messages.append)
    assert not any("training" in message for message in messages)  # loaded, not retrained or refused
    assert set(info["mfcc_baseline"]) == {"pitch", "family"}  # scored on first use, then kept
    assert json.loads((older / "classifiers.json").read_text())["mfcc_baseline"] == info["mfcc_baseline"]


def test_mfcc_statistics_are_the_mean_then_the_std_over_frames_of_13_mfccs():
    rng = np.random.default_rng(0)
    clips = (0.3 * rng.standard_normal((5, 8192))).astype("float32")
    statistics = classifiers.mfcc_statistics(clips, batch_size=2)
    coefficients = mfcc(tf.constant(clips), flatten=False).numpy()  # (5, 29, 13)
    assert statistics.shape == (5, 26)
    np.testing.assert_allclose(statistics[:, :13], coefficients.mean(axis=1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(statistics[:, 13:], coefficients.std(axis=1), rtol=1e-4, atol=1e-5)


@pytest.mark.slow  # reads the tiny mini-NSynth build
def test_the_mfcc_baseline_is_a_logistic_regression_on_the_splits_notes(mini_nsynth_tiny_dir):
    """Its accuracy equals scikit-learn's on the same notes; it separates what MFCC statistics separate."""
    audio = AudioData(
        source="mini_nsynth", mini_nsynth_config="tiny", data_dir=mini_nsynth_tiny_dir, paper_filter=False
    )
    spec = classifiers.ClassifierSpec(width=2, steps=3)
    accuracy = classifiers.mfcc_baseline_accuracy("family", audio, spec, seed=0)

    def split(name):
        notes = list(data.target_examples(AudioData(**{**vars(audio), "split": name})).as_numpy_iterator())
        labels = np.array([classifiers.FAMILY_CLASSES.get(int(note["family"]), -1) for note in notes])
        clips = np.stack([note["audio"] for note in notes])[labels >= 0]
        return classifiers.mfcc_statistics(clips), labels[labels >= 0]

    (train_x, train_y), (test_x, test_y) = split("train"), split("test")
    expected = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(train_x, train_y)
    assert accuracy == pytest.approx(np.mean(expected.predict(test_x) == test_y))
    assert len(test_y) >= 5 and accuracy > 1 / len(set(train_y))  # above chance on rendered instruments


def test_weak_classifiers_are_those_at_or_below_their_mfcc_baseline():
    info = {"accuracy": {"pitch": 0.80, "family": 0.347}, "mfcc_baseline": {"pitch": 0.10, "family": 0.455}}
    assert classifiers.weak_classifiers(info) == {"family": (0.347, 0.455)}
    assert classifiers.weak_classifiers({**info, "accuracy": {"pitch": 0.10, "family": 0.5}}) == {"pitch": (0.10, 0.10)}
    assert classifiers.weak_classifiers({"accuracy": {"pitch": 0.1}}) == {}  # no baseline recorded: nothing to judge
