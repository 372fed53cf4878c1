"""Exports as TF Serving reads them: version layout, signatures seen from another process, bad requests.

The networks are small and untrained (the exporters do not care); the
end-to-end task tests export trained ones.
"""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from skimage.data import lfw_subset

from tests.conftest import ROOT, subprocess_env
from tfxmodal.car_gan.config import CARGANConfig
from tfxmodal.car_gan.networks import build_networks, make_classifier
from tfxmodal.config import parse
from tfxmodal.export.car_gan import export_car_gan
from tfxmodal.export.face2music import export_face2music
from tfxmodal.models import EigenfaceEmbedder, WaveGANGenerator

pytestmark = pytest.mark.slow  # exports served from other processes

CLIENT = os.path.join(ROOT, "tests", "support", "serving_client.py")
SAVED_MODEL_CLI = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")


@pytest.fixture(scope="module")
def face2music_models():
    faces = (lfw_subset()[:40, ..., None].repeat(3, -1) * 255).astype("uint8")
    embedder = EigenfaceEmbedder(num_components=8)
    embedder.build()
    embedder.fit_faces(faces)
    generator = WaveGANGenerator(2)
    generator.build((None, 512))
    return embedder, generator, faces


@pytest.fixture(scope="module")
def face2music_export(tmp_path_factory, face2music_models):
    embedder, generator, _ = face2music_models
    base = tmp_path_factory.mktemp("serving") / "face2music"
    first = export_face2music(embedder, generator, str(base))
    second = export_face2music(embedder, generator, str(base))
    return base, first, second


@pytest.fixture(scope="module")
def car_gan_export(tmp_path_factory):
    config = parse(
        CARGANConfig,
        {"task": "car_gan", "data": {"image_size": 32}, "model": {"generator_filters": 2, "discriminator_filters": 2}},
    )
    cascade, _ = build_networks(config, make_classifier(config))
    base = tmp_path_factory.mktemp("serving") / "car_gan"
    return cascade, export_car_gan(cascade, 32, str(base))


