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

Switches for the authors' released code (tuffr5/CAR-GAN,
`models/pix2pix_model.py`), all off by default:

- `discriminator_first`: D's update comes first (on the detached fakes of
  the one forward pass), then G's against the updated D;
- `LossWeights.discriminator_real_once`: D's loss is
  ½ · λ_cG · [−log D(A, I) + Σ_s λ_Gs · −log(1 − D(A, I_s))], the real term
  once (the authors' `0.5 · (fake1 + fake2 + real)` at λ = 1) instead of
  once per stage;
- a D built with `label_channels` sees tiled labels: in D's step the
  stage-II condition (L_r; L_a in models C and D), in G's step L_a — the
  authors' `cat_input(…, 2)` and `cat_input(…, 1)`.

A departure from the paper, off by default (`docs/car_gan_conditioning.md`):

- `augment`: a `layers.DiffAugment` (Zhao et al. 2020) applied to every
  (A, image) pair D sees — real and fake, in D's step and in G's — freshly
  drawn per call, the same geometric transform on both halves of a pair;
- a D built with `projection_classes` (Miyato & Koyama 2018) gets the
  audio's one-hot label L_a as its class vector in both steps, for real
  and fake pairs alike;
- `classifier_augment`: L_c scores C on a fresh DiffAugment of I′ and I″
  instead of the images themselves. C is frozen, so the generators can
  satisfy it with perturbations that only C reads (a generator trained on
  L1 + L_c alone reaches 100 % by C and chance by any other classifier,
  docs/car_gan_conditioning.md); a verdict that must hold under shifts
  and cut-outs asks for the shape itself — the transformation robustness
  of feature visualization (Olah, Mordvintsev, Schubert 2017, "Feature
  Visualization", Distill), with DiffAugment's transforms;
- `LossWeights.mismatched_pairs` (GAN-CLS, Reed et al. 2016): D's loss
  adds ½ · λ_cG · λ_mis · −log(1 − D(A_j, I_i)) for each real image I_i
  paired with the LMS A_j of the next example in the batch (j = i + 1
  cyclically), counted where their instruments differ. The paper's D sees
  only matched pairs, so a plausible image of the wrong instrument costs
  the generator nothing; this term makes "does the image match the
  audio?" part of D's question.

Losses are averaged over the global batch (`tf.nn.compute_average_loss`);
reported values are unscaled (×replicas of the per-replica share).
"""

import dataclasses

import tensorflow as tf

from tfxmodal.config import bounded
from tfxmodal.layers.diff_augment import DiffAugment
from tfxmodal.losses.conditional_gan import (
    fake_log_loss,
    generator_log_loss,
    l1_distance,
    label_cross_entropy,
    real_log_loss,
)
from tfxmodal.trainers.base import GANTrainer, average, num_replicas


def _mean_probability(logits):
    """D's mean probability of "real" over the patches, per example: `(batch,)`."""
    return tf.reduce_mean(tf.reshape(tf.sigmoid(logits), [tf.shape(logits)[0], -1]), axis=1)


@dataclasses.dataclass
class LossWeights:
    """The λs of Eq. 2, 5 and 6 (the paper's values by default); the `loss:` section of a car_gan config."""

    l1: float = bounded(100.0, at_least=0)  # λ_L1
    cgan: float = bounded(1.0, at_least=0)  # λ_cG
    stage1_adversarial: float = bounded(1.0, at_least=0)  # λ_G1
    stage2_adversarial: float = bounded(1.0, at_least=0)  # λ_G2
    classification: float = bounded(1.0, at_least=0)  # λ_c (ablation B: 0)
    stage1_classification: float = bounded(0.5, at_least=0)  # λ_I'
    stage2_classification: float = bounded(0.5, at_least=0)  # λ_I''
    # D's real term once, not once per stage (the authors' code; module docstring)
    discriminator_real_once: bool = False
    # Not the paper (docs/car_gan_conditioning.md): the matching-aware discriminator of GAN-CLS (Reed et al.
    # 2016, "Generative Adversarial Text to Image Synthesis"): D also learns to
    # call a real image "fake" beside the LMS of another instrument, with this weight; 0 (the paper): off
    mismatched_pairs: float = bounded(0.0, at_least=0)


class CARGANTrainer(GANTrainer):
    """Trains G1, G2 (through a `CARGenerator`) and the shared discriminator D.

    Args:
        cascade: `CARGenerator` (G1, frozen C, optional G2, residue switch).
        discriminator: `PatchGANDiscriminator`, shared by both stages.
        weights: `LossWeights` (the config's `loss` section).
        discriminator_first: update D before G in each step (the authors'
            order; the paper's is G first).
        augment: DiffAugment policy of D's inputs ("" off, the paper;
            e.g. "translation,cutout"), see the module docstring.
        augment_seed: seed of its random generator.
        classifier_augment: DiffAugment policy of the images C scores in
            L_c (Eq. 2), freshly drawn per call ("" off, the paper); the
            residue L_r still reads C on the plain I′.

    Optimizers (`compile`): `generator` (one Adam over G1 and G2, as the
    authors' code) and `discriminator`.

    Data (one element of the dataset, per-replica batch B):
        `{"lms": (B, S, S, 1), "image": (B, S, S, 3) in [−1, 1], "label": (B,) int32}`
        (other keys are ignored).
    """

    def __init__(
        self,
        cascade,
        discriminator,
        weights=None,
        discriminator_first=False,
        augment="",
        augment_seed=0,
        classifier_augment="",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.cascade = cascade
        self.discriminator = discriminator
        self.loss_weights = weights or LossWeights()
        self.discriminator_first = bool(discriminator_first)
        # Made here, in the strategy scope, as their random generators must be.
        self.augment = DiffAugment(augment, seed=augment_seed)
        self.classifier_augment = DiffAugment(classifier_augment, seed=augment_seed + 1)

    def networks(self):
        networks = {"g1": self.cascade.g1}
        if self.cascade.g2 is not None:
            networks["g2"] = self.cascade.g2
        networks["discriminator"] = self.discriminator
        return networks

    def optimized_variables(self):
        generators = list(self.cascade.g1.trainable_variables)
        if self.cascade.g2 is not None:
            generators += self.cascade.g2.trainable_variables
        return {"generator": generators, "discriminator": self.discriminator.trainable_variables}

    def loss_names(self):
        names = ["d_loss", "d_real", "d_fake1", "g_loss", "g_adversarial", "l1_stage1", "ce_stage1", "accuracy_stage1"]
        if self.cascade.two_stage:
            names[3:3] = ["d_fake2"]
            names += ["l1_stage2", "ce_stage2", "accuracy_stage2"]
        if self.loss_weights.mismatched_pairs:
            names.append("d_mismatched")
        return names

    @staticmethod
    def _accuracy(logits, labels):
        return average(tf.cast(tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int32), labels), tf.float32))

    def _stages(self):
        w = self.loss_weights
        stages = [("1", "stage1", w.stage1_adversarial, w.stage1_classification)]
        if self.cascade.two_stage:
            stages.append(("2", "stage2", w.stage2_adversarial, w.stage2_classification))
        return stages

    def _discriminate(self, lms, image, label, class_label=None):
        if self.augment:
            lms, image = self.augment(lms, image)
        kwargs = {}
        if self.discriminator.label_channels:
            kwargs["label"] = label
        if self.discriminator.projection_classes:
            kwargs["class_label"] = class_label
        return self.discriminator(lms, image, training=True, **kwargs)

    def generator_loss(self, lms, real, labels, outputs):
        """Eq. 2 + 5 + 6 for the generators, D fixed (its batch statistics still see the fakes, as in pix2pix)."""
        w = self.loss_weights
        onehot = tf.one_hot(labels, self.cascade.num_classes, dtype=lms.dtype)
        adversarial = 0.0
        g_loss = 0.0
        for index, key, adversarial_weight, ce_weight in self._stages():
            fake = outputs[key]
            stage_adversarial = average(generator_log_loss(self._discriminate(lms, fake, onehot, onehot)))
            l1 = average(l1_distance(real, fake))
            logits = outputs[f"{key}_logits"]
            if self.classifier_augment:
                logits = self.cascade.classifier(self.classifier_augment.images(fake), training=False)
            ce = average(label_cross_entropy(labels, logits))
            adversarial += adversarial_weight * stage_adversarial
            g_loss += w.l1 * l1
            if w.classification * ce_weight:
                g_loss += w.classification * ce_weight * ce
            self.track(f"l1_stage{index}", l1)
            self.track(f"ce_stage{index}", ce)
            self.track(f"accuracy_stage{index}", self._accuracy(logits, labels))
        g_loss += w.cgan * adversarial
        self.track("g_loss", g_loss)
        self.track("g_adversarial", adversarial)
        return g_loss

    def discriminator_step(self, lms, real, labels, outputs):
        """D's update with G1 and G2 fixed: the fakes of this step, detached."""
        w = self.loss_weights
        # The authors' D sees the stage-II condition in its own step (L_a where there is none).
        condition = outputs.get("condition")
        if condition is None:
            condition = tf.one_hot(labels, self.cascade.num_classes, dtype=lms.dtype)
        condition = tf.stop_gradient(condition)
        onehot = tf.one_hot(labels, self.cascade.num_classes, dtype=lms.dtype)  # the projection's y: L_a
        with tf.GradientTape() as tape:
            real_logits = self._discriminate(lms, real, condition, onehot)
            real_term = real_log_loss(real_logits)
            per_example = real_term if w.discriminator_real_once else 0.0
            for index, key, adversarial_weight, _ in self._stages():
                fake_logits = self._discriminate(lms, tf.stop_gradient(outputs[key]), condition, onehot)
                fake_term = fake_log_loss(fake_logits)
                if w.discriminator_real_once:
                    per_example += adversarial_weight * fake_term
                else:
                    per_example += adversarial_weight * (real_term + fake_term)
                self.track(f"d_fake{index}", average(_mean_probability(fake_logits)))
            if w.mismatched_pairs:
                per_example += w.mismatched_pairs * self._mismatched_pairs_term(lms, real, labels, condition)
            d_loss = average(0.5 * w.cgan * per_example)
        self.apply_gradients("discriminator", tape, d_loss, self.discriminator.trainable_variables)
        self.track("d_loss", d_loss)
        self.track("d_real", average(_mean_probability(real_logits)))

    def _mismatched_pairs_term(self, lms, real, labels, condition):
        """`(batch,)`: −log(1 − D(A_{i+1}, I_i)) where the two instruments differ, else 0 (GAN-CLS)."""
        other = tf.roll(labels, shift=-1, axis=0)
        logits = self._discriminate(
            tf.roll(lms, shift=-1, axis=0),
            real,
            tf.roll(condition, shift=-1, axis=0),
            tf.one_hot(other, self.cascade.num_classes, dtype=lms.dtype),
        )
        differ = tf.cast(tf.not_equal(other, labels), tf.float32)
        # D's mean probability on this replica's mismatched pairs (the per-replica mean, as `track` expects it scaled).
        mismatched = tf.math.divide_no_nan(tf.reduce_sum(differ * _mean_probability(logits)), tf.reduce_sum(differ))
        self.track("d_mismatched", mismatched / num_replicas())
        return differ * fake_log_loss(logits)

    def train_step(self, data):
        lms, real, labels = data["lms"], data["image"], tf.cast(data["label"], tf.int32)
        with tf.GradientTape() as tape:
            outputs = self.cascade(lms, labels, training=True)
            if self.discriminator_first:
                with tape.stop_recording():
                    self.discriminator_step(lms, real, labels, outputs)
            g_loss = self.generator_loss(lms, real, labels, outputs)
        self.apply_gradients("generator", tape, g_loss, self.optimized_variables()["generator"])
        if not self.discriminator_first:
            self.discriminator_step(lms, real, labels, outputs)
        return self.results()
