"""The face-to-music GAN: a `GANTrainer` whose `train_step` is Kim et al.'s update.

One `train_step` is one generator update preceded by `critic_steps`
discriminator updates (Kim et al. 2020, Sec. 5.2: five), each on its own
real batch. Three variants (Table 1):

- `baseline`: hinge GAN on waveforms (D1 only).
- `metric`: + λ · distance-preservation loss (Eq. 4-5).
- `aux`: + the auxiliary discriminator D2 on the audio metric φ (Eq. 7-8),
  the paper's model.

Besides the losses it reports what tells a learning GAN from a stuck one:
D's mean scores on real and fake notes and how often it is right
(`d_accuracy`: real scored > 0, fake < 0), the gradient norm of every
update, and the share of the generator's loss that is the metric term.
"""

import tensorflow as tf

from tfxmodal.losses import hinge_discriminator_loss, hinge_generator_loss, metric_preservation_loss
from tfxmodal.losses.conditional_gan import label_cross_entropy
from tfxmodal.trainers.base import GANTrainer, average, num_replicas

VARIANTS = ("baseline", "metric", "aux")


def uses_metric_loss(variant):
    return variant in ("metric", "aux")


def uses_aux_discriminator(variant):
    return variant == "aux"


def sign_accuracy(real_scores, fake_scores):
    """Per-example `(batch,)`: half for real scored > 0, half for fake scored < 0."""
    real = tf.cast(tf.reshape(real_scores, [-1]) > 0, tf.float32)
    fake = tf.cast(tf.reshape(fake_scores, [-1]) < 0, tf.float32)
    return 0.5 * (real + fake)


