"""utils.tracing: one traced graph per model, equal to the eager call, kept off the model."""

import numpy as np
import tensorflow as tf

from tfxmodal.models import WaveGANGenerator
from tfxmodal.utils.tracing import TRACE_FROM_PARAMETERS, infer, traced


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
