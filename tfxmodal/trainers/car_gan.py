"""CAR-GAN as a `keras.Model` with a custom `train_step` (Duan et al. 2020, Sec. III-D, III-E).

One `train_step` on a batch `{lms A, image I, label}`:

1. forward: I′ = G1(A, L_a), L_r = L_a − softmax(C(I′)), I″ = G2(I′, L_r);
2. generator update (D fixed; one Adam over G1 and G2, as the authors'
   code): the sum of

   - λ_cG · (λ_G1 · −log D(A, I′) + λ_G2 · −log D(A, I″))   (Eq. 3-5, non-saturating)
   - λ_c · (λ_I′ · CE(C(I′), y) + λ_I″ · CE(C(I″), y))       (Eq. 2; C frozen,
     gradients reach the generators through C's input only)
   - λ_L1 · (|I − I′|₁ + |I − I″|₁)                          (Eq. 6)

3. discriminator update (G1, G2 fixed, on the same I′, I″; C plays no
   part — "determined by G1 and G2" only):
   ½ · λ_cG · [λ_G1 (−log D(A, I) − log(1 − D(A, I′))) + λ_G2 (−log D(A, I) − log(1 − D(A, I″)))],
   Eq. 5 with pix2pix's halving of the discriminator's objective.

The paper's order: "we first train G1, G2 with D fixed … and then we train
D with G1 and G2 fixed". Without a second stage (ablation D) the stage-II
terms vanish; with `classification_weight = 0` (ablation B) so does Eq. 2.

Losses are averaged over the global batch (`tf.nn.compute_average_loss`);
reported values are unscaled (×replicas of the per-replica share).
"""

import keras
import tensorflow as tf

from tfxmodal.losses.conditional_gan import (
    fake_log_loss,
    generator_log_loss,
    l1_distance,
    label_cross_entropy,
    real_log_loss,
)


def _num_replicas():
    return tf.distribute.get_strategy().num_replicas_in_sync


def _mean_probability(logits):
    """D's mean probability of "real" over the patches, per example: `(batch,)`."""
    return tf.reduce_mean(tf.reshape(tf.sigmoid(logits), [tf.shape(logits)[0], -1]), axis=1)


class LossWeights:
    """The λs of Eq. 2, 5 and 6 (paper values by default)."""

    def __init__(self, l1=100.0, cgan=1.0, stage1_adversarial=1.0, stage2_adversarial=1.0,
                 classification=1.0, stage1_classification=0.5, stage2_classification=0.5):
        self.l1 = float(l1)
        self.cgan = float(cgan)
        self.stage1_adversarial = float(stage1_adversarial)
        self.stage2_adversarial = float(stage2_adversarial)
        self.classification = float(classification)
        self.stage1_classification = float(stage1_classification)
        self.stage2_classification = float(stage2_classification)

    def as_dict(self):
        return dict(vars(self))


