"""One distributed CAR-GAN training step of the full model and each ablation (2 logical CPU devices).

C is a small frozen convolutional classifier here: the trainer treats C as
any image → logits model, and ResNet-50 itself is exercised by the task
tests. Every network is real; nothing is mocked.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfxmodal.models import CARGenerator, PatchGANDiscriminator, UNetGenerator
from tfxmodal.tasks.car_gan import ABLATIONS
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


def build_trainer(attention, residue, second_stage, classification):
    def generator(seed):
        return UNetGenerator(base_filters=2, num_downs=5, attention=attention, seed=seed)

    cascade = CARGenerator(
        generator(0),
        make_classifier(),
        generator(1) if second_stage else None,
        residue=residue,
        num_classes=NUM_CLASSES,
    )
    cascade.build((None, SIZE, SIZE, 1))
    discriminator = PatchGANDiscriminator(base_filters=2, attention=attention, seed=2)
    discriminator.build((None, SIZE, SIZE, 1), (None, SIZE, SIZE, 3))
    trainer = CARGANTrainer(cascade, discriminator, LossWeights(classification=classification))
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
