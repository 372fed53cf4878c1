import h5py
import keras
import numpy as np
import pytest
import skimage.data
import tensorflow as tf
from sklearn.decomposition import PCA

from tfxmodal.errors import WeightsFileError
from tfxmodal.face2music.config import FaceData, FaceEmbedderSpec
from tfxmodal.face2music.data import fit_face_embedder, make_face_embedder
from tfxmodal.models import EigenfaceEmbedder, FaceEmbedder
from tfxmodal.models.face_embedder import StreamingPCA, embed, keras_layer_name, read_vggface_h5
from tfxmodal.utils.tracing import traced


def lfw_faces_rgb():
    faces = skimage.data.lfw_subset()[:100]
    return np.repeat((faces * 255.0)[..., None], 3, axis=-1).astype("float32")


def write_vggface_h5(path, backbone, skip=None, seed=0):
    """Writes random weights in the keras-vggface (Keras 2) h5 layout: '/' in names."""
    rng = np.random.RandomState(seed)
    written = {}
    with h5py.File(path, "w") as handle:
        names = []
        for layer in backbone.layers:
            if not layer.weights:
                continue
            original = layer.name.replace("_bn", "/bn").replace("conv1_7x7_s2", "conv1/7x7_s2")
            assert keras_layer_name(original) == layer.name
            if original == skip:
                continue
            kinds = ["kernel"] if len(layer.weights) == 1 else ["gamma", "beta", "moving_mean", "moving_variance"]
            group = handle.create_group(original)
            weight_names = []
            for kind, variable in zip(kinds, layer.weights):
                value = rng.uniform(0.5, 1.5, variable.shape).astype("float32")
                group.create_dataset(f"{original}/{kind}:0", data=value)
                weight_names.append(f"{original}/{kind}:0".encode())
                written[(layer.name, kind)] = value
            group.attrs["weight_names"] = weight_names
            names.append(original.encode())
        handle.attrs["layer_names"] = names
    return written


def test_paper_architecture_shapes():
    embedder = FaceEmbedder()
    images = np.random.RandomState(0).uniform(0, 255, (2, 224, 224, 3)).astype("float32")
    embeddings = embedder(images).numpy()
    assert embeddings.shape == (2, 512)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, rtol=1e-5)
    assert embedder.backbone.output_shape == (None, 7, 7, 2048)
    assert embedder.pooled_features(images).shape == (2, 2048)


def test_traced_embedding_equals_the_eager_call_and_traces_at_most_twice():
    """`embed` runs the ResNet-50 as one graph: 10.2 GB eager vs 1.8 GB traced on 64 faces of 224²."""
    embedder = FaceEmbedder(image_size=64)
    images = np.random.RandomState(1).uniform(0, 255, (7, 64, 64, 3)).astype("float32")
    for size in (3, 5, 7):
        np.testing.assert_allclose(embed(embedder, images[:size]), embedder(images[:size]).numpy(), atol=1e-5)
    assert traced(embedder).experimental_get_tracing_count() <= 2
    eigenfaces = EigenfaceEmbedder(num_components=4)
    eigenfaces.fit_faces(lfw_faces_rgb()[:20])
    faces = lfw_faces_rgb()[20:26]
    np.testing.assert_allclose(embed(eigenfaces, faces), eigenfaces(faces).numpy(), atol=1e-6)


def test_vggface2_preprocessing_is_bgr_minus_means():
    rgb = np.array([[[[10.0, 20.0, 30.0]]]], "float32")
    np.testing.assert_allclose(
        FaceEmbedder.preprocess(rgb), [[[[30 - 91.4953, 20 - 103.8827, 10 - 131.0912]]]], rtol=1e-6
    )


def test_loads_keras_vggface_h5_by_name(tmp_path):
    embedder = FaceEmbedder(image_size=64)
    embedder.build((None, 64, 64, 3))
    path = str(tmp_path / "rcmalli_vggface_tf_notop_resnet50.h5")
    written = write_vggface_h5(path, embedder.backbone)
    assert embedder.load_vggface_weights(path) == 106  # 53 convolutions + 53 batch norms
    conv = embedder.backbone.get_layer("conv3_1_1x1_proj")
    np.testing.assert_array_equal(conv.kernel.numpy(), written[("conv3_1_1x1_proj", "kernel")])
    bn = embedder.backbone.get_layer("conv1_7x7_s2_bn")
    np.testing.assert_array_equal(bn.moving_variance.numpy(), written[("conv1_7x7_s2_bn", "moving_variance")])
    assert "conv1/7x7_s2" in read_vggface_h5(path)


