"""The GAN trainer contract (`trainers.base.GANTrainer`) on a toy GAN, with and without replicas."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfxmodal.trainers.base import GANTrainer, average


class ToyGAN(GANTrainer):
    """G: a Dense map; D: a Dense score. One critic and one generator update per step."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, name="g")], name="toy_g")
        self.discriminator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="d")], name="toy_d")

    def networks(self):
        return {"generator": self.generator, "discriminator": self.discriminator}

    def optimized_variables(self):
        return {
            "generator": self.generator.trainable_variables,
            "discriminator": self.discriminator.trainable_variables,
        }

    def loss_names(self):
        return ["d_loss", "g_loss"]

    def train_step(self, data):
        real, noise = data["real"], data["noise"]
        with tf.GradientTape() as tape:
            d_loss = average(
                tf.nn.relu(1 - self.discriminator(real)[:, 0])
                + tf.nn.relu(1 + self.discriminator(self.generator(noise))[:, 0])
            )
        self.apply_gradients("discriminator", tape, d_loss, self.discriminator.trainable_variables)
        with tf.GradientTape() as tape:
            g_loss = average(-self.discriminator(self.generator(noise))[:, 0])
        self.apply_gradients("generator", tape, g_loss, self.generator.trainable_variables)
        self.track("d_loss", d_loss)
        self.track("g_loss", g_loss)
        return self.results()


def batches():
    rng = np.random.default_rng(0)
    rows = {"real": rng.normal(3, 1, (8, 2)).astype("float32"), "noise": rng.normal(size=(8, 2)).astype("float32")}
    return tf.data.Dataset.from_tensor_slices(rows).repeat().batch(4, drop_remainder=True)


def expected_first_step(gan, batch):
    """The logged values of one step, by hand: global-batch means, and D's gradient norm before its update."""
    real, noise = batch["real"], batch["noise"]
    with tf.GradientTape() as tape:
        d = tf.reduce_mean(
            tf.nn.relu(1 - gan.discriminator(real)[:, 0])
            + tf.nn.relu(1 + gan.discriminator(gan.generator(noise))[:, 0])
        )
    norm = tf.linalg.global_norm(tape.gradient(d, gan.discriminator.trainable_variables))
    return float(d), float(norm)


@pytest.mark.parametrize("replicas", [1, 2])
def test_losses_and_gradient_norms_are_global_batch_means_with_any_replica_count(replicas, two_cpu_strategy):
    strategy = two_cpu_strategy if replicas == 2 else tf.distribute.get_strategy()
    with strategy.scope():
        gan = ToyGAN()
        gan.compile({"generator": keras.optimizers.SGD(0.1), "discriminator": keras.optimizers.SGD(0.1)})
    first = next(iter(batches()))
    d_loss, d_norm = expected_first_step(gan, first)
    history = gan.fit(batches(), steps_per_epoch=1, epochs=1, verbose=0)
    logs = {key: values[-1] for key, values in history.history.items()}
    assert set(logs) == {"d_loss", "g_loss", "grad_norm_generator", "grad_norm_discriminator"}
    assert logs["d_loss"] == pytest.approx(d_loss, rel=1e-5)
    # With replicas each holds half the batch: the recorded norm is the mean of the halves' norms,
    # which equals the full batch's here only for one replica.
    if replicas == 1:
        assert logs["grad_norm_discriminator"] == pytest.approx(d_norm, rel=1e-5)
    else:
        assert logs["grad_norm_discriminator"] > 0
    assert int(gan.step_counter.numpy()) == 1


def test_trackables_name_networks_and_optimizers_as_checkpoints_do():
    gan = ToyGAN()
    generator_optimizer, discriminator_optimizer = keras.optimizers.Adam(), keras.optimizers.Adam()
    gan.compile({"generator": generator_optimizer, "discriminator": discriminator_optimizer})
    assert gan.trackables() == {
        "generator": gan.generator,
        "discriminator": gan.discriminator,
        "generator_optimizer": generator_optimizer,
        "discriminator_optimizer": discriminator_optimizer,
    }
    assert gan.named_optimizers() == {"generator": generator_optimizer, "discriminator": discriminator_optimizer}
    assert gan.optimizer_named("discriminator") is discriminator_optimizer
    assert len(generator_optimizer.variables) > 1  # built in compile, inside the caller's scope
    assert [m.name for m in gan.metrics] == ["d_loss", "g_loss", "grad_norm_generator", "grad_norm_discriminator"]


def test_compile_names_the_optimizers_it_expects():
    with pytest.raises(
        ValueError, match=r"ToyGAN.compile: expected optimizers \['discriminator', 'generator'\], got \['generator'\]"
    ):
        ToyGAN().compile({"generator": keras.optimizers.Adam()})
