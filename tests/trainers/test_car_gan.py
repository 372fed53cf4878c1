"""One distributed CAR-GAN training step of the full model and each ablation (2 logical CPU devices).

C is a small frozen convolutional classifier here: the trainer treats C as
any image → logits model, and ResNet-50 itself is exercised by the task
tests. Every network is real; nothing is mocked.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfxmodal.car_gan.task import ABLATIONS
from tfxmodal.layers import DiffAugment
from tfxmodal.layers.diff_augment import translate
from tfxmodal.models import CARGenerator, PatchGANDiscriminator, UNetGenerator
from tfxmodal.trainers.car_gan import CARGANTrainer, LossWeights

pytestmark = pytest.mark.slow  # trains a ResNet-50 cascade

NUM_CLASSES = 13
SIZE = 32
GLOBAL_BATCH = 4

# Table I's models as (attention, residue, second stage, classification weight).
VARIANTS = {
    "A": (False, True, True, 1.0),
    "B": (True, True, True, 0.0),
    "C": (True, False, True, 1.0),
    "D": (True, True, False, 1.0),
    "E": (True, True, True, 1.0),
}


def test_variants_here_are_the_tasks_ablations():
    defaults = {"model.attention": True, "model.residue": True, "model.second_stage": True, "loss.classification": 1.0}
    for name, (attention, residue, second, weight) in VARIANTS.items():
        resolved = dict(defaults, **ABLATIONS[name])
        assert resolved == {
            "model.attention": attention,
            "model.residue": residue,
            "model.second_stage": second,
            "loss.classification": weight,
        }, name


def make_classifier():
    classifier = keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 3)),
            keras.layers.Conv2D(8, 3, strides=2),
            keras.layers.BatchNormalization(),  # its moving statistics must not move either
            keras.layers.ReLU(),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(NUM_CLASSES),
        ],
        name="classifier",
    )
    return classifier


def build_trainer(
    attention,
    residue,
    second_stage,
    classification,
    dropout=0.5,
    stage2_sees_lms=False,
    discriminator_labels=False,
    bounded_output=False,
    real_once=False,
    discriminator_first=False,
    augment="",
    mismatched_pairs=0.0,
    classifier_augment="",
):
    def generator(seed):
        return UNetGenerator(base_filters=2, num_downs=5, attention=attention, dropout=dropout, seed=seed)

    cascade = CARGenerator(
        generator(0),
        make_classifier(),
        generator(1) if second_stage else None,
        residue=residue,
        num_classes=NUM_CLASSES,
        stage2_sees_lms=stage2_sees_lms,
    )
    cascade.build((None, SIZE, SIZE, 1))
    discriminator = PatchGANDiscriminator(
        base_filters=2,
        attention=attention,
        seed=2,
        label_channels=NUM_CLASSES if discriminator_labels else 0,
        bounded_output=bounded_output,
    )
    discriminator.build((None, SIZE, SIZE, 1), (None, SIZE, SIZE, 3))
    weights = LossWeights(
        classification=classification, discriminator_real_once=real_once, mismatched_pairs=mismatched_pairs
    )
    trainer = CARGANTrainer(
        cascade,
        discriminator,
        weights,
        discriminator_first=discriminator_first,
        augment=augment,
        augment_seed=7,
        classifier_augment=classifier_augment,
    )
    trainer.compile({name: keras.optimizers.Adam(8e-4, beta_1=0.9) for name in ("generator", "discriminator")})
    return trainer


def batches():
    rng = np.random.RandomState(0)
    rows = {
        "lms": rng.normal(size=(8, SIZE, SIZE, 1)).astype("float32"),
        "image": rng.uniform(-1, 1, (8, SIZE, SIZE, 3)).astype("float32"),
        "label": rng.randint(0, NUM_CLASSES, 8).astype("int32"),
    }
    return tf.data.Dataset.from_tensor_slices(rows).repeat().batch(GLOBAL_BATCH, drop_remainder=True)


def snapshot(variables):
    return [np.array(v) for v in variables]


def moved(before, variables):
    return any(not np.allclose(b, np.array(v)) for b, v in zip(before, variables))


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_one_distributed_step_of_each_ablation(name, two_cpu_strategy):
    attention, residue, second_stage, classification = VARIANTS[name]
    with two_cpu_strategy.scope():
        trainer = build_trainer(attention, residue, second_stage, classification)
    cascade = trainer.cascade
    classifier_before = snapshot(cascade.classifier.weights)  # trainable and BN statistics
    g1_before, d_before = snapshot(cascade.g1.trainable_variables), snapshot(trainer.discriminator.trainable_variables)
    g2_before = snapshot(cascade.g2.trainable_variables) if second_stage else None

    history = trainer.fit(batches(), steps_per_epoch=1, epochs=1, verbose=0)
    logs = {key: values[-1] for key, values in history.history.items()}

    assert all(np.isfinite(value) for value in logs.values()), logs
    stage2_keys = {"d_fake2", "l1_stage2", "ce_stage2", "accuracy_stage2"}
    assert stage2_keys <= set(logs) if second_stage else not stage2_keys & set(logs)
    assert moved(g1_before, cascade.g1.trainable_variables), "G1 did not train"
    assert moved(d_before, trainer.discriminator.trainable_variables), "D did not train"
    if second_stage:
        assert moved(g2_before, cascade.g2.trainable_variables), "G2 did not train"
    else:
        assert cascade.g2 is None
    for before, variable in zip(classifier_before, cascade.classifier.weights):
        np.testing.assert_array_equal(before, np.array(variable), err_msg=f"C changed: {variable.path}")
    assert int(trainer.step_counter.numpy()) == 1
    assert int(trainer.optimizer_named("discriminator").iterations.numpy()) == 1
    assert logs["grad_norm_generator"] > 0 and logs["grad_norm_discriminator"] > 0

    # The reported generator loss is Eq. 6 of the reported parts (one step: exact).
    stages = ("1", "2") if second_stage else ("1",)
    expected = logs["g_adversarial"] + 100.0 * sum(logs[f"l1_stage{s}"] for s in stages)
    expected += classification * 0.5 * sum(logs[f"ce_stage{s}"] for s in stages)
    assert logs["g_loss"] == pytest.approx(expected, rel=1e-4)
    assert 0 <= logs["accuracy_stage1"] <= 1 and 0 < logs["d_real"] < 1


def test_the_classification_loss_reaches_g1_through_c_but_never_changes_c():
    trainer = build_trainer(True, True, True, 1.0)
    cascade = trainer.cascade
    rng = np.random.RandomState(3)
    lms = rng.normal(size=(2, SIZE, SIZE, 1)).astype("float32")
    labels = np.array([1, 8], "int32")
    with tf.GradientTape(persistent=True) as tape:
        outputs = cascade(lms, labels, training=True)
        ce = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, outputs["stage2_logits"]))
    g1_gradients = tape.gradient(ce, cascade.g1.trainable_variables)
    assert any(float(tf.reduce_max(tf.abs(g))) > 0 for g in g1_gradients if g is not None)
    # C is frozen: not among the variables any optimizer of the trainer updates.
    updated = {id(v) for variables in trainer.optimized_variables().values() for v in variables}
    assert not any(id(v) in updated for v in cascade.classifier.weights)
    assert cascade.classifier.trainable_variables == []


def test_residue_gradient_reaches_g1_only_through_l_r_when_g2_ignores_the_image():
    """Stage II's loss depends on G1 through L_r = L_a − softmax(C(I′)): not detached."""
    trainer = build_trainer(False, True, True, 1.0)
    cascade = trainer.cascade
    lms = np.random.RandomState(4).normal(size=(2, SIZE, SIZE, 1)).astype("float32")
    labels = np.array([0, 3], "int32")
    with tf.GradientTape() as tape:
        outputs = cascade(lms, labels, training=True)
        loss = tf.reduce_sum(outputs["condition"] * np.arange(NUM_CLASSES, dtype="float32"))
    gradients = tape.gradient(loss, cascade.g1.trainable_variables)
    assert any(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in gradients)