class Face2MusicGAN(GANTrainer):
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
        pitch_classifier_weight: weight of the auxiliary pitch classifier
            (AC-GAN, Odena et al. 2017; GANSynth): D1 also minimises the
            cross-entropy of its pitch logits on real notes, G that of its
            translations at the requested pitch. 0 (the paper): off; > 0
            needs a discriminator built with `pitch_classifier=True`.

    Optimizers (`compile`): `generator`, `discriminator` and, for `aux`,
    `aux` (D2). D1 and D2 are updated from one tape per critic step.

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
        pitch_classifier_weight=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if pitch_classifier_weight > 0 and not getattr(discriminator, "pitch_classifier", False):
            raise ValueError(
                "Face2MusicGAN: pitch_classifier_weight > 0 needs a discriminator with pitch_classifier=True"
            )
        self.pitch_classifier_weight = float(pitch_classifier_weight)
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

    def networks(self):
        networks = {"generator": self.generator, "discriminator": self.discriminator}
        if self.aux_discriminator is not None:
            networks["aux_discriminator"] = self.aux_discriminator
        return networks

    def optimized_variables(self):
        targets = {
            "generator": self.generator.trainable_variables,
            "discriminator": self.discriminator.trainable_variables,
        }
        if self.aux_discriminator is not None:
            targets["aux"] = self.aux_discriminator.trainable_variables
        return targets

    def loss_names(self):
        names = ["d_loss", "d_real", "d_fake", "d_accuracy", "g_loss", "g_adversarial"]
        if uses_metric_loss(self.variant):
            names += ["metric_loss", "metric_share"]
        if self.aux_discriminator is not None:
            names += ["aux_d_loss", "aux_d_accuracy", "aux_g_adversarial"]
        if self.pitch_classifier_weight > 0:
            names += ["d_pitch_loss", "d_pitch_accuracy", "g_pitch_loss", "g_pitch_accuracy"]
        return names

    def _score(self, waveform, pitch):
        """D1's float32 score `(batch, 1)` and, with the pitch classifier, its pitch cross-entropy and hits."""
        if self.pitch_classifier_weight <= 0:
            return tf.cast(self.discriminator(waveform, pitch, training=True), tf.float32), None, None
        score, logits = self.discriminator.score_and_pitch_logits(waveform, pitch, training=True)
        hits = tf.cast(tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int32), tf.cast(pitch, tf.int32)), tf.float32)
        return tf.cast(score, tf.float32), average(label_cross_entropy(pitch, logits)), average(hits)

    def _critic_step(self, real, pitch, embedding):
        fake = self.generator(embedding, pitch, training=True)
        if self.aux_discriminator is not None:
            # φ is frozen and D2's update needs no gradient through it.
            phi_real = self.audio_metric(real)
            phi_fake = self.audio_metric(fake)
        d1_variables = self.discriminator.trainable_variables
        d2_variables = self.aux_discriminator.trainable_variables if self.aux_discriminator is not None else []
        with tf.GradientTape() as tape:
            # The losses in float32 whatever the networks compute in (train.precision).
            real_scores, pitch_loss, pitch_hits = self._score(real, pitch)
            fake_scores = tf.cast(self.discriminator(fake, pitch, training=True), tf.float32)
            d_loss = average(hinge_discriminator_loss(real_scores, fake_scores))
            # `d_loss` reports the hinge alone (its saturation at 0 is the diagnostic); D1 minimises the sum.
            d_total = d_loss if pitch_loss is None else d_loss + self.pitch_classifier_weight * pitch_loss
            if self.aux_discriminator is not None:
                aux_real = tf.cast(self.aux_discriminator(phi_real, training=True), tf.float32)
                aux_fake = tf.cast(self.aux_discriminator(phi_fake, training=True), tf.float32)
                aux_loss = average(hinge_discriminator_loss(aux_real, aux_fake))
        losses = (
            {"discriminator": d_total}
            if self.aux_discriminator is None
            else {"discriminator": d_total, "aux": aux_loss}
        )
        gradients = self.gradients(tape, losses, d1_variables + d2_variables)
        self.apply("discriminator", gradients[: len(d1_variables)], d1_variables)
        # Updated once per critic step: the reported values are their means.
        self.track("d_loss", d_loss)
        self.track("d_real", average(tf.reshape(real_scores, [-1])))
        self.track("d_fake", average(tf.reshape(fake_scores, [-1])))
        self.track("d_accuracy", average(sign_accuracy(real_scores, fake_scores)))
        if pitch_loss is not None:
            self.track("d_pitch_loss", pitch_loss)
            self.track("d_pitch_accuracy", pitch_hits)
        if self.aux_discriminator is not None:
            self.apply("aux", gradients[len(d1_variables) :], d2_variables)
            self.track("aux_d_loss", aux_loss)
            self.track("aux_d_accuracy", average(sign_accuracy(aux_real, aux_fake)))

    def _generator_step(self, pitch, embedding):
        with tf.GradientTape() as tape:
            fake = self.generator(embedding, pitch, training=True)
            fake_scores, pitch_loss, pitch_hits = self._score(fake, pitch)
            adversarial = average(hinge_generator_loss(fake_scores))
            g_loss = adversarial
            if pitch_loss is not None:
                g_loss = g_loss + self.pitch_classifier_weight * pitch_loss
            if uses_metric_loss(self.variant):
                phi_fake = self.audio_metric(fake)
                # Eq. 4 pairs every two examples of the *global* batch, whatever the
                # number of replicas: each replica computes it on the gathered batch,
                # and the 1/replicas makes the summed gradients those of one copy.
                context = tf.distribute.get_replica_context()
                metric_loss = (
                    metric_preservation_loss(
                        context.all_gather(embedding, axis=0),
                        context.all_gather(phi_fake, axis=0),
                        self.source_stats,
                        self.target_stats,
                    )
                    / num_replicas()
                )
                g_loss = g_loss + self.metric_weight * metric_loss
            if self.aux_discriminator is not None:
                aux_adversarial = average(
                    hinge_generator_loss(tf.cast(self.aux_discriminator(phi_fake, training=True), tf.float32))
                )
                g_loss = g_loss + aux_adversarial
        self.apply_gradients("generator", tape, g_loss, self.generator.trainable_variables)
        self.track("g_loss", g_loss)
        self.track("g_adversarial", adversarial)
        if pitch_loss is not None:
            self.track("g_pitch_loss", pitch_loss)
            self.track("g_pitch_accuracy", pitch_hits)
        if uses_metric_loss(self.variant):
            self.track("metric_loss", metric_loss)
            # |λ·L_metric| over the sum of the magnitudes of G's loss terms.
            terms = tf.abs(adversarial) + self.metric_weight * metric_loss
            if self.aux_discriminator is not None:
                terms += tf.abs(aux_adversarial)
            self.track("metric_share", tf.math.divide_no_nan(self.metric_weight * metric_loss, terms) / num_replicas())
        if self.aux_discriminator is not None:
            self.track("aux_g_adversarial", aux_adversarial)

    def train_step(self, data):
        audio, pitch, embedding = data["audio"], data["pitch"], data["embedding"]
        for step in range(self.critic_steps):
            self._critic_step(audio[:, step, :, None], pitch[:, step], embedding[:, step])
        self._generator_step(pitch[:, 0], embedding[:, self.critic_steps])
        return self.results()
