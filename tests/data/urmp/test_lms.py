"""The LMS conversion: a fixed affine image of the log-mel spectrogram; chunk lengths fitted."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tests.support.urmp_trees import sine
from tfxmodal.audio.features import log_mel_spectrogram
from tfxmodal.data.urmp.lms import (
    LMS_CENTRE,
    LMS_HALF_RANGE,
    LMS_SILENCE,
    denormalise_lms,
    fit_length,
    lms_image,
    normalise_lms,
)


def test_lms_is_the_fixed_affine_image_of_log_mel(tree):
    audio = sine(440.0, 0.5)
    picture = lms_image(tf.constant(audio), 118).numpy()[..., 0]
    lms = log_mel_spectrogram(audio).numpy()  # (118 frames, 128 mels)
    expected = tf.image.resize(
        ((lms.T[::-1] - LMS_CENTRE) / LMS_HALF_RANGE)[..., None],
        [118, 118],
        antialias=True,
    ).numpy()[..., 0]
    np.testing.assert_allclose(picture, expected, atol=1e-5)
    assert pytest.approx(math.log(1e-6)) == LMS_SILENCE
    silent = lms_image(tf.zeros([8000]), 16).numpy()
    np.testing.assert_allclose(silent, -1.0, atol=1e-6)  # digital silence is exactly -1
    np.testing.assert_allclose(denormalise_lms(normalise_lms(lms)), lms, atol=1e-4)
    # No per-example normalisation: 10x the amplitude lifts the loud bands by
    # log(10) / LMS_HALF_RANGE, and a full-scale tone stays near +1.
    loud = lms_image(tf.constant(sine(440.0, 0.9)), 64).numpy()
    quiet = lms_image(tf.constant(sine(440.0, 0.09)), 64).numpy()
    assert loud.max() - quiet.max() == pytest.approx(math.log(10) / LMS_HALF_RANGE, abs=0.01)
    assert 0.5 < loud.max() < 1.05


def test_fit_length_crops_and_pads():
    np.testing.assert_array_equal(fit_length(tf.range(5.0), 3).numpy(), [0, 1, 2])
    np.testing.assert_array_equal(fit_length(tf.range(2.0), 4).numpy(), [0, 1, 0, 0])
