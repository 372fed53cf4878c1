"""Evaluation of a face-to-music run: Table 1's metrics, Figures 2-3, a report.

- FID and IS with the pitch and the family classifier (Sec. 3.1.1-3.1.2):
  translations against the target training set, and the real test split
  against the training set as the reference row.
- PC (Sec. 3.1.3): Pearson correlation of the pairwise L2 distances of the
  face embeddings and of φ of their translations.
- SV (Sec. 3.1.4): each translation gets the family of the nearest real
  family cluster (centroid) in φ space; SV is the silhouette of the face
  embeddings grouped by those labels.
- `pitch_accuracy`: how often the pitch classifier hears the pitch the
  generator was asked for (not in the paper; shows the conditioning works).

Faces are translated at pitches drawn (seeded) from the target set's pitch
distribution, as the paper samples random pitches.
"""

import dataclasses
import os
import tempfile

import numpy as np
import tensorflow as tf

from tfxmodal.audio.wav import write_wav
from tfxmodal.data.images import read_image, resize_image
from tfxmodal.data.nsynth import families as nsynth_families
from tfxmodal.domain import LOWEST_PITCH, SAMPLE_RATE, midi_pitch
from tfxmodal.face2music import classifiers as classifier_lib
from tfxmodal.face2music import data, paper_tables, report
from tfxmodal.face2music import figures as figure_lib
from tfxmodal.face2music.probe import fixed_pitch_correlation
from tfxmodal.face2music.trained import load_trained
from tfxmodal.metrics import (
    assign_nearest_cluster,
    frechet_distance,
    inception_score,
    pairwise_distance_correlation,
    silhouette_value,
)
from tfxmodal.models.face_embedder import embed
from tfxmodal.utils.files import read_json, save_json
from tfxmodal.utils.tracing import infer

REPORT_SAMPLES = 30
SPECTROGRAMS = 6
# Fig. 3's tile side: evaluation keeps faces only at this size.
THUMBNAIL_SIZE = 64
# Family labels here are class indices over the paper's ten families (classifiers.FAMILY_CLASSES).
FAMILY_NAMES = nsynth_families.PAPER_FAMILIES


def _batched(function, inputs, batch_size=128):
    return np.concatenate([np.asarray(function(inputs[i : i + batch_size])) for i in range(0, len(inputs), batch_size)])


def source_faces(run, limit, seed, thumbnail_size=THUMBNAIL_SIZE):
    """Up to `limit` unaugmented source faces: `(embeddings (n, 512), thumbnails or None, manifest or None)`.

    The faces stream a batch at a time; only `thumbnail_size`² uint8
    thumbnails (Fig. 3's tiles) are kept, 12 KB a face. With precomputed
    embeddings the thumbnails are read from the image paths a `.npz`
    embeddings file carries (None when it has none or a file is gone).
    """
    faces = run.config.faces
    if faces.source == "embeddings":
        result = data.embed_source_faces(run.face_embedder, dataclasses.replace(faces, max_faces=limit), seed, 0, None)
        return result["embeddings"], _thumbnails_of_paths(result["paths"], thumbnail_size), None
    selection = data.face_source(faces).sample(limit, seed, faces.balance_identities)
    embeddings, thumbnails = [], []
    for images in data.face_batches(selection, int(run.face_embedder.image_size)):
        embeddings.append(embed(run.face_embedder, images))
        thumbnails.append(_thumbnails(images, thumbnail_size))
    return np.concatenate(embeddings), np.concatenate(thumbnails), data.manifest(selection, source=faces.source)


def _thumbnails(images, size):
    resized = tf.image.resize(tf.cast(images, tf.float32), (size, size), method="bilinear", antialias=True)
    return np.asarray(tf.cast(tf.round(tf.clip_by_value(resized, 0.0, 255.0)), tf.uint8))


def _thumbnails_of_paths(paths, size):
    if not paths or not all(os.path.isfile(path) for path in paths):
        return None
    # Cropped to the central square like the faces the embedder saw.
    return np.stack([_thumbnails(resize_image(read_image(path), size, crop=True)[None], size)[0] for path in paths])


def translate(run, embeddings, pitch_classes):
    """Waveforms `(n, 8192)` of the generator for embeddings and pitch classes."""
    outputs = [
        infer(run.generator, embeddings[i : i + 128], pitch_classes[i : i + 128])[..., 0]
        for i in range(0, len(embeddings), 128)
    ]
    return np.concatenate(outputs)


