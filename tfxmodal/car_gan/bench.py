"""Benchmark section of the CAR-GAN task.

`car_gan_step`: seconds per CAR-GAN training step (one
`CARGANTrainer.train_step` of the full model E: two stages, attention,
residue; C a ResNet-50 without downloaded weights) at the demo size
(`configs/car_gan_demo.yaml`: 32×32, ngf = ndf = 16, batch 16) and the
paper size (256×256, ngf = ndf = 64, batch 64), on synthetic batches.
Batch 64 at 256×256 needs tens of GiB for the attention maps alone; when a
lower bound on that exceeds the available memory the paper-size entry says
so (`"skipped"`) and a smaller batch is timed as a separate, labelled entry
(`paper_size_reduced_batch`).
"""

import keras
import numpy as np
import tensorflow as tf

from tfxmodal.benchmarks.common import count_params, meminfo_mb, peak_memory_mb, time_step, timing_summary
from tfxmodal.car_gan.config import CARGANConfig
from tfxmodal.car_gan.networks import NUM_CLASSES, build_networks, make_classifier
from tfxmodal.config import parse
from tfxmodal.trainers.car_gan import CARGANTrainer

# configs/car_gan_demo.yaml's model size; everything else (the full model E,
# loss weights, Adam 8e-4 (0.9, 0.999)) is the schema's paper default.
CAR_GAN_DEMO = {"image_size": 32, "filters": 16, "batch_size": 16}
CAR_GAN_PAPER = {"image_size": 256, "filters": 64, "batch_size": 64}


def car_gan_config(image_size, filters, batch_size, jit_compile=False):
    """A validated `CARGANConfig` of model E at this size (synthetic data: the data section is unused)."""
    return parse(
        CARGANConfig,
        {
            "task": "car_gan",
            "data": {"image_size": image_size},
            "model": {"generator_filters": filters, "discriminator_filters": filters},
            "train": {"batch_size": batch_size, "jit_compile": jit_compile},
        },
    )


def car_gan_attention_bytes(config, batch_size):
    """Lower bound on the memory of one CAR-GAN step: the attention maps its backward pass keeps.

    Every `SelfAttention2D` keeps its softmax map `(B, N, N/4)` float32
    (`N = H·W`, keys pooled 2×2) for the gradient. The generator phase holds
    G1's and G2's maps (levels at S/2 and S/4) and those of D's calls on I′
    and I″; the discriminator phase those of D's calls on I, I′, I″ (D's
    attention at S/4, S/8, ...). The peak is at least the larger phase; the
    rest of the activations (ResNet-50 C, convolutions) come on top.
    """
    model, size = config.model, config.data.image_size
    if not model.attention:
        return 0
    pool = 4 if model.downsample_keys else 1

    def maps(sides):
        return sum(batch_size * (side * side) * (side * side // pool) * 4 for side in sides)

    stages = 2 if model.second_stage else 1
    generator = maps([size // 2, size // 4])
    discriminator = maps([size // 2 ** (n + 1) for n in range(1, model.discriminator_layers)])
    return max(stages * (generator + discriminator), (stages + 1) * discriminator)


def car_gan_step(image_size, filters, batch_size, iterations=3, jit_compile=False):
    """Seconds per `CARGANTrainer.train_step` of model E (mean of `iterations` after one warm-up)."""
    config = car_gan_config(image_size, filters, batch_size, jit_compile)
    train = config.train
    classifier = make_classifier(config, backbone_weights=None)
    cascade, discriminator = build_networks(config, classifier)
    gan = CARGANTrainer(cascade, discriminator, config.loss, discriminator_first=config.train.discriminator_first)

    def adam():
        return keras.optimizers.Adam(train.learning_rate, beta_1=train.beta_1, beta_2=train.beta_2)

    gan.compile({"generator": adam(), "discriminator": adam()}, jit_compile=train.jit_compile)
    rng = np.random.default_rng(0)
    size = config.data.image_size
    batch = {
        "lms": tf.constant(rng.uniform(-1, 1, (batch_size, size, size, 1)).astype("float32")),
        "image": tf.constant(rng.uniform(-1, 1, (batch_size, size, size, 3)).astype("float32")),
        "label": tf.constant(rng.integers(0, NUM_CLASSES, (batch_size,)).astype("int32")),
    }
    step = tf.function(gan.train_step, jit_compile=train.jit_compile)
    first, times = time_step(step, batch, iterations, "g_loss")
    return {
        "image_size": size,
        "generator_filters": config.model.generator_filters,
        "discriminator_filters": config.model.discriminator_filters,
        "batch_size": batch_size,
        "model": "E (two stages, attention, residue)",
        "xla": train.jit_compile,
        "generator_params": count_params(gan.optimized_variables()["generator"]),
        "discriminator_params": count_params(discriminator.trainable_variables),
        "classifier_params": count_params(classifier.weights),
        **timing_summary(first, times, iterations),
    }


def training_step(quick, jit_compile=False):
    """The `car_gan_step` section: the demo size, and the paper size unless `quick`."""
    runs = {"demo_size": car_gan_step(**CAR_GAN_DEMO, iterations=3 if quick else 5, jit_compile=jit_compile)}
    if quick:
        return runs
    paper = car_gan_config(CAR_GAN_PAPER["image_size"], CAR_GAN_PAPER["filters"], CAR_GAN_PAPER["batch_size"])
    available_mb = meminfo_mb("MemAvailable")

    def bound_mb(batch_size):
        return round(car_gan_attention_bytes(paper, batch_size) / 2**20, 1)

    full_bound = bound_mb(CAR_GAN_PAPER["batch_size"])
    if available_mb is None or full_bound < available_mb:
        # One timed iteration: minutes per step on a CPU.
        runs["paper_size"] = car_gan_step(**CAR_GAN_PAPER, iterations=1, jit_compile=jit_compile)
        return runs
    runs["paper_size"] = {
        "image_size": CAR_GAN_PAPER["image_size"],
        "generator_filters": CAR_GAN_PAPER["filters"],
        "discriminator_filters": CAR_GAN_PAPER["filters"],
        "batch_size": CAR_GAN_PAPER["batch_size"],
        "skipped": (
            f"infeasible here: the attention maps of one step alone need at least {full_bound:.0f} MiB "
            f"(more with ResNet-50 and the convolutions), {available_mb:.0f} MiB available"
        ),
        "attention_memory_lower_bound_mb": full_bound,
        "memory_available_mb": available_mb,
    }
    # A smaller batch at the paper size, labelled as such: the largest power
    # of two whose attention bound stays within 1/8 of the available memory.
    reduced = CAR_GAN_PAPER["batch_size"]
    while reduced > 1 and bound_mb(reduced) > available_mb / 8:
        reduced //= 2
    if bound_mb(reduced) <= available_mb / 8:
        result = car_gan_step(
            CAR_GAN_PAPER["image_size"], CAR_GAN_PAPER["filters"], reduced, iterations=1, jit_compile=jit_compile
        )
        result["note"] = f"batch {reduced} instead of the paper's {CAR_GAN_PAPER['batch_size']} (see paper_size)"
        result["seconds_per_example"] = round(result["seconds_per_iteration"] / reduced, 4)
        result["peak_memory_mb_after"] = peak_memory_mb()
        runs["paper_size_reduced_batch"] = result
    return runs
