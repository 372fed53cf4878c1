"""Benchmark sections of the face → music task.

- `face2music_step`: seconds per training iteration (one generator update
  after `critic_steps` discriminator updates, variant `aux`) at the demo
  width (d = 8, batch 16) and the paper width (d = 64, batch 128), on
  synthetic batches so that only the model is timed; the iteration's FLOPs
  (`benchmarks.flops`: its products and convolutions, gradients included),
  the FLOP/s achieved, and the projected wall time of the paper config's 100,000
  iterations here and on one GPU (`GPU_ASSUMPTION`);
- `translate_latency`: milliseconds per call and per face of the exported
  face2music SavedModel's `serving_default(images)` (uint8 25×25 faces) at
  batch 1 and 64 (median of several calls after a warm-up), with the
  demo's eigenface embedder fitted on the bundled LFW faces and an
  untrained WaveGAN generator of width d = 8 (the demo) and d = 64 (the
  paper; latency does not depend on the weights).
"""

import os
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from tfxmodal.benchmarks.common import count_params, in_own_process, time_step, timing_summary
from tfxmodal.benchmarks.flops import matmul_flops
from tfxmodal.config import parse
from tfxmodal.domain import CLIP_SAMPLES, FACE_EMBEDDING_DIM, NUM_PITCHES, PHI_DIM
from tfxmodal.export.face2music import export_face2music
from tfxmodal.face2music.config import FaceData, FaceEmbedderSpec
from tfxmodal.face2music.data import fit_face_embedder, make_face_embedder
from tfxmodal.models import AudioEmbedder, AudioMetric, AuxDiscriminator, WaveGANDiscriminator, WaveGANGenerator
from tfxmodal.trainers.face2music import Face2MusicGAN
from tfxmodal.utils.precision import precision_scope

# configs/face2music_paper.yaml's train.steps: Kim et al. stop at convergence (Sec. 5.2) and give no count.
PAPER_ITERATIONS = 100_000
# One NVIDIA H100 / H200 SXM: 494.7 TFLOP/s dense TF32 tensor-core peak (NVIDIA's H100 datasheet gives
# 989 with sparsity); the share a convolutional GAN of this size reaches is an assumption, not a measurement.
GPU_ASSUMPTION = {"name": "H100/H200 SXM, TF32 tensor cores", "peak_tflops": 494.7, "utilization": 0.3}


def projection(flops_per_iteration, seconds_per_iteration, iterations=PAPER_ITERATIONS):
    """Achieved GFLOP/s and the projected hours of `iterations` here and on `GPU_ASSUMPTION`'s GPU."""
    gpu = GPU_ASSUMPTION
    gpu_seconds = flops_per_iteration / (gpu["peak_tflops"] * 1e12 * gpu["utilization"])
    return {
        "flops_per_iteration": int(flops_per_iteration),
        "achieved_gflops_per_second": round(flops_per_iteration / seconds_per_iteration / 1e9, 1),
        "projected_hours_here": round(iterations * seconds_per_iteration / 3600, 1),
        "projected_hours_one_gpu": round(iterations * gpu_seconds / 3600, 2),
        "projection": f"{iterations} iterations; GPU: {gpu['name']} at {gpu['utilization']:.0%} of {gpu['peak_tflops']} TFLOP/s",
    }


def face2music_step(
    width,
    batch_size,
    critic_steps=5,
    iterations=3,
    jit_compile=False,
    variant="aux",
    precision="float32",
    transposed_conv="auto",
):
    """Seconds per GAN iteration (mean of `iterations` after one warm-up).

    `precision` is `train.precision` (the networks' dtype policy; ψ and φ
    stay float32); `transposed_conv` the generator's implementation.
    """
    # The configs' defaults: no batch norm at the generator's output nor in the critic; an SN generator.
    with precision_scope(precision):
        generator = WaveGANGenerator(
            width, output_batch_norm=False, spectral_norm=True, transposed_conv=transposed_conv
        )
        discriminator = WaveGANDiscriminator(width, batch_norm=False)
        aux = AuxDiscriminator()
    metric = AudioMetric(AudioEmbedder(width))
    generator.build((None, FACE_EMBEDDING_DIM))
    discriminator.build((None, CLIP_SAMPLES, 1))
    metric.build()
    aux.build((None, PHI_DIM))
    gan = Face2MusicGAN(generator, discriminator, variant, metric, aux, critic_steps=critic_steps)

    def adam():
        return keras.optimizers.Adam(2e-4, beta_1=0.5)

    gan.compile({"generator": adam(), "discriminator": adam(), "aux": adam()}, jit_compile=jit_compile)
    rng = np.random.default_rng(0)
    batch = {
        "audio": tf.constant(rng.uniform(-0.5, 0.5, (batch_size, critic_steps, CLIP_SAMPLES)).astype("float32")),
        "pitch": tf.constant(rng.integers(0, NUM_PITCHES, (batch_size, critic_steps)).astype("int32")),
        "embedding": tf.constant(rng.normal(size=(batch_size, critic_steps + 1, FACE_EMBEDDING_DIM)).astype("float32")),
    }
    step = tf.function(gan.train_step, jit_compile=jit_compile)
    first, times = time_step(step, batch, iterations, "g_loss")
    flops = matmul_flops(tf.function(gan.train_step), batch)
    return {
        "width": width,
        "batch_size": batch_size,
        "critic_steps": critic_steps,
        "variant": variant,
        "precision": precision,
        "transposed_conv": transposed_conv,
        "xla": jit_compile,
        "generator_params": count_params(generator.trainable_weights),
        **timing_summary(first, times, iterations),
        **projection(flops, float(np.mean(times))),
    }