def evaluate(
    run_dir,
    out_dir,
    max_examples=None,
    seed=0,
    classifiers_dir=None,
    classifier_steps=None,
    classifier_width=None,
    allow_weak_classifiers=False,
    log=print,
):
    """Computes the metrics of `run_dir`, writes `metrics.json`, plots and a report to `out_dir`.

    Args:
        run_dir: a face2music run directory (with checkpoints).
        out_dir: where the evaluation goes.
        max_examples: faces translated and real notes compared (each at
            most); None: the run's `evaluation.fid_examples` (10,000).
        seed: seeds face order, pitches and plots.
        classifiers_dir: pitch/family classifiers (trained there if missing);
            default: the run's `evaluation.classifiers_dir`, else
            `<parent of run_dir>/classifiers` (where its learning curve's are).
        classifier_steps, classifier_width: override the run's
            `evaluation.classifier_steps` / `classifier_width`.
        allow_weak_classifiers: report the FID and IS of a classifier that
            does not beat its MFCC baseline; by default they are withheld
            (None), the reason in `withheld_metrics`.

    Returns:
        The metrics dict (also in `out_dir/metrics.json`).
    """
    run = load_trained(run_dir)
    audio = run.config.audio
    if max_examples is None:
        max_examples = run.config.evaluation.fid_examples
    spec = classifier_lib.classifier_spec(run.config)
    if classifier_steps is not None:
        spec = dataclasses.replace(spec, steps=classifier_steps)
    if classifier_width is not None:
        spec = dataclasses.replace(spec, width=classifier_width)
    classifiers_dir = (
        classifiers_dir or run.config.evaluation.classifiers_dir or classifier_lib.default_classifiers_dir(run_dir)
    )
    models, classifier_info = classifier_lib.load_or_train(classifiers_dir, audio, spec, seed, log=log)

    log(f"evaluating {run_dir} (step {run.step}, variant {run.config.model.variant})")
    real_train, train_pitch, train_family = data.target_subset(audio, max_examples, seed, with_family=True)
    test_audio = dataclasses.replace(audio, split=spec.test_split)
    real_test, _, _ = data.target_subset(test_audio, max_examples, seed, with_family=True)
    embeddings, images, drawn = source_faces(run, max_examples, seed)
    rng = np.random.default_rng(seed)
    pitch_classes = rng.choice(train_pitch, size=len(embeddings)).astype(np.int32)
    translations = translate(run, embeddings, pitch_classes)

    metrics = {
        "run": os.path.abspath(run_dir),
        "variant": run.config.model.variant,
        "step": run.step,
        "seed": seed,
        "run_seed": run.config.seed,
        "translations": len(translations),
        "real_train_examples": len(real_train),
        "real_test_examples": len(real_test),
        "classifier_test_accuracy": classifier_info["accuracy"],
        "mfcc_baseline_accuracy": classifier_info.get("mfcc_baseline", {}),
    }
    if drawn is not None:
        # Which faces PC, SV and Figures 2a/3 rest on: a seeded sample of the whole source.
        metrics["faces_drawn_of"] = drawn["of"]
        metrics["faces_identities"] = drawn["identities"]
    for kind, model in models.items():
        train_features, _ = classifier_lib.features_and_probabilities(model, real_train)
        test_features, test_probabilities = classifier_lib.features_and_probabilities(model, real_test)
        gen_features, gen_probabilities = classifier_lib.features_and_probabilities(model, translations)
        metrics[f"fid_{kind}"] = frechet_distance(gen_features, train_features)
        metrics[f"is_{kind}"] = inception_score(gen_probabilities)
        metrics[f"real_test_fid_{kind}"] = frechet_distance(test_features, train_features)
        metrics[f"real_test_is_{kind}"] = inception_score(test_probabilities)
        if kind == "pitch":
            metrics["pitch_accuracy"] = float(np.mean(np.argmax(gen_probabilities, axis=1) == pitch_classes))
    weak = {} if allow_weak_classifiers else classifier_lib.weak_classifiers(classifier_info)
    for kind, (accuracy, baseline) in weak.items():
        # A classifier a linear model on MFCC statistics beats cannot rank generators (its accuracy, the floor).
        for key in (f"fid_{kind}", f"is_{kind}", f"real_test_fid_{kind}", f"real_test_is_{kind}"):
            metrics[key] = None
        metrics.setdefault("withheld_metrics", {})[kind] = (
            f"the {kind} classifier's test accuracy {accuracy:.4f} does not beat its MFCC baseline {baseline:.4f}"
        )

    phi_real = _batched(lambda x: run.audio_metric(x), real_train)
    phi_generated = _batched(lambda x: run.audio_metric(x), translations)
    real_families = np.asarray([classifier_lib.FAMILY_CLASSES.get(int(f), -1) for f in train_family])
    known = real_families >= 0
    assigned = assign_nearest_cluster(phi_generated, phi_real[known], real_families[known])
    metrics["pc"] = pairwise_distance_correlation(embeddings, phi_generated)
    # The faces' pitches are drawn independently of them: PC at one pitch isolates the timbre's geometry.
    metrics["pc_fixed_pitch"] = fixed_pitch_correlation(run.generator, run.audio_metric, embeddings)
    metrics["sv"] = silhouette_value(embeddings, assigned)
    metrics["assigned_family_counts"] = {
        name: int(np.sum(assigned == index)) for index, name in enumerate(nsynth_families.PAPER_FAMILIES)
    }
    _write_outputs(
        out_dir,
        metrics,
        run,
        phi_real[known],
        real_families[known],
        phi_generated,
        embeddings,
        images,
        assigned,
        translations,
        pitch_classes,
        seed,
        real_train,
        train_pitch,
        run_dir,
    )
    return metrics