def serve_in_another_process(model_dir, requests, tmp_path):
    """Calls the signatures of `requests` ({signature: {input: array}}) in a fresh Python."""
    request_path, response_path = tmp_path / "requests.npz", tmp_path / "responses.npz"
    np.savez(
        request_path, **{f"{sig}:{name}": value for sig, inputs in requests.items() for name, value in inputs.items()}
    )
    result = subprocess.run(
        [sys.executable, CLIENT, str(model_dir), str(request_path), str(response_path)],
        cwd=ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    responses = {}
    with np.load(response_path) as stored:
        for key in stored.files:
            signature, name = key.split(":")
            responses.setdefault(signature, {})[name] = stored[key]
    return responses


def saved_model_cli_inputs(model_dir):
    """`{signature: {input: (dtype, shape)}}` as `saved_model_cli show --all` prints them."""
    result = subprocess.run(
        [SAVED_MODEL_CLI, "show", "--dir", str(model_dir), "--all"],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    signatures = {}
    for block in re.split(r"\nsignature_def\['", result.stdout)[1:]:
        name = block.split("'")[0]
        if name.startswith("__"):  # __saved_model_init_op: TF's own, not a serving signature
            continue
        inputs_text = block.split("The given SavedModel SignatureDef contains the following output(s):")[0]
        signatures[name] = {
            match[0]: (match[1], match[2])
            for match in re.findall(r"inputs\['(\w+)'\] tensor_info:\s+dtype: (\w+)\s+shape: (\([^)]*\))", inputs_text)
        }
    return signatures


def test_versions_are_numbered_and_complete(face2music_export):
    base, first, second = face2music_export
    assert (os.path.basename(first), os.path.basename(second)) == ("1", "2")
    assert sorted(os.listdir(base)) == ["1", "2"]  # no temporary directory is left beside them
    for version in (first, second):
        assert os.path.isfile(os.path.join(version, "saved_model.pb"))
        assert os.path.isfile(os.path.join(version, "variables", "variables.index"))


def test_face2music_signatures_serve_from_another_process(face2music_export, face2music_models, tmp_path):
    _, version, _ = face2music_export
    embedder, generator, faces = face2music_models
    embeddings = np.asarray(embedder(faces[:3].astype("float32")))
    requests = {
        "serving_default": {"images": faces[:3]},
        "translate": {"images": faces[:3], "pitch": np.array([24, 60, 84], np.int32)},
        "embedding": {"embedding": embeddings, "pitch": np.array([24, 60, 84], np.int32)},
    }
    responses = serve_in_another_process(version, requests, tmp_path)

    expected = np.asarray(generator(embeddings, np.array([0, 36, 60]), training=False))[..., 0]
    np.testing.assert_allclose(responses["embedding"]["waveform"], expected, atol=1e-5)
    np.testing.assert_allclose(responses["translate"]["waveform"], expected, atol=1e-4)
    np.testing.assert_allclose(responses["translate"]["embedding"], embeddings, atol=1e-5)
    default = responses["serving_default"]
    assert default["waveform"].shape == (3, 8192) and default["waveform"].dtype == np.float32
    assert default["pitch"].tolist() == [60, 60, 60]
    np.testing.assert_allclose(default["waveform"][1], expected[1], atol=1e-4)  # the same face at pitch 60


def test_car_gan_signatures_serve_from_another_process(car_gan_export, tmp_path):
    cascade, version = car_gan_export
    rng = np.random.default_rng(0)
    lms = rng.uniform(-1, 1, (2, 32, 32, 1)).astype("float32")
    labels = np.array([0, 12], np.int32)
    requests = {
        "serving_default": {"lms": lms, "label": labels},
        "waveform": {"audio": rng.uniform(-0.5, 0.5, (2, 8000)).astype("float32"), "label": labels},
    }
    responses = serve_in_another_process(version, requests, tmp_path)
    outputs = cascade(lms, labels, training=False)
    expected = np.round(np.clip((np.asarray(outputs["image"]) + 1) * 127.5, 0, 255))
    served = responses["serving_default"]
    assert served["image"].dtype == np.uint8 and served["image"].shape == (2, 32, 32, 3)
    assert np.max(np.abs(served["image"].astype(int) - expected)) <= 1
    np.testing.assert_allclose(served["probabilities"].sum(-1), [1, 1], rtol=1e-5)
    assert responses["waveform"]["image"].shape == (2, 32, 32, 3)


def test_saved_model_cli_lists_signatures_inputs_dtypes_and_shapes(face2music_export, car_gan_export):
    _, version, _ = face2music_export
    assert saved_model_cli_inputs(version) == {
        "serving_default": {"images": ("DT_UINT8", "(-1, -1, -1, 3)")},
        "translate": {"images": ("DT_UINT8", "(-1, -1, -1, 3)"), "pitch": ("DT_INT32", "(-1)")},
        "embedding": {"embedding": ("DT_FLOAT", "(-1, 512)"), "pitch": ("DT_INT32", "(-1)")},
    }
    _, version = car_gan_export
    assert saved_model_cli_inputs(version) == {
        "serving_default": {"lms": ("DT_FLOAT", "(-1, 32, 32, 1)"), "label": ("DT_INT32", "(-1)")},
        "waveform": {"audio": ("DT_FLOAT", "(-1, -1)"), "label": ("DT_INT32", "(-1)")},
    }


@pytest.mark.parametrize(
    "signature, inputs, message",
    [
        (
            "serving_default",
            {"images": np.zeros((25, 25, 3), np.uint8)},
            r"input images must have shape \[N, \?, \?, 3\]",
        ),
        (
            "serving_default",
            {"images": np.zeros((2, 25, 25, 4), np.uint8)},
            r"input images must have shape \[N, \?, \?, 3\] \(uint8 RGB faces\)",
        ),
        (
            "serving_default",
            {"images": np.zeros((2, 25, 25, 3), np.float32)},
            r"expected to be a uint8 tensor but is a float tensor",
        ),
        (
            "embedding",
            {"embedding": np.zeros((2, 500), np.float32), "pitch": np.array([60, 60], np.int32)},
            r"input embedding must have shape \[N, 512\]",
        ),
        (
            "embedding",
            {"embedding": np.zeros((2, 512), np.float32), "pitch": np.array([60], np.int32)},
            r"inputs embedding and pitch must have the same batch size",
        ),
        (
            "embedding",
            {"embedding": np.zeros((2, 512), np.float32), "pitch": np.array([60, 99], np.int32)},
            r"pitch must be a MIDI note number in 24..84",
        ),
        (
            "translate",
            {"images": np.zeros((2, 9, 9, 3), np.uint8), "pitch": np.array([60, 60, 60], np.int32)},
            r"inputs images and pitch must have the same batch size",
        ),
        (
            "embedding",
            {"embedding": np.full((2, 512), np.nan, np.float32), "pitch": np.array([60, 60], np.int32)},
            r"input embedding must be finite \(float32 face embeddings\)",
        ),
        (
            "embedding",
            {"embedding": np.eye(2, 512, dtype=np.float32) * np.inf, "pitch": np.array([60, 60], np.int32)},
            r"input embedding must be finite",
        ),
    ],
)
def test_face2music_bad_requests_fail_naming_the_input(face2music_export, signature, inputs, message):
    _, version, _ = face2music_export
    model = tf.saved_model.load(version)
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        model.signatures[signature](**{name: tf.constant(value) for name, value in inputs.items()})


@pytest.mark.parametrize(
    "signature, inputs, message",
    [
        (
            "serving_default",
            {"lms": np.zeros((2, 64, 64, 1), np.float32), "label": np.array([0, 1], np.int32)},
            r"input lms must have shape \[N, 32, 32, 1\]",
        ),
        (
            "serving_default",
            {"lms": np.zeros((2, 32, 32, 1), np.float32), "label": np.array([0, 1, 2], np.int32)},
            r"inputs lms and label must have the same batch size",
        ),
        (
            "serving_default",
            {"lms": np.zeros((2, 32, 32, 1), np.float32), "label": np.array([0, 1], np.int64)},
            r"expected to be a int32 tensor but is a int64 tensor",
        ),
        (
            "waveform",
            {"audio": np.zeros((2, 8000), np.float32), "label": np.array([0], np.int32)},
            r"inputs lms and label must have the same batch size",
        ),
        (
            "waveform",
            {"audio": np.full((1, 8000), np.nan, np.float32), "label": np.array([0], np.int32)},
            r"input audio must be finite",
        ),
        (
            "serving_default",
            {"lms": np.full((1, 32, 32, 1), np.inf, np.float32), "label": np.array([0], np.int32)},
            r"input lms must be finite",
        ),
    ],
)
def test_car_gan_bad_requests_fail_naming_the_input(car_gan_export, signature, inputs, message):
    _, version = car_gan_export
    model = tf.saved_model.load(version)
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        model.signatures[signature](**{name: tf.constant(value) for name, value in inputs.items()})