def one_batch(seed=5):
    rng = np.random.RandomState(seed)
    lms = rng.normal(size=(GLOBAL_BATCH, SIZE, SIZE, 1)).astype("float32")
    real = rng.uniform(-1, 1, (GLOBAL_BATCH, SIZE, SIZE, 3)).astype("float32")
    labels = rng.randint(0, NUM_CLASSES, GLOBAL_BATCH).astype("int32")
    return lms, real, labels


def softplus(x):
    return np.logaddexp(0.0, x)


@pytest.mark.parametrize("real_once", [False, True])
def test_the_discriminator_loss_counts_the_real_term_per_stage_or_once(real_once):
    """The paper's reading ½ Σ_s (real + fake_s) against the authors' ½ (real + Σ_s fake_s), in NumPy."""
    trainer = build_trainer(True, True, True, 1.0, real_once=real_once)
    lms, real, labels = one_batch()
    outputs = trainer.cascade(lms, labels, training=True)
    real_logits = trainer.discriminator(lms, real, training=True).numpy()
    fakes = [trainer.discriminator(lms, outputs[key], training=True).numpy() for key in ("stage1", "stage2")]
    trainer.discriminator_step(tf.constant(lms), tf.constant(real), tf.constant(labels), outputs)

    def per_example(values):
        return values.reshape(GLOBAL_BATCH, -1).mean(axis=1)

    real_term = per_example(softplus(-real_logits))
    fake_terms = [per_example(softplus(fake)) for fake in fakes]
    if real_once:
        expected = 0.5 * (real_term + fake_terms[0] + fake_terms[1])
    else:
        expected = 0.5 * ((real_term + fake_terms[0]) + (real_term + fake_terms[1]))
    assert float(trainer.results()["d_loss"]) == pytest.approx(float(expected.mean()), rel=1e-5)


