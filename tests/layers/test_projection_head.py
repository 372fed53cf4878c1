import numpy as np
import pytest

from tests.support.harness import run_layer_test
from tfxmodal.layers import ProjectionHead


def make_inputs(batch=4, features=6, seed=0):
    rng = np.random.RandomState(seed)
    return rng.normal(size=(batch, features)).astype("float32"), np.array([0, 3, 1, 3], "int32")[:batch]


def test_matches_numpy_projection():
    h, y = make_inputs()
    head = ProjectionHead(num_classes=4)
    out = head(h, y).numpy()
    w = head.linear.kernel.numpy()
    b = head.linear.bias.numpy()
    table = head.class_embedding.embeddings.numpy()
    expected = h @ w + b + np.sum(table[y] * h, axis=1, keepdims=True)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    assert out.shape == (4, 1)


def test_spectral_norm_normalizes_both_matrices():
    h, y = make_inputs()
    head = ProjectionHead(num_classes=4, spectral_norm=True, power_iterations=5)
    for _ in range(10):
        head(h, y, training=True)
    dense_kernel = head.linear.normalized_kernel().numpy()
    table = head.class_embedding.normalized_kernel().numpy()
    assert np.linalg.svd(dense_kernel, compute_uv=False)[0] == pytest.approx(1.0, rel=0.01)
    assert np.linalg.svd(table, compute_uv=False)[0] == pytest.approx(1.0, rel=0.01)
    expected = h @ dense_kernel + head.linear.layer.bias.numpy() + np.sum(table[y] * h, axis=1, keepdims=True)
    np.testing.assert_allclose(head(h, y, training=False), expected, rtol=1e-4, atol=1e-5)


def test_label_changes_score():
    h, _ = make_inputs()
    head = ProjectionHead(num_classes=4)
    assert not np.allclose(head(h, np.zeros(4, "int32")), head(h, np.full(4, 2, "int32")))


def test_bad_inputs():
    h, y = make_inputs()
    head = ProjectionHead(num_classes=4, name="proj")
    with pytest.raises(ValueError, match="proj: class label out of range"):
        head(h, np.array([0, 1, 2, 4], "int32"))
    with pytest.raises(ValueError, match=r"\(batch, features\)"):
        ProjectionHead(num_classes=4)(h[:, None, :], y)


@pytest.mark.parametrize("spectral_norm", [False, True])
def test_standard_layer_checks(spectral_norm):
    h, y = make_inputs()
    run_layer_test(
        ProjectionHead,
        {"num_classes": 4, "spectral_norm": spectral_norm},
        (h, y),
        expected_output_shape=(4, 1),
        expected_num_trainable_weights=3,
        expected_num_non_trainable_weights=2 if spectral_norm else 0,
    )