def test_weights_file_errors_name_the_problem(tmp_path):
    embedder = FaceEmbedder(image_size=64)
    embedder.build((None, 64, 64, 3))
    with pytest.raises(WeightsFileError, match="no such weights file"):
        embedder.load_vggface_weights(str(tmp_path / "none.h5"))
    partial = str(tmp_path / "partial.h5")
    write_vggface_h5(partial, embedder.backbone, skip="conv4_2_3x3")
    with pytest.raises(WeightsFileError, match="no weights for layer 'conv4_2_3x3'"):
        embedder.load_vggface_weights(partial)
    text = tmp_path / "text.h5"
    text.write_text("not hdf5")
    with pytest.raises(WeightsFileError, match="not an HDF5 weights file"):
        embedder.load_vggface_weights(str(text))


def test_fit_projection_is_pca_of_pooled_features():
    embedder = FaceEmbedder(image_size=32, embedding_dim=512)
    images = np.random.RandomState(1).uniform(0, 255, (12, 32, 32, 3)).astype("float32")
    embedder.fit_projection(images, batch_size=5)
    features = np.asarray(embedder.pooled_features(images), np.float64)
    centred = features - features.mean(axis=0)
    projected = embedder.projection(features.astype("float32")).numpy()
    # PCA coefficients: 11 informative directions, the rest zero; distances preserved.
    assert np.allclose(projected[:, 11:], 0.0, atol=1e-3)
    np.testing.assert_allclose(
        np.linalg.norm(projected[0] - projected[1]), np.linalg.norm(centred[0] - centred[1]), rtol=1e-3
    )


def test_eigenfaces_fitted_on_bundled_faces_match_sklearn_pca():
    faces = lfw_faces_rgb()
    embedder = EigenfaceEmbedder(num_components=16)
    explained = embedder.fit_faces(faces)
    grey = skimage.data.lfw_subset()[:100].reshape(100, -1)
    pca = PCA(n_components=16, svd_solver="full").fit(grey)
    assert explained == pytest.approx(pca.explained_variance_ratio_.sum(), rel=0.02)
    embeddings = embedder(faces).numpy()
    assert embeddings.shape == (100, 512)
    coefficients = pca.transform(grey)
    coefficients /= np.linalg.norm(coefficients, axis=1, keepdims=True)

    def distances(x):
        return np.linalg.norm(x[:, None] - x[None], axis=-1)

    np.testing.assert_allclose(distances(embeddings), distances(coefficients), atol=1e-4)


def test_eigenfaces_are_deterministic_and_refuse_to_run_unfitted():
    faces = lfw_faces_rgb()
    a, b = EigenfaceEmbedder(num_components=8), EigenfaceEmbedder(num_components=8)
    a.fit_faces(faces)
    b.fit_faces(faces)
    np.testing.assert_array_equal(a(faces[:5]), b(faces[:5]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="before fit_faces"):
        EigenfaceEmbedder(num_components=8)(faces[:2])
    with pytest.raises(ValueError, match="cannot give 8 components"):
        EigenfaceEmbedder(num_components=8).fit_faces(faces[:5])


def test_a_weights_file_of_neither_kind_is_named_in_the_error(tmp_path):
    """Not HDF5 at all, or the HDF5 weights of another network: WeightsFileError naming the file."""
    text = tmp_path / "notes.h5"
    text.write_text("not an HDF5 file")
    other = tmp_path / "other.weights.h5"
    dense = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    dense.save_weights(str(other))
    for path in (text, other):
        spec = FaceEmbedderSpec(kind="vggface2_resnet50", weights=str(path), image_size=32)
        with pytest.raises(WeightsFileError, match=f"{path}: neither a keras-vggface ResNet-50 h5"):
            fit_face_embedder(make_face_embedder(spec), spec, FaceData(), seed=0)


@pytest.mark.parametrize("rows", [5, 40])  # fewer rows than columns (kept, SVD) and more (moments, eigh)
def test_streaming_pca_matches_an_svd_of_all_rows(rows):
    data = np.random.default_rng(rows).normal(size=(rows, 12)) * np.linspace(3.0, 0.1, 12)
    pca = StreamingPCA(12)
    for start in range(0, rows, 7):
        pca.add(data[start : start + 7])
    mean, components, explained = pca.fit(4)
    _, singular, vt = np.linalg.svd(data - data.mean(axis=0), full_matrices=False)
    np.testing.assert_allclose(mean, data.mean(axis=0), atol=1e-6)
    np.testing.assert_allclose(np.abs(components.T @ vt[:4].T), np.eye(4), atol=1e-5)  # same directions, any sign
    assert explained == pytest.approx(np.sum(singular[:4] ** 2) / np.sum(singular**2), rel=1e-6)
    with pytest.raises(ValueError, match="12² covariance"):
        big = StreamingPCA(12, max_bytes=100)
        big.add(data[:12] if rows >= 12 else np.ones((12, 12)))
