"""Can face → music's critic hear the pitch? The WaveGAN critic's trunk trained alone as a pitch classifier.

`evaluation.critic_probe.train_label_probe` on a fresh `WaveGANDiscriminator`
of the run's width (no batch norm) and its pitch head; `tools/critic_probe.py`
runs it on real notes.
"""

import keras
import numpy as np

from tfxmodal.domain import CLIP_SAMPLES, NUM_PITCHES
from tfxmodal.evaluation.critic_probe import train_label_probe
from tfxmodal.models import WaveGANDiscriminator


def wavegan_critic_pitch_probe(width, train, test, steps, batch_size=32, seed=0, **optimizer):
    """`train_label_probe` on a fresh `WaveGANDiscriminator(width)` trunk (no batch norm) and its pitch head.

    Args:
        width: the critic's `d`.
        train, test: `(waveforms (n, 8192), pitch classes (n,))`.
    """
    keras.utils.set_random_seed(seed)
    critic = WaveGANDiscriminator(width, NUM_PITCHES, batch_norm=False, pitch_classifier=True, seed=seed)
    critic.build((None, CLIP_SAMPLES, 1))
    variables = [v for layer in [*critic.convs, critic.pitch_logits] for v in layer.trainable_variables]
    return train_label_probe(
        lambda x, training: critic.features(x[..., None], training=training),
        critic.pitch_logits,
        variables,
        np.asarray(train[0], np.float32),
        np.asarray(train[1], np.int32),
        np.asarray(test[0], np.float32),
        np.asarray(test[1], np.int32),
        steps,
        batch_size=batch_size,
        seed=seed,
        **optimizer,
    )
