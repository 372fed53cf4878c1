"""ψ's trainer: the paper's optimizer (Kim et al. 2020, Sec. 5.2)."""

import pytest

from tfxmodal.models import AudioEmbedder
from tfxmodal.trainers.audio_embedder import compile_for_triplets


def test_the_triplet_optimizer_is_the_papers_adam():
    embedder = AudioEmbedder(width=2)
    embedder.build((None, 8192))
    compile_for_triplets(embedder)
    optimizer = embedder.optimizer
    assert float(optimizer.learning_rate) == pytest.approx(2e-4)
    assert (optimizer.beta_1, optimizer.beta_2) == (0.5, 0.999)
