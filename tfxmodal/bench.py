"""`python -m tfxmodal.bench [--quick] [--only SECTION ...] [--xla] [--output FILE]`: one JSON object of timings.

Sections:
- `face2music_step`: seconds per training iteration (one generator update
  after `critic_steps` discriminator updates, variant `aux`) at the demo
  width (d = 8, batch 16) and the paper width (d = 64, batch 128), on
  synthetic batches so that only the model is timed;
- `car_gan_step`: seconds per CAR-GAN training step (one
  `CARGANTrainer.train_step` of the full model E: two stages, attention,
  residue; C a ResNet-50 without downloaded weights) at the demo size
  (`configs/car_gan_demo.yaml`: 32×32, ngf = ndf = 16, batch 16) and the
  paper size (256×256, ngf = ndf = 64, batch 64), on synthetic batches.
  Batch 64 at 256×256 needs tens of GiB for the attention maps alone; when
  a lower bound on that exceeds the available memory the paper-size entry
  says so (`"skipped"`) and a smaller batch is timed as a separate,
  labelled entry (`paper_size_reduced_batch`);
- `mfcc`: clips per second through `tfxmodal.audio.mfcc` (batches of 64);
- `data`: examples per second of each embedded-data tf.data pipeline;
- `translate_latency`: milliseconds per call and per face of the exported
  face2music SavedModel's `serving_default(images)` (uint8 25×25 faces) at
  batch 1 and 64 (median of several calls after a warm-up), with the
  demo's eigenface embedder fitted on the bundled LFW faces and an
  untrained WaveGAN generator of width d = 8 (the demo) and d = 64 (the
  paper; latency does not depend on the weights).

`--quick` runs fewer iterations and skips the paper-width/-size entries.
`--xla` jit-compiles the training steps (on CPU far slower for the
transposed 1-D convolutions of WaveGAN).

Plus the TF version, the devices, the thread counts and the process's peak
resident memory (`peak_memory_mb`; also after each section in
`peak_memory_mb_after_section`, which can only grow). Benchmarks, not
tests: nothing here asserts a speed.
"""

import argparse
import json
import os
import resource
import sys
import tempfile
import time

import numpy as np


def _environment():
    import tensorflow as tf

    return {
        "tensorflow": tf.__version__,
        "devices": [device.name for device in tf.config.list_logical_devices()],
        "gpus": len(tf.config.list_physical_devices("GPU")),
        "cpu_count": os.cpu_count(),
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "memory_total_mb": _meminfo_mb("MemTotal"),
    }


def peak_memory_mb():
    """Peak resident memory of this process so far, in MiB (`ru_maxrss`: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def _meminfo_mb(field):
    """A `/proc/meminfo` field in MiB, or None where there is no such file."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                name, _, value = line.partition(":")
                if name == field:
                    return round(int(value.split()[0]) / 1024, 1)
    except OSError:
        pass
    return None


def _time_step(step, batch, iterations, loss_key):
    """`(first call seconds, [seconds of each of `iterations` later calls])`."""
    started = time.perf_counter()
    float(step(batch)[loss_key])  # trace + first run
    first = time.perf_counter() - started
    times = []
    for _ in range(iterations):
        started = time.perf_counter()
        result = step(batch)
        float(result[loss_key])  # wait for the step to finish
        times.append(time.perf_counter() - started)
    return first, times


def _count_params(variables):
    return int(sum(np.prod(w.shape) for w in variables))


def face2music_step(width, batch_size, critic_steps=5, iterations=3, jit_compile=False, variant="aux"):
    """Seconds per GAN iteration (mean of `iterations` after one warm-up)."""
    import keras
    import tensorflow as tf

    from tfxmodal.models import AudioEmbedder, AudioMetric, AuxDiscriminator, WaveGANDiscriminator, WaveGANGenerator
    from tfxmodal.trainers.face2music import Face2MusicGAN

    generator = WaveGANGenerator(width)
    discriminator = WaveGANDiscriminator(width)
    metric = AudioMetric(AudioEmbedder(width))
    aux = AuxDiscriminator()
    generator.build((None, 512))
    discriminator.build((None, 8192, 1))
    metric.build()
    aux.build((None, 505))
    gan = Face2MusicGAN(generator, discriminator, variant, metric, aux, critic_steps=critic_steps)

    def adam():
        return keras.optimizers.Adam(2e-4, beta_1=0.5)

    gan.compile(adam(), adam(), adam(), jit_compile=jit_compile)
    rng = np.random.default_rng(0)
    batch = {
        "audio": tf.constant(rng.uniform(-0.5, 0.5, (batch_size, critic_steps, 8192)).astype("float32")),
        "pitch": tf.constant(rng.integers(0, 61, (batch_size, critic_steps)).astype("int32")),
        "embedding": tf.constant(rng.normal(size=(batch_size, critic_steps + 1, 512)).astype("float32")),
    }
    step = tf.function(gan.train_step, jit_compile=jit_compile)
    first, times = _time_step(step, batch, iterations, "g_loss")
    return {
        "width": width,
        "batch_size": batch_size,
        "critic_steps": critic_steps,
        "variant": variant,
        "xla": jit_compile,
        "generator_params": _count_params(generator.trainable_weights),
        "seconds_per_iteration": round(float(np.mean(times)), 4),
        "seconds_per_iteration_min": round(float(np.min(times)), 4),
        "first_call_seconds": round(first, 2),
        "iterations": iterations,
    }


