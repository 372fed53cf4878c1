"""The critic-trunk probe: a fresh critic trained alone on the label of real examples."""

import numpy as np
import pytest

from tfxmodal.face2music.critic_probe import wavegan_critic_pitch_probe


def sines(pitch_classes, rng):
    t = np.arange(8192) / 16000
    f0 = 440 * 2 ** ((np.asarray(pitch_classes) + 24 - 69) / 12)
    return (0.3 * np.sin(2 * np.pi * f0[:, None] * t + rng.uniform(0, 6, (len(f0), 1)))).astype("float32")


def test_the_probe_learns_a_label_the_audio_carries_and_not_one_it_does_not():
    rng = np.random.default_rng(0)
    train_pitch = rng.choice([0, 20, 40, 60], 64)
    test_pitch = rng.choice([0, 20, 40, 60], 32)
    train, test = sines(train_pitch, rng), sines(test_pitch, rng)
    heard = wavegan_critic_pitch_probe(4, (train, train_pitch), (test, test_pitch), steps=80, learning_rate=2e-3)
    assert heard["steps"] == 80 and np.isfinite(heard["final_loss"])
    assert heard["test_accuracy"] >= 0.9, heard
    # Labels drawn independently of the audio: held-out accuracy stays near chance (1/4).
    shuffled = wavegan_critic_pitch_probe(
        4, (train, rng.permutation(train_pitch)), (test, rng.permutation(test_pitch)), steps=80, learning_rate=2e-3
    )
    assert shuffled["test_accuracy"] <= 0.5, shuffled
    assert heard["test_accuracy"] == pytest.approx(
        wavegan_critic_pitch_probe(4, (train, train_pitch), (test, test_pitch), steps=80, learning_rate=2e-3)[
            "test_accuracy"
        ]
    )