def _write_outputs(
    out_dir,
    metrics,
    run,
    phi_real,
    real_families,
    phi_generated,
    embeddings,
    images,
    assigned,
    translations,
    pitch_classes,
    seed,
    real_notes,
    real_pitch_classes,
    run_dir,
):
    os.makedirs(out_dir, exist_ok=True)
    figures = {
        "Audio metric space (t-SNE): real notes by family, translations in red (Fig. 2b)": figure_lib.tsne_audio_space(
            phi_real,
            real_families,
            phi_generated,
            os.path.join(out_dir, "tsne_audio_space.png"),
            seed=seed,
            family_names=FAMILY_NAMES,
        ),
        "Face embedding space (t-SNE) by assigned family (Fig. 2a)": figure_lib.tsne_face_space(
            embeddings,
            assigned,
            os.path.join(out_dir, "tsne_face_space.png"),
            seed=seed,
            family_names=FAMILY_NAMES,
        ),
    }
    if images is not None:
        figures["Faces by assigned family (Fig. 3)"] = figure_lib.face_grid(
            images,
            assigned,
            os.path.join(out_dir, "faces_by_family.png"),
            seed=seed,
            family_names=FAMILY_NAMES,
        )
    pairs = [i for i in range(len(translations)) if np.any(real_pitch_classes == pitch_classes[i])][:SPECTROGRAMS]
    if pairs:
        real = [real_notes[np.flatnonzero(real_pitch_classes == pitch_classes[i])[0]] for i in pairs]
        path = os.path.join(out_dir, "spectrograms.png")
        figure_lib.spectrogram_pairs(
            real, translations[pairs], [midi_pitch(int(pitch_classes[i])) for i in pairs], path
        )
        figures["Spectrograms: a real note of the requested pitch (left) beside the translation (right)"] = path
    tables = [paper_tables.face2music_table(metrics, metrics["variant"])]
    curve_path = os.path.join(run_dir, "curve.json")
    if os.path.exists(curve_path):
        tables.append(paper_tables.curve_table(read_json(curve_path)["points"]))
        if os.path.exists(os.path.join(run_dir, "curve.png")):
            figures[
                "Learning curve while training (dashed: real data: the test split's FIDs, the real notes' level)"
            ] = os.path.join(run_dir, "curve.png")
    accuracy = metrics["classifier_test_accuracy"]
    baselines = metrics["mfcc_baseline_accuracy"]
    with tempfile.TemporaryDirectory(prefix="tfxmodal_report_wavs.") as wav_dir:
        order = np.random.default_rng(seed).permutation(len(translations))[:REPORT_SAMPLES]
        samples = []
        for index in order:
            path = os.path.join(wav_dir, f"translation_{index:05d}.wav")
            write_wav(path, translations[index], SAMPLE_RATE)
            samples.append(
                {
                    "face": None if images is None else images[index],
                    "wav": path,
                    "family": int(assigned[index]),
                    "pitch": int(pitch_classes[index]) + LOWEST_PITCH,
                    "label": f"face {index}",
                }
            )
        facts = {
            "variant": metrics["variant"],
            "generator steps": metrics["step"],
            "faces translated": metrics["translations"],
            "faces drawn from": metrics.get("faces_drawn_of"),
            "identities among them": metrics.get("faces_identities"),
            "real notes compared (train / test)": f"{metrics['real_train_examples']} / {metrics['real_test_examples']}",
            "evaluation seed / run seed": f"{metrics['seed']} / {metrics['run_seed']}",
        }
        report.write_report(
            os.path.join(out_dir, "report"),
            title=f"face2music evaluation: {metrics['variant']} at step {metrics['step']}",
            metrics=facts,
            tables=tables,
            plots=figures,
            samples=samples,
            notes=[
                f"Face embedder: {run.config.face_embedder.kind}.",
                "Classifiers of FID / IS (test-split accuracy; a logistic regression on MFCC statistics): "
                + ", ".join(
                    f"{kind} {100 * value:.1f} %" + (f" ({100 * baselines[kind]:.1f} %)" if kind in baselines else "")
                    for kind, value in accuracy.items()
                )
                + "."
                + "".join(f" Withheld: {reason}." for reason in metrics.get("withheld_metrics", {}).values()),
                "Assigned families of the translations (SV's clusters): "
                + ", ".join(f"{name} {count}" for name, count in metrics["assigned_family_counts"].items() if count)
                + ".",
            ],
            family_names=FAMILY_NAMES,
        )
    save_json(os.path.join(out_dir, "metrics.json"), metrics)