# -- CAR-GAN ------------------------------------------------------------------

# configs/car_gan_demo.yaml's model size; everything else (the full model E,
# loss weights, Adam 8e-4 (0.9, 0.999)) is the schema's paper default.
CAR_GAN_DEMO = {"image_size": 32, "filters": 16, "batch_size": 16}
CAR_GAN_PAPER = {"image_size": 256, "filters": 64, "batch_size": 64}


def car_gan_config(image_size, filters, batch_size, jit_compile=False):
    """A validated `CARGANConfig` of model E at this size (synthetic data: the data section is unused)."""
    from tfxmodal.config import parse
    from tfxmodal.tasks.car_gan_config import CARGANConfig

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
    import keras
    import tensorflow as tf

    from tfxmodal.tasks.car_gan import NUM_CLASSES, build_networks, make_classifier
    from tfxmodal.trainers.car_gan import CARGANTrainer, LossWeights

    config = car_gan_config(image_size, filters, batch_size, jit_compile)
    train = config.train
    classifier = make_classifier(config, backbone_weights=None)
    cascade, discriminator = build_networks(config, classifier)
    gan = CARGANTrainer(cascade, discriminator, LossWeights(**vars(config.loss)))

    def adam():
        return keras.optimizers.Adam(train.learning_rate, beta_1=train.beta_1, beta_2=train.beta_2)

    gan.compile(generator_optimizer=adam(), discriminator_optimizer=adam(), jit_compile=train.jit_compile)
    rng = np.random.default_rng(0)
    size = config.data.image_size
    batch = {
        "lms": tf.constant(rng.uniform(-1, 1, (batch_size, size, size, 1)).astype("float32")),
        "image": tf.constant(rng.uniform(-1, 1, (batch_size, size, size, 3)).astype("float32")),
        "label": tf.constant(rng.integers(0, NUM_CLASSES, (batch_size,)).astype("int32")),
    }
    step = tf.function(gan.train_step, jit_compile=train.jit_compile)
    first, times = _time_step(step, batch, iterations, "g_loss")
    return {
        "image_size": size,
        "generator_filters": config.model.generator_filters,
        "discriminator_filters": config.model.discriminator_filters,
        "batch_size": batch_size,
        "model": "E (two stages, attention, residue)",
        "xla": train.jit_compile,
        "generator_params": _count_params(gan.generator_variables),
        "discriminator_params": _count_params(discriminator.trainable_variables),
        "classifier_params": _count_params(classifier.weights),
        "seconds_per_iteration": round(float(np.mean(times)), 4),
        "seconds_per_iteration_min": round(float(np.min(times)), 4),
        "first_call_seconds": round(first, 2),
        "iterations": iterations,
    }


def car_gan_runs(quick, jit_compile=False):
    """The `car_gan_step` section: the demo size, and the paper size unless `quick`."""
    runs = {"demo_size": car_gan_step(**CAR_GAN_DEMO, iterations=3 if quick else 5, jit_compile=jit_compile)}
    if quick:
        return runs
    paper = car_gan_config(CAR_GAN_PAPER["image_size"], CAR_GAN_PAPER["filters"], CAR_GAN_PAPER["batch_size"])
    available_mb = _meminfo_mb("MemAvailable")

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


# -- translation latency ----------------------------------------------------------

# configs/face2music_demo.yaml's face metric: eigenfaces of the bundled LFW faces.
DEMO_FACE_EMBEDDER = {"kind": "eigenfaces", "num_components": 32, "image_size": 25}
DEMO_FACES = {"source": "lfw_subset"}


