"""The `layer_timings` benchmark section: the WaveGAN generator layer by layer, and this CPU's peak.

- `peak`: the nominal float32 peak of this CPU from `/proc/cpuinfo`
  (cores × clock × FLOPs per cycle, the last from the vector and FMA
  flags and the vendor, see `nominal_peak`) and the attainable one,
  the GFLOP/s of a 4096² float32 (and bfloat16) `tf.matmul`;
- `paper_width` (d = 64, batch 8) and `demo_width` (d = 8, batch 16):
  for each stage of `WaveGANGenerator.call` in training mode (the dense
  projection, every transposed convolution, every conditional batch norm
  with its activation), milliseconds forward and backward (the
  gradient w.r.t. the stage's input and variables; backward = forward +
  backward − forward, medians), GFLOP (`benchmarks.flops`) and GFLOP/s,
  for each `transposed_conv` implementation, timed alternately so that a
  shared machine's load falls on both; then the whole generator's
  inference forward pass (the figure the issue's 60 %-of-peak goal is
  about), training forward and forward + backward.

The configs' generator: spectral norm, no batch norm at the output.
`--quick` times the demo width only.
"""

import os
import time

import numpy as np
import tensorflow as tf
from keras import ops

from tfxmodal.benchmarks.flops import matmul_flops
from tfxmodal.domain import FACE_EMBEDDING_DIM, NUM_PITCHES
from tfxmodal.models import WaveGANGenerator
from tfxmodal.models.wavegan import LEAKY_SLOPE

IMPLEMENTATIONS = ("keras", "matmul", "polyphase")


def _cpuinfo():
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return {}
    info = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        info.setdefault(key.strip(), value.strip())
    return info


def nominal_peak():
    """This CPU's float32 peak from `/proc/cpuinfo`: cores × clock × float32 FLOPs per cycle and core.

    FLOPs per cycle assume two FMA pipes (2 FLOPs per lane each): with
    AVX-512 on Intel 512-bit pipes (16 lanes: 64 FLOPs/cycle); on AMD
    (Zen 4 executes AVX-512 on two 256-bit pipes) and with AVX2 + FMA 8
    lanes (32 FLOPs/cycle). The clock is `cpu MHz`, the base (TSC) clock
    in a VM, so a core that boosts beats this figure.
    """
    info = _cpuinfo()
    flags = set(info.get("flags", "").split())
    vendor = info.get("vendor_id", "")
    if "avx512f" in flags and vendor == "GenuineIntel":
        lanes = 16
    elif "avx512f" in flags or ("avx2" in flags and "fma" in flags):
        lanes = 8
    else:
        lanes = 4
    flops_per_cycle = 2 * 2 * lanes  # two FMA pipes, an FMA is 2 FLOPs
    cores = os.cpu_count() or 1
    megahertz = float(info.get("cpu MHz", "nan"))
    return {
        "model": info.get("model name"),
        "vendor": vendor,
        "cpu_family": info.get("cpu family"),
        "model_number": info.get("model"),
        "vector_flags": sorted(flag for flag in flags if flag.startswith(("avx", "fma", "amx"))),
        "cores": cores,
        "mhz": megahertz,
        "float32_flops_per_cycle_per_core": flops_per_cycle,
        "nominal_float32_gflops": round(cores * megahertz * 1e-3 * flops_per_cycle, 1),
        "how": "cores x cpu MHz x 2 FMA pipes x 2 FLOPs x float32 lanes per pipe",
    }


def matmul_peak(dtype="float32", size=4096, iterations=5):
    """GFLOP/s of the best of `iterations` `size`² × `size`² `tf.matmul`s in `dtype`."""
    a = tf.cast(tf.random.stateless_normal((size, size), seed=(0, 1)), dtype)
    product = tf.function(lambda x: tf.matmul(x, x))
    product(a).numpy()
    best = float("inf")
    for _ in range(iterations):
        started = time.perf_counter()
        product(a).numpy()
        best = min(best, time.perf_counter() - started)
    return round(2 * size**3 / best / 1e9, 1)


def generator_stages(generator):
    """`[(name, function(x, pitch, training))]`: `WaveGANGenerator.call` cut at every layer."""
    stages = [
        ("project", lambda x, pitch, training: generator.reshape(generator.project(x, training=training))),
        (
            "project_cbn_lrelu",
            lambda x, pitch, training: ops.leaky_relu(generator.project_norm(x, pitch, training=training), LEAKY_SLOPE),
        ),
    ]
    last = len(generator.upconvs) - 1
    for index, conv in enumerate(generator.upconvs):
        stages.append((f"upconv{index + 1}", lambda x, pitch, training, conv=conv: conv(x, training=training)))
        norm = generator.norms[index] if index < len(generator.norms) else None

        def after(x, pitch, training, norm=norm, final=index == last):
            if norm is not None:
                x = norm(x, pitch, training=training)
            return ops.tanh(x) if final else ops.leaky_relu(x, LEAKY_SLOPE)

        suffix = ("_cbn" if norm is not None else "") + ("_tanh" if index == last else "_lrelu")
        stages.append((f"upconv{index + 1}{suffix}", after))
    return stages


def _timed_calls(function, args, iterations):
    times = []
    for _ in range(iterations):
        started = time.perf_counter()
        result = function(*args)
        [np.asarray(value) for value in (result if isinstance(result, (list, tuple)) else [result])]
        times.append(time.perf_counter() - started)
    return times


