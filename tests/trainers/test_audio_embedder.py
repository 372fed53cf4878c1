"""ψ's training: the paper's optimizer and its stop at convergence (Kim et al. 2020, Sec. 5.2)."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfxmodal.trainers.audio_embedder import ConvergenceStop, compile_for_triplets


def test_the_triplet_optimizer_is_the_papers_adam():
    from tfxmodal.models import AudioEmbedder

    embedder = AudioEmbedder(width=2)
    embedder.build((None, 8192))
    compile_for_triplets(embedder)
    optimizer = embedder.optimizer
    assert float(optimizer.learning_rate) == pytest.approx(2e-4)
    assert (optimizer.beta_1, optimizer.beta_2) == (0.5, 0.999)


def test_convergence_stop_ends_after_patience_checks_without_improvement_and_keeps_the_best_weights():
    """Scores 0.1, 0.3, 0.2, 0.25 with patience 2: best at the 2nd check, stop after the 4th, weights of the 2nd."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    planned, weights_seen = iter([0.1, 0.3, 0.2, 0.25, 0.9, 0.9]), []

    def score(trained):
        weights_seen.append([w.copy() for w in trained.get_weights()])
        return next(planned)

    stop = ConvergenceStop(score, patience=2, log=lambda message: None)
    model.fit(x, y, batch_size=4, epochs=6, verbose=0, callbacks=[stop])
    assert [check["score"] for check in stop.history] == [0.1, 0.3, 0.2, 0.25]
    assert [check["step"] for check in stop.history] == [2, 4, 6, 8] and stop.best_step == 4
    for kept, best in zip(model.get_weights(), weights_seen[1]):
        np.testing.assert_array_equal(kept, best)
    assert not np.allclose(weights_seen[1][0], weights_seen[3][0])  # training did move the weights after


@pytest.mark.slow
def test_psi_stops_at_convergence_on_real_notes_with_its_best_validation_accuracy(mini_nsynth_tiny_dir):
    from tfxmodal.tasks.audio_embedder import nearest_neighbour_family_accuracy, train_audio_embedder
    from tfxmodal.tasks.face2music_config import AudioData, AudioEmbedderSpec

    audio = AudioData(
        source="mini_nsynth", mini_nsynth_config="tiny", data_dir=mini_nsynth_tiny_dir, paper_filter=False
    )
    spec = AudioEmbedderSpec(width=2, steps=12, batch_size=8, validate_every=3, patience=2, validation_examples=20)
    embedder, trained = train_audio_embedder(spec, audio, 0, tf.distribute.get_strategy(), log=lambda message: None)
    checks = trained["validation"]
    assert [check["step"] for check in checks] == [3 * (i + 1) for i in range(len(checks))]
    assert trained["steps"] == checks[-1]["step"] and trained["best_step"] in [check["step"] for check in checks]
    best = max(check["score"] for check in checks)
    assert trained["best_step"] == next(check["step"] for check in checks if check["score"] == best)
    final, _ = nearest_neighbour_family_accuracy(embedder, audio, "valid", 20, 0)
    assert final == pytest.approx(best)  # the kept weights are the best check's
    fixed = dataclasses.replace(spec, validate_every=0, steps=4)
    _, plain = train_audio_embedder(fixed, audio, 0, tf.distribute.get_strategy(), log=lambda message: None)
    assert plain["steps"] == 4 and "validation" not in plain