# The paper-width entries: today's default, then each alternative it was chosen against.
PAPER_WIDTH_VARIANTS = {
    "paper_width": {},
    "paper_width_matmul_transposed_conv": {"transposed_conv": "matmul"},
    "paper_width_keras_transposed_conv": {"transposed_conv": "keras"},
    "paper_width_mixed_bfloat16": {"precision": "mixed_bfloat16"},
}


def training_step(quick, jit_compile=False):
    """The `face2music_step` section: d = 8 / batch 16 and, unless `quick`, d = 64 / batch 128.

    Each paper-width entry runs in its own process (`in_own_process`), so its
    `peak_memory_mb` is its own: the transposed convolution's implementation
    trades memory for speed (docs/benchmarks.md).
    """
    runs = {"demo_width": face2music_step(8, 16, iterations=3 if quick else 10, jit_compile=jit_compile)}
    if not quick:
        for name, options in PAPER_WIDTH_VARIANTS.items():
            runs[name] = in_own_process(
                __name__, "face2music_step", width=64, batch_size=128, iterations=2, jit_compile=jit_compile, **options
            )
    return runs


# configs/face2music_demo.yaml's face metric: eigenfaces of the bundled LFW faces.
DEMO_FACE_EMBEDDER = {"kind": "eigenfaces", "num_components": 32, "image_size": 25}
DEMO_FACES = {"source": "lfw_subset"}


def translate_latency(widths=(8,), batch_sizes=(1, 64), calls=20, warmup=2):
    """Latency of the exported face2music SavedModel's `serving_default`, per width and batch size.

    `calls` timed calls at batch 1 and a quarter as many (at least 3) at
    larger batches, after `warmup` untimed ones; the median is reported.
    """
    spec = parse(FaceEmbedderSpec, DEMO_FACE_EMBEDDER, "face_embedder")
    faces = parse(FaceData, DEMO_FACES, "faces")
    embedder = make_face_embedder(spec)
    started = time.perf_counter()
    fitted = fit_face_embedder(embedder, spec, faces, seed=0)
    result = {
        "face_embedder": f"eigenfaces ({spec.num_components} components) of {fitted['faces']} LFW faces",
        "fit_seconds": round(time.perf_counter() - started, 2),
        "image_shape": [spec.image_size, spec.image_size, 3],
        "signature": "serving_default",
    }
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="tfxmodal_bench_") as base:
        for width in widths:
            generator = WaveGANGenerator(width, output_batch_norm=False, spectral_norm=True)
            generator.build((None, FACE_EMBEDDING_DIM))
            started = time.perf_counter()
            path = export_face2music(embedder, generator, os.path.join(base, f"d{width}"))
            exported = time.perf_counter() - started
            started = time.perf_counter()
            serve = tf.saved_model.load(path).signatures["serving_default"]
            loaded = time.perf_counter() - started
            entry = {
                "generator_params": count_params(generator.trainable_weights),
                "export_seconds": round(exported, 2),
                "load_seconds": round(loaded, 2),
            }
            for batch_size in batch_sizes:
                images = tf.constant(rng.integers(0, 256, (batch_size, spec.image_size, spec.image_size, 3), np.uint8))
                for _ in range(warmup):
                    serve(images=images)["waveform"].numpy()
                count = calls if batch_size == 1 else max(3, calls // 4)
                times = []
                for _ in range(count):
                    started = time.perf_counter()
                    waveform = serve(images=images)["waveform"].numpy()
                    times.append(time.perf_counter() - started)
                if waveform.shape != (batch_size, CLIP_SAMPLES):
                    raise RuntimeError(f"serving_default returned a waveform of shape {waveform.shape}")
                median_ms = float(np.median(times)) * 1000
                entry[f"batch_{batch_size}"] = {
                    "ms_per_call": round(median_ms, 3),
                    "ms_per_face": round(median_ms / batch_size, 3),
                    "ms_per_call_min": round(float(np.min(times)) * 1000, 3),
                    "calls": count,
                }
            result[f"width_{width}"] = entry
    return result


def translate_latency_section(quick, jit_compile=False):
    """The `translate_latency` section (`jit_compile` does not apply: serving is not XLA-compiled)."""
    return translate_latency(widths=(8,) if quick else (8, 64), calls=20 if quick else 40)