def _compiled(stage, variables):
    """`tf.function`s of a stage's training forward pass and of its forward + backward pass."""
    forward = tf.function(lambda x, pitch: stage(x, pitch, True))

    @tf.function
    def backward(x, pitch, cotangent):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(tf.cast(stage(x, pitch, True), "float32") * cotangent)
        return tape.gradient(loss, [x, *variables])

    return forward, backward


def _rate(flops, seconds):
    return round(flops / seconds / 1e9, 1) if seconds > 0 else None


def generator_layer_timings(width, batch_size, iterations=5, implementations=IMPLEMENTATIONS, dtype=None):
    """Per-stage and whole-generator timings of `WaveGANGenerator(width)` at `batch_size`, per implementation."""
    generators = {}
    for name in implementations:
        generator = WaveGANGenerator(
            width, output_batch_norm=False, spectral_norm=True, transposed_conv=name, dtype=dtype
        )
        generator.build((None, FACE_EMBEDDING_DIM))
        if generators:  # the same weights for every implementation
            generator.set_weights(next(iter(generators.values())).get_weights())
        generators[name] = generator
    rng = np.random.default_rng(0)
    embedding = tf.constant(rng.normal(size=(batch_size, FACE_EMBEDDING_DIM)).astype("float32"))
    pitch = tf.constant(rng.integers(0, NUM_PITCHES, batch_size).astype("int32"))
    stages = {name: generator_stages(generator) for name, generator in generators.items()}
    reference = next(iter(implementations))
    layers = []
    x = embedding
    for index, (stage_name, _) in enumerate(stages[reference]):
        compiled, entry = {}, {"layer": stage_name, "input_shape": list(x.shape)}
        for name in implementations:
            stage = stages[name][index][1]
            # The stage's own variables: those its call reads (traced once to find them).
            with tf.GradientTape(watch_accessed_variables=True) as tape:
                output = stage(x, pitch, True)
            variables = [v for v in tape.watched_variables() if v.trainable]
            cotangent = tf.constant(rng.normal(size=output.shape).astype("float32"))
            compiled[name] = (_compiled(stage, variables), (x, pitch), (x, pitch, cotangent))
        forward, backward = compiled[reference][0]
        forward_flops = matmul_flops(forward, *compiled[reference][1])
        backward_flops = matmul_flops(backward, *compiled[reference][2]) - forward_flops
        entry.update({"gflop_forward": round(forward_flops / 1e9, 3), "gflop_backward": round(backward_flops / 1e9, 3)})
        times = {name: ([], []) for name in implementations}
        for name in implementations:  # trace and warm up
            (forward, backward), forward_args, backward_args = compiled[name]
            forward(*forward_args)
            backward(*backward_args)
        for _ in range(iterations):
            for name in implementations:
                (forward, backward), forward_args, backward_args = compiled[name]
                times[name][0].extend(_timed_calls(forward, forward_args, 1))
                times[name][1].extend(_timed_calls(backward, backward_args, 1))
        for name in implementations:
            forward_seconds = float(np.median(times[name][0]))
            backward_seconds = max(float(np.median(times[name][1])) - forward_seconds, 0.0)
            entry[name] = {
                "ms_forward": round(forward_seconds * 1e3, 2),
                "ms_backward": round(backward_seconds * 1e3, 2),
                "gflops_forward": _rate(forward_flops, forward_seconds),
                "gflops_backward": _rate(backward_flops, backward_seconds),
            }
        layers.append(entry)
        x = compiled[reference][0][0](*compiled[reference][1])
    return {
        "width": width,
        "batch_size": batch_size,
        "dtype": dtype or "float32",
        "layers": layers,
        "generator": whole_generator_timings(generators, embedding, pitch, iterations),
    }


def whole_generator_timings(generators, embedding, pitch, iterations):
    """Inference forward, training forward and training forward + backward of each generator."""
    passes = {}
    for name, generator in generators.items():

        @tf.function
        def train(z, labels, generator=generator):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(tf.square(tf.cast(generator(z, labels, training=True), "float32")))
            return tape.gradient(loss, generator.trainable_variables)

        passes[name] = {
            "inference": tf.function(lambda z, labels, generator=generator: generator(z, labels, training=False)),
            "training_forward": tf.function(lambda z, labels, generator=generator: generator(z, labels, training=True)),
            "training_forward_backward": train,
        }
    reference = next(iter(passes))
    result = {}
    for kind in ("inference", "training_forward", "training_forward_backward"):
        flops = matmul_flops(passes[reference][kind], embedding, pitch)
        times = {name: [] for name in passes}
        for name in passes:
            passes[name][kind](embedding, pitch)
        for _ in range(iterations):
            for name in passes:
                times[name].extend(_timed_calls(passes[name][kind], (embedding, pitch), 1))
        entry = {"gflop": round(flops / 1e9, 3)}
        for name in passes:
            seconds = float(np.median(times[name]))
            entry[name] = {"ms": round(seconds * 1e3, 2), "ms_min": round(min(times[name]) * 1e3, 2)}
            entry[name]["gflops"] = _rate(flops, seconds)
        result[kind] = entry
    return result


def layer_timings_section(quick, jit_compile=False):
    """The `layer_timings` section (`jit_compile` does not apply: the stages run as plain `tf.function`s)."""
    result = {
        "peak": {
            **nominal_peak(),
            "matmul_4096_float32_gflops": matmul_peak("float32"),
            "matmul_4096_bfloat16_gflops": matmul_peak("bfloat16"),
        }
    }
    result["demo_width"] = generator_layer_timings(8, 16, iterations=5 if quick else 10)
    if not quick:
        result["paper_width"] = generator_layer_timings(64, 8, iterations=5)
    return result
