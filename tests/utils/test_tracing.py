"""utils.tracing: one traced graph per model, equal to the eager call, kept off the model."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfxmodal.models import WaveGANGenerator
from tfxmodal.utils.tracing import TRACE_FROM_PARAMETERS, build_optimizer, infer, traced


def test_the_traced_call_equals_the_eager_call_for_every_batch_size_and_traces_at_most_twice():
    generator = WaveGANGenerator(2, spectral_norm=True)
    generator.build((None, 512))
    rng = np.random.default_rng(0)
    embeddings = rng.normal(size=(7, 512)).astype("float32")
    pitches = rng.integers(0, 61, 7).astype("int32")
    for size in (2, 5, 7):
        expected = generator(embeddings[:size], pitches[:size], training=False).numpy()
        got = np.asarray(traced(generator)(embeddings[:size], pitches[:size]))
        assert got.dtype == np.float32 and got.shape == (size, 8192, 1)
        np.testing.assert_allclose(got, expected, atol=1e-6)
    assert traced(generator) is traced(generator)
    assert traced(generator).experimental_get_tracing_count() <= 2
    # Kept outside the model, so a SavedModel tracking it saves no extra function.
    assert not any(isinstance(value, tf.types.experimental.GenericFunction) for value in vars(generator).values())
    np.testing.assert_allclose(infer(generator, embeddings, pitches), expected, atol=1e-6)


def test_infer_traces_only_models_of_the_papers_size():
    small = WaveGANGenerator(2, spectral_norm=True)
    small.build((None, 512))
    assert small.count_params() < TRACE_FROM_PARAMETERS
    z, pitch = np.zeros((1, 512), "float32"), np.zeros((1,), "int32")
    infer(small, z, pitch)
    assert traced(small).experimental_get_tracing_count() == 0  # ran eagerly
    wide = WaveGANGenerator(16, spectral_norm=False)
    wide.build((None, 512))
    assert wide.count_params() >= TRACE_FROM_PARAMETERS
    infer(wide, z, pitch)
    assert traced(wide).experimental_get_tracing_count() == 1


def variables_created_by_fit(prepare):
    """How many variables `fit` creates (inside its traced step) for a small compiled classifier."""
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4)])
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    prepare(model)
    created = []

    def count(next_creator, **kwargs):
        created.append(kwargs.get("name"))
        return next_creator(**kwargs)

    rng = np.random.default_rng(0)
    data = tf.data.Dataset.from_tensor_slices((rng.normal(size=(8, 6)).astype("float32"), np.arange(8) % 4)).batch(4)
    with tf.variable_creator_scope(count):
        history = model.fit(data, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][-1]) and "accuracy" in history.history
    return created


@pytest.mark.parametrize("prepare, creates_variables", [(lambda model: None, True), (build_optimizer, False)])
def test_with_the_optimizer_built_fit_creates_no_variable_so_its_step_is_traced_once(prepare, creates_variables):
    # A tf.function that creates variables on its first call is traced a second time.
    created = variables_created_by_fit(prepare)
    assert bool(created) == creates_variables, created
