"""`python -m tfxmodal.bench --only rehearsal`: the face → music paper config at full data shape, counts cut.

A rehearsal of `configs/face2music_paper.yaml` on this machine, at two data
sizes, one 4× the other:

1. writes a VGGFace2-shaped tree (`<identity>/<nnnn>_01.jpg`, hundreds of
   identities, 4–12 JPEGs each, 200–300 px, no two of one size): real faces
   (scikit-image's LFW crops) enlarged, tinted per identity, shifted, flipped
   and lit per image;
2. writes Magenta-schema NSynth TFRecord shards (`nsynth-{split}.tfrecord-
   0000k-of-0000n`, every key of the release, 64,000-sample notes of
   harmonic tones with a decay, acoustic, pitch 24–84);
3. writes a ResNet-50 weights file in the keras-vggface h5 layout
   (`rcmalli_vggface_tf_notop_resnet50.h5`: Keras 2 names with '/', weights
   of a freshly initialised network — not trained, nothing is downloaded);
4. runs `python -m tfxmodal.train --config configs/face2music_paper.yaml`
   with only counts changed by `--set` (faces embedded, PCA faces, ψ and GAN
   steps, classifier steps, statistics clips: see `cut_settings`) — d = 64,
   batch 128, 224² ResNet-50, 5 critic steps, the aux variant — then
   `python -m tfxmodal.evaluate` on 1,000 faces; each in its own process,
   whose peak resident memory comes from `wait4`.

Returns JSON: per size, the data written, each stage's wall seconds (the
run summary's `stage_seconds`), faces/s embedded, notes/s read, seconds per
GAN iteration (between the last two checkpoints, one checkpoint write
included), and each process's peak resident memory; then the ratio of the
peaks. A benchmark: it asserts nothing. `TFXMODAL_REHEARSAL_DIR` keeps the
data and runs there (default: a temporary directory, removed).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import h5py
import keras
import numpy as np
import tensorflow as tf
from PIL import Image
from skimage.data import lfw_subset

from tfxmodal.data.nsynth.families import FAMILIES, PAPER_FAMILIES, QUALITIES
from tfxmodal.domain import NOTE_SAMPLES, SAMPLE_RATE
from tfxmodal.models.face_embedder import keras_layer_name, vggface_resnet50
from tfxmodal.utils.files import read_json

# One size's counts; the large size multiplies every count by 4.
SMALL = {"identities": 150, "max_faces": 800, "train_notes": 800, "eval_notes": 200}
SCALE = 4
GAN_STEPS = 3
EVALUATION_FACES = 1000
# NSynth has no acoustic synth_lead: the acoustic notes come from the paper's ten families.
ACOUSTIC_FAMILIES = tuple(FAMILIES.index(name) for name in PAPER_FAMILIES)


def write_face_tree(root, identities, seed=0):
    """`<root>/n<id>/<k>_01.jpg` faces; returns `{"identities", "images", "bytes"}`."""
    faces = (lfw_subset()[:100] * 255.0).astype(np.float32)
    rng = np.random.default_rng(seed)
    images = total_bytes = 0
    for identity in range(identities):
        folder = os.path.join(root, f"n{identity + 1:06d}")
        os.makedirs(folder, exist_ok=True)
        base = Image.fromarray(faces[identity % len(faces)].astype(np.uint8))
        tint = rng.uniform(0.75, 1.15, 3)
        for index in range(int(rng.integers(4, 13))):
            width, height = int(rng.integers(200, 301)), int(rng.integers(220, 321))
            zoom = rng.uniform(1.0, 1.25)
            big = np.asarray(base.resize((int(width * zoom), int(height * zoom)), Image.Resampling.BICUBIC), np.float32)
            top = int(rng.integers(0, big.shape[0] - height + 1))
            left = int(rng.integers(0, big.shape[1] - width + 1))
            grey = big[top : top + height, left : left + width]
            if rng.random() < 0.5:
                grey = grey[:, ::-1]
            light = rng.uniform(0.8, 1.2)
            rgb = grey[..., None] * tint * light + rng.normal(0.0, 4.0, (height, width, 3))
            path = os.path.join(folder, f"{index + 1:04d}_01.jpg")
            Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(path, quality=int(rng.integers(85, 96)))
            images += 1
            total_bytes += os.path.getsize(path)
    return {"identities": identities, "images": images, "bytes": total_bytes}


def _note_example(note_id, family, instrument, pitch, velocity, rng):
    t = np.arange(NOTE_SAMPLES) / SAMPLE_RATE
    f0 = 440.0 * 2.0 ** ((pitch - 69) / 12.0)
    harmonics = np.arange(1, 9)
    harmonics = harmonics[harmonics * f0 < 7900]
    weights = rng.uniform(0.2, 1.0, len(harmonics)) / harmonics
    tone = np.sum(weights[:, None] * np.sin(2 * np.pi * f0 * harmonics[:, None] * t), axis=0)
    envelope = np.minimum(t / 0.01, 1.0) * np.exp(-t * rng.uniform(0.5, 3.0))
    audio = (0.8 * velocity / 127.0 * tone * envelope / max(np.abs(tone).max(), 1e-6)).astype(np.float32)
    instrument_str = f"{FAMILIES[family]}_acoustic_{instrument:03d}"
    on = [int(rng.random() < 0.2) for _ in QUALITIES]

    def ints(*values):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))

    def strings(*values):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v.encode() for v in values]))

    feature = {
        "note": ints(note_id),
        "note_str": strings(f"{instrument_str}-{pitch:03d}-{velocity:03d}"),
        "pitch": ints(pitch),
        "velocity": ints(velocity),
        "sample_rate": ints(SAMPLE_RATE),
        "audio": tf.train.Feature(float_list=tf.train.FloatList(value=audio)),
        "qualities": ints(*on),
        "qualities_str": strings(*[name for name, flag in zip(QUALITIES, on) if flag]),
        "instrument": ints(instrument),
        "instrument_str": strings(instrument_str),
        "instrument_family": ints(family),
        "instrument_family_str": strings(FAMILIES[family]),
        "instrument_source": ints(0),
        "instrument_source_str": strings("acoustic"),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def write_nsynth_shards(directory, split, notes, shards, seed=0):
    """`nsynth-{split}.tfrecord-0000k-of-0000n` files of `notes` notes; returns their paths."""
    os.makedirs(directory, exist_ok=True)
    rng = np.random.default_rng([seed, len(split)])
    paths = [os.path.join(directory, f"nsynth-{split}.tfrecord-{k:05d}-of-{shards:05d}") for k in range(shards)]
    writers = [tf.io.TFRecordWriter(path) for path in paths]
    try:
        for note_id in range(notes):
            family = int(rng.choice(ACOUSTIC_FAMILIES))
            instrument = family * 30 + int(rng.integers(0, 30))
            example = _note_example(
                note_id, family, instrument, int(rng.integers(24, 85)), int(rng.choice([25, 50, 75, 100, 127])), rng
            )
            writers[note_id % shards].write(example)
    finally:
        for writer in writers:
            writer.close()
    return paths


def write_vggface_weights(path, seed=0):
    """A freshly initialised ResNet-50 saved in the keras-vggface h5 layout; returns `path`."""
    keras.utils.set_random_seed(seed)
    backbone = vggface_resnet50(224)
    names = []
    with h5py.File(path, "w") as handle:
        for layer in backbone.layers:
            if not layer.weights:
                continue
            original = layer.name.replace("_bn", "/bn").replace("conv1_7x7_s2", "conv1/7x7_s2")
            if keras_layer_name(original) != layer.name:
                raise ValueError(f"{layer.name}: no keras-vggface name for this layer")
            kinds = ["kernel"] if len(layer.weights) == 1 else ["gamma", "beta", "moving_mean", "moving_variance"]
            group = handle.create_group(original)
            weight_names = []
            for kind, variable in zip(kinds, layer.weights):
                group.create_dataset(f"{original}/{kind}:0", data=np.asarray(variable.numpy(), np.float32))
                weight_names.append(f"{original}/{kind}:0".encode())
            group.attrs["weight_names"] = weight_names
            names.append(original.encode())
        handle.attrs["layer_names"] = names
    return path


def cut_settings(size, faces_root, shard_dir, weights):
    """The `--set` overrides of one size: only counts (and the local paths) differ from the paper config."""
    return {
        "faces.path": faces_root,
        "faces.max_faces": size["max_faces"],
        "face_embedder.weights": weights,
        "face_embedder.projection_faces": size["max_faces"] // 2,
        "audio.source": "tfrecord",
        "audio.files": [shard_dir],
        "audio_embedder.steps": 4,
        "audio_embedder.validate_every": 2,
        "audio_embedder.validation_examples": min(200, size["eval_notes"]),
        "train.steps": GAN_STEPS,
        "train.checkpoint_every": 1,
        "train.shuffle_buffer": 10000,
        "stats.max_examples": min(1000, size["train_notes"]),
        "evaluation.examples": 64,
        "evaluation.classifier_steps": 4,
        "evaluation.classifier_validate_every": 2,
        "export.dir": None,
    }


def run_measured(argv, log_path, env=None):
    """Runs `argv` to completion; `{"seconds", "peak_memory_mb", "returncode"}` (peak RSS from `wait4`)."""
    started = time.perf_counter()
    with open(log_path, "w") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "peak_memory_mb": round(usage.ru_maxrss / 1024.0, 1),  # Linux: kilobytes
        "returncode": process.returncode,
    }


def _tail(path, lines=15):
    with open(path, errors="replace") as handle:
        return "".join(handle.readlines()[-lines:])


def _iteration_seconds(run_dir):
    """Seconds between the last two checkpoints (one GAN iteration plus one checkpoint write)."""
    directory = os.path.join(run_dir, "checkpoints")
    stamps = sorted(
        (int(name.split("-")[1].split(".")[0]), os.path.getmtime(os.path.join(directory, name)))
        for name in os.listdir(directory)
        if name.startswith("ckpt-") and name.endswith(".index")
    )
    return round(stamps[-1][1] - stamps[-2][1], 1) if len(stamps) >= 2 else None


def rehearse_size(name, size, work, config, log=print):
    """Writes one size's data, trains and evaluates; the JSON-able measurements."""
    data_dir = os.path.join(work, name)
    faces_root = os.path.join(data_dir, "vggface2", "train")
    shard_dir = os.path.join(data_dir, "nsynth")
    weights = os.path.join(work, "rcmalli_vggface_tf_notop_resnet50.h5")
    written = {}
    started = time.perf_counter()
    if not os.path.isdir(faces_root):
        written["faces"] = write_face_tree(faces_root, size["identities"], seed=1)
    written["faces_seconds"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    if not os.path.isdir(shard_dir):
        for split, notes, shards in (
            ("train", size["train_notes"], 8),
            ("valid", size["eval_notes"], 2),
            ("test", size["eval_notes"], 2),
        ):
            write_nsynth_shards(shard_dir, split, notes, shards, seed=2)
    written["nsynth_seconds"] = round(time.perf_counter() - started, 1)
    written["nsynth_bytes"] = sum(os.path.getsize(os.path.join(shard_dir, f)) for f in os.listdir(shard_dir))
    if not os.path.exists(weights):
        write_vggface_weights(weights)
    run_dir = os.path.join(data_dir, "run")
    settings = cut_settings(size, faces_root, shard_dir, weights)
    argv = [sys.executable, "-m", "tfxmodal.train", "--config", config, "--out", run_dir]
    for key, value in settings.items():
        argv += ["--set", f"{key}={json.dumps(value)}"]
    log(f"rehearsal {name}: training ({size})")
    train = run_measured(argv, os.path.join(data_dir, "train.log"))
    result = {"size": size, "written": written, "train": train}
    if train["returncode"] != 0:
        result["error"] = _tail(os.path.join(data_dir, "train.log"))
        return result
    summary = read_json(os.path.join(run_dir, "run_summary.json"))
    stages = summary["stage_seconds"]
    views = 1  # the paper config embeds each face once (faces.augment_copies 0)
    result.update(
        stage_seconds=stages,
        stage_peak_memory_mb=summary.get("stage_peak_memory_mb"),
        faces_embedded=size["max_faces"] * views,
        faces_per_second=round(size["max_faces"] * views / stages["source_embeddings"], 2),
        target_notes=summary["target_notes"],
        notes_per_second_read=round(summary["target_notes"] / stages["count_target_notes"], 1),
        gan_seconds_per_iteration=_iteration_seconds(run_dir),
    )
    log(f"rehearsal {name}: evaluating on {EVALUATION_FACES} faces")
    evaluate = [
        sys.executable,
        "-m",
        "tfxmodal.evaluate",
        "--run",
        run_dir,
        "--max-examples",
        str(EVALUATION_FACES),
        "--classifier-steps",
        "4",
    ]
    result["evaluate"] = run_measured(evaluate, os.path.join(data_dir, "evaluate.log"))
    if result["evaluate"]["returncode"] != 0:
        result["error"] = _tail(os.path.join(data_dir, "evaluate.log"))
    return result


def rehearsal_section(quick=False, jit_compile=False, work_dir=None, sizes=None, config=None, log=print):
    """Both sizes and the memory ratio; see the module docstring. `quick` is ignored (one size is not a test)."""
    del quick, jit_compile
    config = config or os.path.join(os.path.dirname(__file__), "..", "..", "configs", "face2music_paper.yaml")
    config = os.path.abspath(config)
    sizes = sizes or {"small": SMALL, "large": {key: value * SCALE for key, value in SMALL.items()}}
    keep = work_dir or os.environ.get("TFXMODAL_REHEARSAL_DIR")
    work = keep or tempfile.mkdtemp(prefix="tfxmodal_rehearsal.")
    os.makedirs(work, exist_ok=True)
    started = time.perf_counter()
    try:
        report = {name: rehearse_size(name, size, work, config, log) for name, size in sizes.items()}
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    names = list(sizes)
    peaks = {
        name: max(report[name]["train"]["peak_memory_mb"], report[name].get("evaluate", {}).get("peak_memory_mb", 0))
        for name in names
    }
    report["peak_memory_mb"] = peaks
    if len(names) == 2 and peaks[names[0]]:
        report["peak_memory_ratio"] = round(peaks[names[1]] / peaks[names[0]], 3)
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    report["config"] = config
    return report
