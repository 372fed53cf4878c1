"""Can the critic's trunk carry the conditioning? Train it alone as a classifier of the label on real data.

A conditional GAN's critic can only teach the generator a label it can hear
(or see). This probe takes a fresh critic of the run's architecture and
width, puts a linear classifier on its pooled features and trains both on
real examples with cross-entropy alone, no generator: its held-out
accuracy bounds what the critic's features can tell about the label at
this width and budget. A probe far above chance with a GAN still blind to
the label says the adversarial signal, not the critic's capacity, is what
is missing. Each paper puts its own critic under it:
`face2music.critic_probe` (WaveGAN's, on the pitch) and `car_gan.probe`
(PatchGAN's, on the instrument).
"""

import keras
import numpy as np
import tensorflow as tf

from tfxmodal.losses.conditional_gan import label_cross_entropy


def train_label_probe(
    features_fn,
    classifier,
    variables,
    train_inputs,
    train_labels,
    test_inputs,
    test_labels,
    steps,
    batch_size=32,
    learning_rate=2e-4,
    beta_1=0.5,
    seed=0,
):
    """Trains `classifier(features_fn(x))` on `(train_inputs, train_labels)` with Adam; accuracy on both sets.

    Args:
        features_fn: `(inputs, training) -> (batch, features)`, the critic's trunk.
        classifier: a layer `(batch, features) -> (batch, classes)` logits.
        variables: the trainable variables (trunk and classifier).
        train_inputs, test_inputs: arrays `(n, ...)`.
        train_labels, test_labels: int arrays `(n,)`.
        steps: Adam updates, each on a seeded random batch of `batch_size`.

    Returns:
        `{"steps", "train_accuracy", "test_accuracy", "final_loss"}`.
    """
    optimizer = keras.optimizers.Adam(learning_rate, beta_1=beta_1)
    optimizer.build(variables)
    rng = np.random.default_rng(seed)

    @tf.function
    def step(inputs, labels):
        with tf.GradientTape() as tape:
            logits = classifier(features_fn(inputs, True), training=True)
            loss = tf.reduce_mean(label_cross_entropy(labels, logits))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    loss = float("nan")
    for _ in range(int(steps)):
        rows = rng.integers(len(train_inputs), size=batch_size)
        loss = float(step(tf.constant(train_inputs[rows]), tf.constant(train_labels[rows])))

    def accuracy(inputs, labels):
        hits = []
        for start in range(0, len(inputs), 128):
            logits = classifier(features_fn(tf.constant(inputs[start : start + 128]), False), training=False)
            hits.append(np.argmax(np.asarray(logits), axis=1) == labels[start : start + 128])
        return float(np.mean(np.concatenate(hits)))

    return {
        "steps": int(steps),
        "train_accuracy": accuracy(train_inputs, np.asarray(train_labels)),
        "test_accuracy": accuracy(test_inputs, np.asarray(test_labels)),
        "final_loss": loss,
    }
