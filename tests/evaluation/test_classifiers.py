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