class CARGANTrainer(keras.Model):
    """Trains G1, G2 (through a `CARGenerator`) and the shared discriminator D.

    Args:
        cascade: `CARGenerator` (G1, frozen C, optional G2, residue switch).
        discriminator: `PatchGANDiscriminator`, shared by both stages.
        weights: `LossWeights`.

    Data (one element of the dataset, per-replica batch B):
        `{"lms": (B, S, S, 1), "image": (B, S, S, 3) in [−1, 1], "label": (B,) int32}`
        (other keys are ignored).
    """

    def __init__(self, cascade, discriminator, weights=None, **kwargs):
        super().__init__(**kwargs)
        self.cascade = cascade
        self.discriminator = discriminator
        self.loss_weights = weights or LossWeights()
        # The wrapper has no call(); its sub-models are built before fit.
        self.built = True

    @property
    def generator_variables(self):
        variables = list(self.cascade.g1.trainable_variables)
        if self.cascade.g2 is not None:
            variables += self.cascade.g2.trainable_variables
        return variables

    def compile(self, generator_optimizer, discriminator_optimizer, jit_compile=False, steps_per_execution=1):
        """Sets and builds the optimizers (create them inside the strategy scope).

        `super().compile(optimizer=None)`: without it Keras would build an
        unused RMSprop over every variable.
        """
        super().compile(optimizer=None, jit_compile=jit_compile, steps_per_execution=steps_per_execution)
        self.generator_optimizer = generator_optimizer
        self.discriminator_optimizer = discriminator_optimizer
        # Built here, in the caller's strategy scope: a first `apply` inside a
        # replica context cannot create the slot variables.
        self.generator_optimizer.build(self.generator_variables)
        self.discriminator_optimizer.build(self.discriminator.trainable_variables)
        names = ["d_loss", "d_real", "d_fake1", "g_loss", "g_adversarial", "l1_stage1", "ce_stage1", "accuracy_stage1"]
        if self.cascade.two_stage:
            names[3:3] = ["d_fake2"]
            names += ["l1_stage2", "ce_stage2", "accuracy_stage2"]
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}

    @property
    def metrics(self):
        return list(self.trackers.values()) if hasattr(self, "trackers") else []

    def _track(self, name, replica_value):
        """Records a per-replica value that was scaled by 1/replicas."""
        self.trackers[name].update_state(replica_value * _num_replicas())

    @staticmethod
    def _average(per_example):
        return tf.nn.compute_average_loss(per_example)

    def _accuracy(self, logits, labels):
        hits = tf.cast(tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int32), labels), tf.float32)
        return self._average(hits)

    def train_step(self, data):
        lms, real, labels = data["lms"], data["image"], tf.cast(data["label"], tf.int32)
        w = self.loss_weights
        stages = [("1", "stage1", w.stage1_adversarial, w.stage1_classification)]
        if self.cascade.two_stage:
            stages.append(("2", "stage2", w.stage2_adversarial, w.stage2_classification))

        # Generators, with D fixed (its batch statistics still see the fakes, as in pix2pix).
        with tf.GradientTape() as tape:
            outputs = self.cascade(lms, labels, training=True)
            adversarial = 0.0
            g_loss = 0.0
            for index, key, adversarial_weight, ce_weight in stages:
                fake = outputs[key]
                stage_adversarial = self._average(
                    generator_log_loss(self.discriminator(lms, fake, training=True))
                )
                l1 = self._average(l1_distance(real, fake))
                ce = self._average(label_cross_entropy(labels, outputs[f"{key}_logits"]))
                adversarial += adversarial_weight * stage_adversarial
                g_loss += w.l1 * l1
                if w.classification * ce_weight:
                    g_loss += w.classification * ce_weight * ce
                self._track(f"l1_stage{index}", l1)
                self._track(f"ce_stage{index}", ce)
                self._track(f"accuracy_stage{index}", self._accuracy(outputs[f"{key}_logits"], labels))
            g_loss += w.cgan * adversarial
        variables = self.generator_variables
        self.generator_optimizer.apply_gradients(zip(tape.gradient(g_loss, variables), variables))
        self._track("g_loss", g_loss)
        self._track("g_adversarial", adversarial)

        # Discriminator, with G1 and G2 fixed: the fakes of this step, detached.
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(lms, real, training=True)
            real_term = real_log_loss(real_logits)
            per_example = 0.0
            for index, key, adversarial_weight, _ in stages:
                fake_logits = self.discriminator(lms, tf.stop_gradient(outputs[key]), training=True)
                per_example += adversarial_weight * (real_term + fake_log_loss(fake_logits))
                self._track(f"d_fake{index}", self._average(_mean_probability(fake_logits)))
            d_loss = self._average(0.5 * w.cgan * per_example)
        variables = self.discriminator.trainable_variables
        self.discriminator_optimizer.apply_gradients(zip(tape.gradient(d_loss, variables), variables))
        self._track("d_loss", d_loss)
        self._track("d_real", self._average(_mean_probability(real_logits)))
        return {name: tracker.result() for name, tracker in self.trackers.items()}
