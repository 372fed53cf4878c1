"""`python -m tfxmodal.bench [--quick] [--only SECTION ...] [--xla]`: one JSON object of timings.

Sections:
- `face2music_step`: seconds per training iteration (one generator update
  after `critic_steps` discriminator updates, variant `aux`) at the demo
  width (d = 8, batch 16) and the paper width (d = 64, batch 128), on
  synthetic batches so that only the model is timed;
- `mfcc`: clips per second through `tfxmodal.audio.mfcc` (batches of 64);
- `data`: examples per second of each embedded-data tf.data pipeline.

Plus the TF version, the devices and the thread counts. Benchmarks, not
tests: nothing here asserts a speed.
"""

import argparse
import json
import os
import sys
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
    }


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
    started = time.perf_counter()
    step(batch)  # trace + first run
    first = time.perf_counter() - started
    times = []
    for _ in range(iterations):
        started = time.perf_counter()
        result = step(batch)
        float(result["g_loss"])  # wait for the step to finish
        times.append(time.perf_counter() - started)
    return {
        "width": width,
        "batch_size": batch_size,
        "critic_steps": critic_steps,
        "variant": variant,
        "xla": jit_compile,
        "generator_params": int(sum(np.prod(w.shape) for w in generator.trainable_weights)),
        "seconds_per_iteration": round(float(np.mean(times)), 4),
        "seconds_per_iteration_min": round(float(np.min(times)), 4),
        "first_call_seconds": round(first, 2),
        "iterations": iterations,
    }


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


SECTIONS = ("face2music_step", "mfcc", "data")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tfxmodal.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations; skips the paper-width GAN step")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    parser.add_argument("--xla", action="store_true", help="jit_compile the GAN step (slow for Conv1DTranspose on CPU)")
    parser.add_argument("--output", help="also write the JSON to this file")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sections = args.only or SECTIONS
    report = {"environment": _environment(), "quick": args.quick}
    if "face2music_step" in sections:
        runs = {"demo_width": face2music_step(8, 16, iterations=3 if args.quick else 10, jit_compile=args.xla)}
        if not args.quick:
            runs["paper_width"] = face2music_step(64, 128, iterations=2, jit_compile=args.xla)
        report["face2music_step"] = runs
    if "mfcc" in sections:
        report["mfcc"] = mfcc_throughput(batches=5 if args.quick else 20)
    if "data" in sections:
        report["data"] = data_throughput(args.quick)
    text = json.dumps(report, indent=1)
    if args.output:
        from tfxmodal.utils.files import atomic_path

        with atomic_path(args.output) as temp:
            with open(temp, "w", encoding="utf-8") as handle:
                handle.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
