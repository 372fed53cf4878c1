"""CAR-GAN's networks: U-Net generators, PatchGAN, classifier C and the residue cascade."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.support.harness import run_layer_test
from tfxmodal.models import CARGenerator, ImageClassifier, PatchGANDiscriminator, UNetGenerator
from tfxmodal.models.car_gan import residue_label, tile_label
from tfxmodal.trainers.checkpoints import RunCheckpoints

PAPER_SIZE = 256
NUM_CLASSES = 13


def conv_layers(model):
    """Every plain `Conv2D` in `model` (not the transposed ones)."""
    return [layer for layer in model._flatten_layers() if type(layer) is keras.layers.Conv2D]


def record_attention_inputs(model):
    """Makes each attention block of `model` append its input shape to the returned list."""
    seen = []
    for block in model.attention_blocks:
        original = block.call

        def probe(x, original=original, name=block.name):
            seen.append((name, tuple(x.shape)))
            return original(x)

        block.call = probe
    return seen


# -- paper-size shapes -------------------------------------------------------


@pytest.fixture(scope="module")
def paper_g1():
    g1 = UNetGenerator(base_filters=64, num_downs=8, name="g1")
    g1.build((None, PAPER_SIZE, PAPER_SIZE, 1 + NUM_CLASSES))
    return g1


def test_g1_at_the_paper_size(paper_g1):
    x = np.random.RandomState(0).normal(size=(1, PAPER_SIZE, PAPER_SIZE, 1 + NUM_CLASSES)).astype("float32")
    seen = record_attention_inputs(paper_g1)
    out = paper_g1(x, training=False)
    assert out.shape == (1, PAPER_SIZE, PAPER_SIZE, 3)
    assert np.all(np.abs(out) < 1)  # tanh
    # Attention before the last two convolutions: on the 64x64x128 and 128x128x64 decoder maps.
    assert seen == [("up1_attention", (1, 64, 64, 128)), ("up0_attention", (1, 128, 128, 64))]
    # Counted with batch-norm moving statistics (PyTorch would leave those out).
    assert paper_g1.count_params() == 54_466_661
    # 4x4 stride-2 convolutions only (down and up), 8 levels: 256 -> 1 -> 256.
    convs = paper_g1.down_convs + paper_g1.up_convs + [paper_g1.output_conv]
    assert len(convs) == 16 and len(conv_layers(paper_g1)) == 8 + 3 * 2  # + attention's 1x1 convs
    assert all(layer.kernel_size == (4, 4) and layer.strides == (2, 2) for layer in convs)
    assert [layer.filters for layer in paper_g1.down_convs] == [64, 128, 256, 512, 512, 512, 512, 512]
    assert [block.query_conv.filters for block in paper_g1.attention_blocks] == [32, 16]  # C // 4
    assert all(block.downsample_keys for block in paper_g1.attention_blocks)
    assert paper_g1.dropout_levels == (3, 4, 5)  # pix2pix: the three inner 8ngf levels
    assert len(paper_g1.down_norms) == 6 and len(paper_g1.up_norms) == 7  # batch norm


def test_g2_and_the_unattended_ablation_at_the_paper_size(paper_g1):
    g2 = UNetGenerator(base_filters=64, num_downs=8)
    g2.build((None, PAPER_SIZE, PAPER_SIZE, 3 + NUM_CLASSES))
    # Only the first convolution sees the 2 extra input channels: 2 x 16 x 64 weights.
    assert g2.count_params() - paper_g1.count_params() == 2 * 16 * 64
    plain = UNetGenerator(base_filters=64, num_downs=8, attention=False)
    plain.build((None, PAPER_SIZE, PAPER_SIZE, 1 + NUM_CLASSES))
    assert plain.attention_blocks == []
    # Each attention block: q, k (C -> C/4), v (C -> C) 1x1 convs with biases, and gamma.
    attention = sum(c * (c // 4) * 2 + 2 * (c // 4) + c * c + c + 1 for c in (128, 64))
    assert paper_g1.count_params() - plain.count_params() == attention


def test_discriminator_at_the_paper_size():
    d = PatchGANDiscriminator(base_filters=64, num_layers=3)
    d.build((None, PAPER_SIZE, PAPER_SIZE, 1), (None, PAPER_SIZE, PAPER_SIZE, 3))
    rng = np.random.RandomState(0)
    seen = record_attention_inputs(d)
    logits = d(
        rng.normal(size=(1, 256, 256, 1)).astype("float32"), rng.uniform(-1, 1, (1, 256, 256, 3)).astype("float32")
    )
    assert logits.shape == (1, 30, 30, 1)  # pix2pix's 70x70 PatchGAN on 256x256
    assert d.compute_output_shape((1, 256, 256, 1)) == (1, 30, 30, 1)
    assert [layer.filters for layer in d.convs] == [64, 128, 256, 512]
    assert [layer.strides for layer in d.convs] == [(2, 2)] * 3 + [(1, 1)]
    assert all(layer.kernel_size == (4, 4) for layer in [*d.convs, d.output_conv])
    assert d.convs[0].kernel.shape[-2] == 4  # (LMS, image) pairs: 1 + 3 channels
    assert seen == [("conv1_attention", (1, 64, 64, 128)), ("conv2_attention", (1, 32, 32, 256))]
    # pix2pix's basic D on 4 channels (2,767,553 weights) + 896 BN statistics + the attention blocks.
    assert d.count_params() == 2_891_907


def test_classifier_at_the_paper_size():
    classifier = ImageClassifier(NUM_CLASSES, PAPER_SIZE)
    classifier.build((None, PAPER_SIZE, PAPER_SIZE, 3))
    images = np.random.RandomState(0).uniform(-1, 1, (2, PAPER_SIZE, PAPER_SIZE, 3)).astype("float32")
    assert classifier(images, training=False).shape == (2, NUM_CLASSES)
    assert classifier.features(images, training=False).shape == (2, 2048)
    # ResNet-50 (23,587,712 parameters without its top) + Dense(2048 -> 13).
    assert classifier.count_params() == 23_587_712 + 2048 * 13 + 13


def test_classifier_preprocessing_is_imagenet_caffe_mode():
    classifier = ImageClassifier(NUM_CLASSES, 32)
    image = np.zeros((1, 1, 1, 3), "float32")
    image[..., 0] = 1.0  # red = 255
    image[..., 2] = -1.0  # blue = 0
    got = np.asarray(classifier.preprocess(image))[0, 0, 0]
    np.testing.assert_allclose(got, [0 - 103.939, 127.5 - 116.779, 255 - 123.68], rtol=1e-6)  # BGR


# -- small-size behaviour ------------------------------------------------------


def test_unet_layer_contract():
    x = np.random.RandomState(0).normal(size=(2, 32, 32, 5)).astype("float32")
    run_layer_test(
        UNetGenerator,
        {"output_channels": 3, "base_filters": 2, "num_downs": 5, "dropout": 0.5, "seed": 1},
        x,
        (2, 32, 32, 3),
    )


def test_patchgan_layer_contract():
    rng = np.random.RandomState(0)
    lms, image = rng.normal(size=(2, 32, 32, 1)).astype("float32"), rng.uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    run_layer_test(PatchGANDiscriminator, {"base_filters": 2, "num_layers": 3, "seed": 1}, (lms, image), (2, 2, 2, 1))


def test_unet_rejects_sizes_it_cannot_halve_to_its_depth():
    with pytest.raises(ValueError, match="multiples of 32"):
        UNetGenerator(num_downs=5).build((None, 48, 48, 3))
    with pytest.raises(ValueError, match="num_downs must be >= 5"):
        UNetGenerator(num_downs=4)


def test_weights_start_from_normal_0_002():
    g = UNetGenerator(base_filters=32, num_downs=5, seed=3)
    g.build((None, 32, 32, 3))
    kernel = np.asarray(g.down_convs[3].kernel)  # 4 x 4 x 128 x 256
    assert abs(kernel.mean()) < 1e-3 and kernel.std() == pytest.approx(0.02, rel=0.02)
    gamma = np.asarray(g.up_norms[0].gamma)
    assert gamma.mean() == pytest.approx(1.0, abs=0.01) and 0.01 < gamma.std() < 0.03


# -- residue module ------------------------------------------------------------


def numpy_softmax(logits):
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def small_classifier():
    classifier = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            keras.layers.Conv2D(4, 3, strides=4),
            keras.layers.Flatten(),
            keras.layers.Dense(NUM_CLASSES),
        ]
    )
    return classifier


def small_cascade(residue=True, second_stage=True, classifier=None):
    g1 = UNetGenerator(base_filters=2, num_downs=5, seed=0)
    g2 = UNetGenerator(base_filters=2, num_downs=5, seed=1) if second_stage else None
    cascade = CARGenerator(g1, classifier or small_classifier(), g2, residue=residue, num_classes=NUM_CLASSES)
    cascade.build((None, 32, 32, 1))
    return cascade


def test_residue_label_equals_numpy():
    rng = np.random.RandomState(0)
    labels = np.array([0, 5, 12, 5])
    logits = rng.normal(scale=3, size=(4, NUM_CLASSES)).astype("float32")
    expected = np.eye(NUM_CLASSES)[labels] - numpy_softmax(logits)
    got = residue_label(np.eye(NUM_CLASSES, dtype="float32")[labels], logits)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert np.allclose(np.asarray(got).sum(axis=1), 0, atol=1e-5)  # one-hot minus a distribution


def test_cascade_feeds_g2_the_residue_of_c_on_the_coarse_image():
    rng = np.random.RandomState(1)
    lms = rng.normal(size=(3, 32, 32, 1)).astype("float32")
    labels = np.array([2, 7, 11], "int32")
    cascade = small_cascade()
    out = cascade(lms, labels, training=False)
    c_logits = np.asarray(cascade.classifier(out["stage1"], training=False))
    np.testing.assert_allclose(out["stage1_logits"], c_logits, rtol=1e-5, atol=1e-6)
    expected = np.eye(NUM_CLASSES)[labels] - numpy_softmax(c_logits.astype("float64"))
    np.testing.assert_allclose(out["condition"], expected, atol=1e-5)
    # G1 sees [A, tile(L_a)], G2 sees [I', tile(L_r)].
    g1_input = np.concatenate(
        [lms, np.broadcast_to(np.eye(NUM_CLASSES)[labels][:, None, None], (3, 32, 32, NUM_CLASSES))], -1
    )
    np.testing.assert_allclose(out["stage1"], cascade.g1(g1_input.astype("float32"), training=False), atol=1e-6)
    g2_input = np.concatenate([np.asarray(out["stage1"]), np.asarray(tile_label(out["condition"], 32, 32))], -1)
    np.testing.assert_allclose(out["stage2"], cascade.g2(g2_input, training=False), atol=1e-6)
    assert out["image"] is out["stage2"]
    assert not cascade.classifier.trainable


def test_ablations_c_and_d_of_the_cascade():
    lms = np.random.RandomState(2).normal(size=(2, 32, 32, 1)).astype("float32")
    labels = np.array([4, 9], "int32")
    no_residue = small_cascade(residue=False)(lms, labels, training=False)
    np.testing.assert_array_equal(no_residue["condition"], np.eye(NUM_CLASSES)[labels])
    single = small_cascade(second_stage=False)
    out = single(lms, labels, training=False)
    assert set(out) == {"stage1", "stage1_logits", "image"}
    assert single.g2 is None and len(single.trainable_variables) == len(single.g1.trainable_variables)


def test_cascade_config_round_trip():
    cascade = small_cascade(residue=False)
    revived = CARGenerator.from_config(cascade.get_config())
    assert revived.residue is False and revived.g2 is not None
    assert revived.g1.get_config()["num_downs"] == 5


@pytest.mark.parametrize("kind", ["generator", "discriminator"])
def test_tf_checkpoints_hold_every_weight(kind, tmp_path):
    """RunCheckpoints must save and restore all weights, BN statistics included, by their stable names."""

    def make(seed):
        if kind == "generator":
            model = UNetGenerator(base_filters=2, num_downs=6, seed=seed)  # with a dropout level
            model.build((None, 64, 64, 3))
        else:
            model = PatchGANDiscriminator(base_filters=2, seed=seed)
            model.build((None, 32, 32, 1), (None, 32, 32, 3))
        return model

    source = make(0)
    for weight in source.non_trainable_weights:  # moving statistics away from their initial values
        weight.assign(np.full(weight.shape, 0.5, "float32"))
    path = RunCheckpoints(str(tmp_path), model=source).save(1)
    saved = [name for name in tf.train.list_variables(path) if name[0].startswith("model/")]
    assert len(saved) == len(source.variables)  # weights and the dropout's seed state
    target = make(1)
    assert RunCheckpoints(str(tmp_path), model=target).restore_latest() == path
    for a, b in zip(source.weights, target.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=a.path)


def test_the_projection_discriminator_adds_the_label_embedding_dot_pooled_features():
    """Miyato & Koyama 2018: logits(x, y) = logits(x) + <V y, mean_patches(h(x))>, checked in NumPy."""
    keras.utils.set_random_seed(0)
    discriminator = PatchGANDiscriminator(base_filters=2, seed=3, projection_classes=NUM_CLASSES)
    discriminator.build((None, 32, 32, 1), (None, 32, 32, 3))
    rng = np.random.default_rng(0)
    lms = rng.normal(size=(2, 32, 32, 1)).astype("float32")
    image = rng.uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    onehot = np.eye(NUM_CLASSES, dtype="float32")[[4, 9]]
    logits = discriminator(lms, image, class_label=onehot, training=False).numpy()
    hidden = discriminator.features(lms, image, training=False).numpy()
    unconditioned = discriminator.output_conv(discriminator.pad(hidden)).numpy()
    embedding = discriminator.projection.kernel.numpy()  # (K, channels): V
    expected = unconditioned + np.sum(onehot @ embedding * hidden.mean(axis=(1, 2)), axis=-1)[:, None, None, None]
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-5)
    other = discriminator(lms, image, class_label=np.roll(onehot, 1, axis=1), training=False).numpy()
    assert not np.allclose(logits, other)  # the label changes the verdict
    with pytest.raises(ValueError, match="pass class_label="):
        discriminator(lms, image, training=False)
    assert discriminator.get_config()["projection_classes"] == NUM_CLASSES
