"""Exports of networks trained under train.precision: mixed_bfloat16 stay float32 at every input and output."""

import numpy as np
import pytest
import tensorflow as tf
from skimage.data import lfw_subset

from tfxmodal.car_gan.config import CARGANConfig
from tfxmodal.car_gan.networks import build_networks, make_classifier
from tfxmodal.config import parse
from tfxmodal.export.car_gan import export_car_gan
from tfxmodal.export.face2music import export_face2music
from tfxmodal.models import EigenfaceEmbedder, WaveGANGenerator
from tfxmodal.trainers.car_gan import CARGANTrainer
from tfxmodal.utils.precision import precision_scope

pytestmark = pytest.mark.slow  # two SavedModels written and loaded


def float_specs(structure):
    return [spec.dtype for spec in tf.nest.flatten(structure) if spec.dtype.is_floating]


def test_a_bfloat16_face2music_generator_exports_float32_signatures(tmp_path):
    faces = (lfw_subset()[:40, ..., None].repeat(3, -1) * 255).astype("uint8")
    embedder = EigenfaceEmbedder(num_components=8)
    embedder.build()
    embedder.fit_faces(faces)
    with precision_scope("mixed_bfloat16"):
        generator = WaveGANGenerator(2, name="generator")
    generator.build((None, 512))
    assert generator.upconvs[0].compute_dtype == "bfloat16" and generator.upconvs[0].kernel.dtype == "float32"
    loaded = tf.saved_model.load(export_face2music(embedder, generator, str(tmp_path / "f2m")))
    for name, signature in loaded.signatures.items():
        _, inputs = signature.structured_input_signature
        assert all(dtype != tf.bfloat16 for dtype in float_specs(inputs)), name
        assert all(dtype == tf.float32 for dtype in float_specs(signature.structured_outputs)), name
    embeddings = np.asarray(embedder(faces[:2].astype("float32")))
    served = loaded.signatures["embedding"](embedding=tf.constant(embeddings), pitch=tf.constant([60, 48]))
    direct = np.asarray(generator(embeddings, np.array([36, 24]), training=False))[..., 0]
    np.testing.assert_allclose(served["waveform"].numpy(), direct, atol=2e-3)  # pitch 60 is class 36


def test_a_bfloat16_car_gan_trains_a_step_and_exports_float32(tmp_path):
    config = parse(
        CARGANConfig,
        {
            "task": "car_gan",
            "data": {"image_size": 32},
            "model": {"generator_filters": 2, "discriminator_filters": 2},
            "train": {"precision": "mixed_bfloat16"},
        },
    )
    classifier = make_classifier(config)
    with precision_scope(config.train.precision):
        cascade, discriminator = build_networks(config, classifier)
    assert cascade.g1.compute_dtype == "bfloat16" and classifier.compute_dtype == "float32"
    trainer = CARGANTrainer(cascade, discriminator, config.loss)
    trainer.compile({name: tf.keras.optimizers.Adam(8e-4) for name in ("generator", "discriminator")})
    rng = np.random.default_rng(0)
    batch = {
        "lms": tf.constant(rng.normal(size=(2, 32, 32, 1)).astype("float32")),
        "image": tf.constant(rng.uniform(-1, 1, (2, 32, 32, 3)).astype("float32")),
        "label": tf.constant([1, 7], tf.int32),
    }
    logs = {key: float(value) for key, value in tf.function(trainer.train_step)(batch).items()}
    assert all(np.isfinite(value) for value in logs.values()), logs
    outputs = cascade(batch["lms"], batch["label"], training=False)
    assert all(value.dtype == "float32" for value in outputs.values())
    loaded = tf.saved_model.load(export_car_gan(cascade, 32, str(tmp_path / "car_gan")))
    for name, signature in loaded.signatures.items():
        _, inputs = signature.structured_input_signature
        assert all(dtype == tf.float32 for dtype in float_specs(inputs)), name
        assert all(dtype == tf.float32 for dtype in float_specs(signature.structured_outputs)), name
