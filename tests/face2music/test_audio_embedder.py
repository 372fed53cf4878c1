"""`task: audio_embedder` and face → music's ψ stage: ψ stops at convergence (Kim et al. 2020, Sec. 5.2)."""

import dataclasses

import pytest
import tensorflow as tf

from tfxmodal.face2music.audio_embedder import nearest_neighbour_family_accuracy, train_audio_embedder
from tfxmodal.face2music.config import AudioData, AudioEmbedderSpec


@pytest.mark.slow
def test_psi_stops_at_convergence_on_real_notes_with_its_best_validation_accuracy(mini_nsynth_tiny_dir):
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