@pytest.mark.parametrize("discriminator_first", [False, True])
def test_the_generator_is_scored_by_the_discriminator_of_its_order(discriminator_first):
    """D before G (the authors' order): G's adversarial loss comes from the updated D; G first: from the old D."""
    trainer = build_trainer(True, True, True, 1.0, dropout=0.0, discriminator_first=discriminator_first)
    lms, real, labels = one_batch()
    generators = trainer.cascade.g1.weights + trainer.cascade.g2.weights
    g_before, d_before = snapshot(generators), snapshot(trainer.discriminator.weights)
    logs = trainer.train_step({"lms": tf.constant(lms), "image": tf.constant(real), "label": tf.constant(labels)})
    g_after = snapshot(generators)
    for variable, value in zip(generators, g_before):  # the step's fakes again (no dropout; batch statistics)
        variable.assign(value)
    outputs = trainer.cascade(lms, labels, training=True)

    def adversarial():
        return sum(
            float(np.mean(softplus(-trainer.discriminator(lms, outputs[key], training=True).numpy())))
            for key in ("stage1", "stage2")
        )

    with_new_d = adversarial()
    d_after = snapshot(trainer.discriminator.weights)
    for variable, value in zip(trainer.discriminator.weights, d_before):
        variable.assign(value)
    with_old_d = adversarial()
    assert abs(with_new_d - with_old_d) > 1e-4  # D moved enough to tell the orders apart
    expected = with_new_d if discriminator_first else with_old_d
    assert float(logs["g_adversarial"]) == pytest.approx(expected, rel=1e-4)
    assert any(not np.allclose(a, b) for a, b in zip(g_after, g_before))  # G trained in the step
    assert any(not np.allclose(a, b) for a, b in zip(d_after, d_before))


def test_a_label_conditioned_bounded_discriminator_and_a_stage2_that_sees_the_lms():
    trainer = build_trainer(True, True, True, 1.0, stage2_sees_lms=True, discriminator_labels=True, bounded_output=True)
    cascade, discriminator = trainer.cascade, trainer.discriminator
    assert cascade.g2.weights[0].shape[-2] == 3 + 1 + NUM_CLASSES  # G2's first kernel: I′, A and L_r
    assert discriminator.convs[0].kernel.shape[-2] == 1 + 3 + NUM_CLASSES
    lms, real, labels = one_batch()
    onehot = np.eye(NUM_CLASSES, dtype="float32")[labels]
    scores = discriminator(lms, real, label=onehot, training=False).numpy()
    assert np.all(np.abs(scores) < 1)  # tanh
    other = discriminator(lms, real, label=np.roll(onehot, 1, axis=1), training=False).numpy()
    assert not np.allclose(scores, other)  # the label reaches D
    with pytest.raises(ValueError, match="label channels; pass label="):
        discriminator(lms, real, training=False)
    # A reaches I″ directly, not only through I′: G2's gradient w.r.t. its A channel is non-zero.
    lms_variable = tf.Variable(lms)
    with tf.GradientTape() as tape:
        stage2 = cascade(lms_variable, labels, training=False)["stage2"]
    assert float(tf.reduce_max(tf.abs(tape.gradient(stage2, lms_variable)))) > 0
    logs = trainer.train_step({"lms": tf.constant(lms), "image": tf.constant(real), "label": tf.constant(labels)})
    assert all(np.isfinite(float(value)) for value in logs.values())