def translate_latency(widths=(8,), batch_sizes=(1, 64), calls=20, warmup=2):
    """Latency of the exported face2music SavedModel's `serving_default`, per width and batch size.

    `calls` timed calls at batch 1 and a quarter as many (at least 3) at
    larger batches, after `warmup` untimed ones; the median is reported.
    """
    import tensorflow as tf

    from tfxmodal.config import parse
    from tfxmodal.export.face2music import export_face2music
    from tfxmodal.models import WaveGANGenerator
    from tfxmodal.tasks.face2music_config import FaceData, FaceEmbedderSpec
    from tfxmodal.tasks.face2music_data import fit_face_embedder, make_face_embedder

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
            generator = WaveGANGenerator(width)
            generator.build((None, 512))
            started = time.perf_counter()
            path = export_face2music(embedder, generator, os.path.join(base, f"d{width}"))
            exported = time.perf_counter() - started
            started = time.perf_counter()
            serve = tf.saved_model.load(path).signatures["serving_default"]
            loaded = time.perf_counter() - started
            entry = {
                "generator_params": _count_params(generator.trainable_weights),
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
                if waveform.shape != (batch_size, 8192):
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


# -- MFCC, data -----------------------------------------------------------------


def mfcc_throughput(batches=20, batch_size=64):
    import tensorflow as tf

    from tfxmodal.audio import mfcc

    clips = tf.constant(np.random.default_rng(0).uniform(-0.5, 0.5, (batch_size, 8192)).astype("float32"))
    compiled = tf.function(mfcc)
    compiled(clips).numpy()
    started = time.perf_counter()
    for _ in range(batches):
        compiled(clips).numpy()
    elapsed = time.perf_counter() - started
    return {"clips_per_second": round(batches * batch_size / elapsed, 1), "batch_size": batch_size}


def data_throughput(quick):
    """Examples per second of each embedded-data pipeline (built first if needed)."""
    from tfxmodal.data import faces, mini_urmp, nsynth, pipeline

    num_batches = 20 if quick else 100

    def mini_nsynth_pipeline():
        dataset = nsynth.embedded_pipeline(64, training=True, seed=0, cache=False)
        return {"batch_size": 64, "paper_filter": True, "train": pipeline.measure_throughput(dataset, num_batches)}

    results = {}
    for name, bench in (
        ("mini_nsynth", mini_nsynth_pipeline),
        ("lfw_faces", lambda: faces.benchmark(batch_size=32, image_size=25, num_batches=num_batches)),
        ("mini_urmp", lambda: mini_urmp.benchmark(batch_size=16, image_size=64, num_batches=num_batches)),
    ):
        try:
            results[name] = bench()
        except Exception as error:  # one missing dataset must not hide the others
            results[name] = {"error": f"{type(error).__name__}: {error}"}
    return results


SECTIONS = ("face2music_step", "car_gan_step", "mfcc", "data", "translate_latency")


def run_section(name, args):
    if name == "face2music_step":
        runs = {"demo_width": face2music_step(8, 16, iterations=3 if args.quick else 10, jit_compile=args.xla)}
        if not args.quick:
            runs["paper_width"] = face2music_step(64, 128, iterations=2, jit_compile=args.xla)
        return runs
    if name == "car_gan_step":
        return car_gan_runs(args.quick, jit_compile=args.xla)
    if name == "mfcc":
        return mfcc_throughput(batches=5 if args.quick else 20)
    if name == "data":
        return data_throughput(args.quick)
    if name == "translate_latency":
        return translate_latency(widths=(8,) if args.quick else (8, 64), calls=20 if args.quick else 40)
    raise ValueError(f"unknown section {name!r}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tfxmodal.bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer iterations; skips the paper-size GAN steps and d = 64 latency"
    )
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    parser.add_argument(
        "--xla", action="store_true", help="jit_compile the GAN steps (slow for Conv1DTranspose on CPU)"
    )
    parser.add_argument("--output", help="also write the JSON to this file")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sections = [name for name in SECTIONS if name in (args.only or SECTIONS)]
    report = {"environment": _environment(), "quick": args.quick, "xla": args.xla}
    after = {}
    for name in sections:
        report[name] = run_section(name, args)
        after[name] = peak_memory_mb()
    report["peak_memory_mb"] = peak_memory_mb()
    report["peak_memory_mb_after_section"] = after
    text = json.dumps(report, indent=1)
    if args.output:
        from tfxmodal.utils.files import save_text

        save_text(args.output, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
