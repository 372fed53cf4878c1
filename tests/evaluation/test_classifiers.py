import json

import numpy as np
import pytest
import tensorflow as tf

from tfxmodal.data import nsynth_families
from tfxmodal.evaluation import classifiers
from tfxmodal.tasks.face2music_config import AudioData


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
    from tfxmodal.models import AudioClassifier

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
    messages = []
    classifiers.load_or_train(str(older), audio, fixed, log=messages.append)
    assert not any("training" in message for message in messages)  # loaded, not retrained or refused
