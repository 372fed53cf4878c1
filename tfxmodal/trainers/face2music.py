"""The face-to-music GAN as a `keras.Model` with a custom `train_step`.

One `train_step` is one generator update preceded by `critic_steps`
discriminator updates (Kim et al. 2020, Sec. 5.2: five), each on its own
real batch. Three variants (Table 1):

- `baseline`: hinge GAN on waveforms (D1 only).
- `metric`: + λ · distance-preservation loss (Eq. 4-5).
- `aux`: + the auxiliary discriminator D2 on the audio metric φ (Eq. 7-8),
  the paper's model.

Losses are averaged over the *global* batch (`tf.nn.compute_average_loss`)
because Keras sums gradients over replicas; reported values are unscaled.
"""

import keras
import tensorflow as tf

from tfxmodal.losses import hinge_discriminator_loss, hinge_generator_loss, metric_preservation_loss

VARIANTS = ("baseline", "metric", "aux")


def uses_metric_loss(variant):
    return variant in ("metric", "aux")


def uses_aux_discriminator(variant):
    return variant == "aux"


def _num_replicas():
    return tf.distribute.get_strategy().num_replicas_in_sync


class Face2MusicGAN(keras.Model):
    """Trains generator G, discriminator D1 and (variant `aux`) D2 together.

    Args:
        generator: `WaveGANGenerator`, (embedding, pitch) → waveform.
        discriminator: `WaveGANDiscriminator` D1, (waveform, pitch) → score.
        variant: one of `baseline`, `metric`, `aux`.
        audio_metric: `AudioMetric` φ (frozen); needed by `metric` and `aux`.
        aux_discriminator: `AuxDiscriminator` D2; needed by `aux`.
        critic_steps: discriminator updates per generator update.
        metric_weight: λ of Eq. 5 (10).
        source_stats: `(μx, σx)` of pairwise face-embedding distances.
        target_stats: `(μy, σy)` of pairwise φ distances of real audio.

    Data (one element of the dataset, per-replica batch B):
        `{"audio": (B, K, 8192) float32, "pitch": (B, K) int32 pitch classes,
        "embedding": (B, K + 1, 512) float32}` with K = `critic_steps`:
        column k of audio/pitch/embedding feeds critic step k, the last
        embedding column the generator step. A face is paired with the pitch
        of the real note in the same column — a draw from the target set's
        pitch distribution, as the paper samples pitch at random for faces.
    """

    def __init__(
        self,
        generator,
        discriminator,
        variant="aux",
        audio_metric=None,
        aux_discriminator=None,
        critic_steps=5,
        metric_weight=10.0,
        source_stats=(0.0, 1.0),
        target_stats=(0.0, 1.0),
        **kwargs,
    ):
        super().__init__(**kwargs)
        if variant not in VARIANTS:
            raise ValueError(f"Face2MusicGAN: variant must be one of {VARIANTS}, got {variant!r}")
        if uses_metric_loss(variant) and audio_metric is None:
            raise ValueError(f"Face2MusicGAN: variant {variant!r} needs an audio_metric")
        if uses_aux_discriminator(variant) and aux_discriminator is None:
            raise ValueError("Face2MusicGAN: variant 'aux' needs an aux_discriminator")
        self.generator = generator
        self.discriminator = discriminator
        self.variant = variant
        self.audio_metric = audio_metric
        self.aux_discriminator = aux_discriminator if uses_aux_discriminator(variant) else None
        self.critic_steps = int(critic_steps)
        self.metric_weight = float(metric_weight)
        self.source_stats = tuple(float(v) for v in source_stats)
        self.target_stats = tuple(float(v) for v in target_stats)
        # The wrapper has no call(); its sub-models are built before fit.
        self.built = True

    def compile(
        self,
        generator_optimizer,
        discriminator_optimizer,
        aux_optimizer=None,
        jit_compile=False,
        steps_per_execution=1,
    ):
        """Sets and builds the optimizers (create them inside the strategy scope).

        `super().compile(optimizer=None)`: without it Keras would build an
        unused RMSprop over every variable.
        """
        super().compile(optimizer=None, jit_compile=jit_compile, steps_per_execution=steps_per_execution)
        if uses_aux_discriminator(self.variant) and aux_optimizer is None:
            raise ValueError("Face2MusicGAN.compile: variant 'aux' needs an aux_optimizer")
        self.generator_optimizer = generator_optimizer
        self.discriminator_optimizer = discriminator_optimizer
        self.aux_optimizer = aux_optimizer if self.aux_discriminator is not None else None
        # Built here, in the caller's strategy scope: a first `apply` inside a
        # replica context cannot create the slot variables.
        self.generator_optimizer.build(self.generator.trainable_variables)
        self.discriminator_optimizer.build(self.discriminator.trainable_variables)
        if self.aux_optimizer is not None:
            self.aux_optimizer.build(self.aux_discriminator.trainable_variables)
        names = ["d_loss", "d_real", "d_fake", "g_loss", "g_adversarial"]
        if uses_metric_loss(self.variant):
            names.append("metric_loss")
        if self.aux_discriminator is not None:
            names += ["aux_d_loss", "aux_g_adversarial"]
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}

    @property
    def metrics(self):
        return list(self.trackers.values()) if hasattr(self, "trackers") else []

    def named_optimizers(self):
        """`{name: optimizer}` for logging learning rates."""
        optimizers = {"generator": self.generator_optimizer, "discriminator": self.discriminator_optimizer}
        if self.aux_optimizer is not None:
            optimizers["aux_discriminator"] = self.aux_optimizer
        return optimizers

    def trackables(self):
        """What a checkpoint saves: the trained networks and their optimizers."""
        saved = {
            "generator": self.generator,
            "discriminator": self.discriminator,
            "generator_optimizer": self.generator_optimizer,
            "discriminator_optimizer": self.discriminator_optimizer,
        }
        if self.aux_discriminator is not None:
            saved.update(aux_discriminator=self.aux_discriminator, aux_optimizer=self.aux_optimizer)
        return saved

    def _track(self, name, replica_value):
        """Records a per-replica value that was scaled by 1/replicas."""
        self.trackers[name].update_state(replica_value * _num_replicas())

    def _average(self, per_example):
        return tf.nn.compute_average_loss(per_example)

    def _critic_step(self, real, pitch, embedding):
        fake = self.generator(embedding, pitch, training=True)
        variables = self.discriminator.trainable_variables
        if self.aux_discriminator is not None:
            # φ is frozen and D2's update needs no gradient through it.
            phi_real = self.audio_metric(real)
            phi_fake = self.audio_metric(fake)
            variables = variables + self.aux_discriminator.trainable_variables
        with tf.GradientTape() as tape:
            real_scores = self.discriminator(real, pitch, training=True)
            fake_scores = self.discriminator(fake, pitch, training=True)
            d_loss = self._average(hinge_discriminator_loss(real_scores, fake_scores))
            total = d_loss
            if self.aux_discriminator is not None:
                aux_loss = self._average(
                    hinge_discriminator_loss(
                        self.aux_discriminator(phi_real, training=True),
                        self.aux_discriminator(phi_fake, training=True),
                    )
                )
                total = total + aux_loss
        gradients = tape.gradient(total, variables)
        num_d = len(self.discriminator.trainable_variables)
        self.discriminator_optimizer.apply_gradients(zip(gradients[:num_d], variables[:num_d]))
        # Updated once per critic step: the reported value is their mean.
        self._track("d_loss", d_loss)
        self._track("d_real", self._average(tf.reshape(real_scores, [-1])))
        self._track("d_fake", self._average(tf.reshape(fake_scores, [-1])))
        if self.aux_discriminator is not None:
            self.aux_optimizer.apply_gradients(zip(gradients[num_d:], variables[num_d:]))
            self._track("aux_d_loss", aux_loss)

    def _generator_step(self, pitch, embedding):
        with tf.GradientTape() as tape:
            fake = self.generator(embedding, pitch, training=True)
            adversarial = self._average(
                hinge_generator_loss(self.discriminator(fake, pitch, training=True))
            )
            g_loss = adversarial
            if uses_metric_loss(self.variant):
                phi_fake = self.audio_metric(fake)
                # Pairs exist within a replica's batch; divide so that the sum
                # over replicas is their mean, like the per-example losses.
                metric_loss = (
                    metric_preservation_loss(embedding, phi_fake, self.source_stats, self.target_stats)
                    / _num_replicas()
                )
                g_loss = g_loss + self.metric_weight * metric_loss
            if self.aux_discriminator is not None:
                aux_adversarial = self._average(
                    hinge_generator_loss(self.aux_discriminator(phi_fake, training=True))
                )
                g_loss = g_loss + aux_adversarial
        variables = self.generator.trainable_variables
        self.generator_optimizer.apply_gradients(zip(tape.gradient(g_loss, variables), variables))
        self._track("g_loss", g_loss)
        self._track("g_adversarial", adversarial)
        if uses_metric_loss(self.variant):
            self._track("metric_loss", metric_loss)
        if self.aux_discriminator is not None:
            self._track("aux_g_adversarial", aux_adversarial)

    def train_step(self, data):
        audio, pitch, embedding = data["audio"], data["pitch"], data["embedding"]
        for step in range(self.critic_steps):
            self._critic_step(audio[:, step, :, None], pitch[:, step], embedding[:, step])
        self._generator_step(pitch[:, 0], embedding[:, self.critic_steps])
        return {name: tracker.result() for name, tracker in self.trackers.items()}