def test_diff_augment_feeds_d_the_translated_pairs_in_its_step():
    """train.diff_augment (Zhao et al. 2020): D's loss is that of the pairs shifted by the drawn amounts."""
    trainer = build_trainer(True, True, True, 1.0, augment="translation")
    lms, real, labels = one_batch()
    outputs = trainer.cascade(lms, labels, training=True)
    # The same seed draws the same shifts in the same order: the real pair, then the fakes of stages 1 and 2.
    replica = DiffAugment("translation", seed=7)
    shifted = []
    for image in (real, outputs["stage1"].numpy(), outputs["stage2"].numpy()):
        # round(32 / 8) = 4: shifts drawn in [-4, 4], rows first.
        shift_y = replica.generator.uniform([GLOBAL_BATCH], -4, 5, dtype=tf.int32)
        shift_x = replica.generator.uniform([GLOBAL_BATCH], -4, 5, dtype=tf.int32)
        pair = np.concatenate([lms, image], axis=-1)
        moved_pair = translate(tf.constant(pair), shift_y, shift_x).numpy()
        assert np.any(shift_y.numpy() != 0) or np.any(shift_x.numpy() != 0)
        shifted.append(trainer.discriminator(moved_pair[..., :1], moved_pair[..., 1:], training=True).numpy())
    trainer.discriminator_step(tf.constant(lms), tf.constant(real), tf.constant(labels), outputs)

    def per_example(values):
        return values.reshape(GLOBAL_BATCH, -1).mean(axis=1)

    real_term = per_example(softplus(-shifted[0]))
    expected = 0.5 * sum(real_term + per_example(softplus(fake)) for fake in shifted[1:])
    assert float(trainer.results()["d_loss"]) == pytest.approx(float(expected.mean()), rel=1e-5)
    # Without augmentation the loss differs: the shifts changed what D saw.
    plain = 0.5 * sum(
        per_example(softplus(-trainer.discriminator(lms, real, training=True).numpy()))
        + per_example(softplus(trainer.discriminator(lms, outputs[key], training=True).numpy()))
        for key in ("stage1", "stage2")
    )
    assert abs(float(plain.mean()) - float(expected.mean())) > 1e-4


def test_mismatched_pairs_add_real_images_beside_another_instruments_lms_as_fakes():
    """loss.mismatched_pairs (GAN-CLS, Reed et al. 2016): + ½ λ_cG λ_mis softplus(D(A_{i+1}, I_i)) where labels differ."""
    weight = 0.7
    trainer = build_trainer(True, True, False, 1.0, mismatched_pairs=weight)
    lms, real, labels = one_batch()
    labels = np.array([3, 3, 5, 9], np.int32)  # pair 0 (A_1, I_0) shares its instrument: not counted
    outputs = trainer.cascade(lms, labels, training=True)

    def per_example(values):
        return values.reshape(GLOBAL_BATCH, -1).mean(axis=1)

    real_term = per_example(softplus(-trainer.discriminator(lms, real, training=True).numpy()))
    fake_term = per_example(softplus(trainer.discriminator(lms, outputs["stage1"], training=True).numpy()))
    mismatched_logits = trainer.discriminator(np.roll(lms, -1, axis=0), real, training=True).numpy()
    differ = np.array([0.0, 1.0, 1.0, 1.0])
    expected = 0.5 * (real_term + fake_term + weight * differ * per_example(softplus(mismatched_logits)))
    trainer.discriminator_step(tf.constant(lms), tf.constant(real), tf.constant(labels), outputs)  # D moves here
    results = trainer.results()
    assert float(results["d_loss"]) == pytest.approx(float(expected.mean()), rel=1e-5)
    probability = per_example(1 / (1 + np.exp(-mismatched_logits)))
    assert float(results["d_mismatched"]) == pytest.approx(float(probability[1:].mean()), rel=1e-5)
    # The term is what changed the loss: without it, the loss is the paper's.
    assert abs(float(expected.mean()) - float((0.5 * (real_term + fake_term)).mean())) > 1e-3


def test_classifier_augment_scores_c_on_the_translated_fakes_in_l_c():
    """train.classifier_augment: Eq. 2's cross-entropy is C's on I′, I″ shifted by the drawn amounts."""
    trainer = build_trainer(True, True, True, 1.0, classifier_augment="translation")
    lms, real, labels = one_batch()
    outputs = trainer.cascade(lms, labels, training=True)
    replica = DiffAugment("translation", seed=8)  # the trainer's augment_seed + 1
    expected = {}
    for key in ("stage1", "stage2"):
        shift_y = replica.generator.uniform([GLOBAL_BATCH], -4, 5, dtype=tf.int32)
        shift_x = replica.generator.uniform([GLOBAL_BATCH], -4, 5, dtype=tf.int32)
        moved = translate(outputs[key], shift_y, shift_x)
        logits = trainer.cascade.classifier(moved, training=False).numpy().astype(np.float64)
        log_softmax = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
        expected[key] = -log_softmax[np.arange(GLOBAL_BATCH), labels].mean()
        plain = outputs[f"{key}_logits"].numpy().astype(np.float64)
        plain_ce = -(plain - np.logaddexp.reduce(plain, axis=1, keepdims=True))[np.arange(GLOBAL_BATCH), labels].mean()
        assert abs(plain_ce - expected[key]) > 1e-4  # the shifts changed what C saw
    trainer.generator_loss(tf.constant(lms), tf.constant(real), tf.constant(labels), outputs)
    results = trainer.results()
    assert float(results["ce_stage1"]) == pytest.approx(expected["stage1"], rel=1e-5)
    assert float(results["ce_stage2"]) == pytest.approx(expected["stage2"], rel=1e-5)
