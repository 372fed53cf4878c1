"""`task: face2music` — the whole face-to-music run, resumable stage by stage.

Stages, each writing its artifact into the run directory atomically and
skipped when the artifact is already there (so re-running the same command
resumes):

1. `config.yaml`            the resolved config (a different config in the
                            same run directory is refused); then every
                            target note is read and checked, on every run
                            (`audio_manifest.json` for TFRecord sources:
                            the records read, those skipped);
2. `face_embedder.weights.h5`, `face_embedder.json`
                            the face metric f and which embedder it is;
3. `source_embeddings.npy`  f(x) for the source faces (the GAN's input space),
                            a seeded sample of `faces.max_faces`, streamed into
                            `face_embedding_shards/` (resumable per shard);
                            which faces were drawn: `faces_manifest.json`; the
                            plain embeddings with their image paths:
                            `face_embeddings.npz` (usable as faces.source
                            embeddings);
4. `audio_embedder.weights.h5`
                            ψ, trained with the triplet loss unless given;
5. `stats.json`             λ1, λ2 of φ and the (μ, σ) of pairwise distances;
6. `<classifiers_dir>/`     with `evaluation.every_steps`: the pitch and
                            family classifiers of FID / IS (shared with
                            `python -m tfxmodal.evaluate`);
7. `checkpoints/`, `logs/`  the GAN (`Face2MusicGAN` or the AAE),
                            checkpointed every `train.checkpoint_every`
                            generator steps; with `evaluation.every_steps`,
                            `curve.json` / `curve.png` (the learning curve);
8. `samples/*.wav`, export  translations of fixed faces and the SavedModel.
"""

import dataclasses
import os

import numpy as np

from tfxmodal.audio.wav import write_wav
from tfxmodal.data.faces.embeddings import save_npz_embeddings
from tfxmodal.domain import CLIP_SAMPLES, NUM_PITCHES, SAMPLE_RATE, midi_pitch
from tfxmodal.errors import ConfigError, NsynthDataError
from tfxmodal.evaluation.curve import LearningCurve, LearningCurveCallback
from tfxmodal.export.face2music import export_face2music
from tfxmodal.face2music import classifiers as classifier_lib
from tfxmodal.face2music import data
from tfxmodal.face2music.audio_embedder import train_audio_embedder
from tfxmodal.face2music.networks import build_gan
from tfxmodal.face2music.probe import Face2MusicProbe
from tfxmodal.losses import pairwise_distance_stats
from tfxmodal.models import AudioEmbedder, AudioMetric
from tfxmodal.tasks.training_run import TrainingRun
from tfxmodal.trainers.callbacks import TrainingSummaries
from tfxmodal.trainers.distribute import is_chief
from tfxmodal.utils.files import read_json, save_json, save_npy, save_weights
from tfxmodal.utils.tracing import infer

FACE_SHARDS = "face_embedding_shards"


def fixed_pitch_classes(count):
    """The pitch classes of the fixed sample faces: spread evenly over MIDI 36-72."""
    return np.linspace(12, NUM_PITCHES - 13, count).round().astype(np.int32)


class Face2MusicRun(TrainingRun):
    """One face2music run directory and the stages that fill it (`task` is set where `TASK` is declared)."""

    # -- stage 2-3 -------------------------------------------------------
    def face_source(self):
        """The image source of `faces`, indexed once per run process (None for precomputed embeddings)."""
        if self.config.faces.source == "embeddings":
            return None
        if getattr(self, "_face_source", None) is None:
            self._face_source = data.face_source(self.config.faces)
        return self._face_source

    def face_embedder(self):
        spec = self.config.face_embedder
        weights_path = self.path("face_embedder.weights.h5")
        embedder = data.make_face_embedder(spec)
        if os.path.exists(weights_path):
            embedder.load_weights(weights_path)
            return embedder
        self.log(f"preparing face embedder ({spec.kind})")
        description = data.fit_face_embedder(embedder, spec, self.config.faces, self.config.seed, self.face_source())
        save_weights(embedder, weights_path)
        save_json(self.path("face_embedder.json"), description)
        return embedder

    def source_embeddings(self, embedder, strategy=None):
        """`(source embeddings, fixed embeddings, fixed face images)`, computed once (streamed, in shards)."""
        names = ("source_embeddings.npy", "fixed_embeddings.npy", "fixed_faces.npy")
        if not os.path.exists(self.path(names[0])):
            self.log("embedding source faces")
            faces = self.config.faces
            result = data.embed_source_faces(
                embedder,
                faces,
                self.config.seed,
                self.config.export.sample_faces,
                self.path(FACE_SHARDS),
                strategy,
                self.log,
                self.face_source(),
            )
            drawn = result["manifest"]
            if drawn is not None:
                identities = "" if drawn["identities"] is None else f" of {drawn['identities']} identities"
                skipped = f"; {len(drawn['skipped'])} bad file(s) skipped" if drawn["skipped"] else ""
                self.log(f"source faces: {drawn['drawn']} drawn of {drawn['of']}{identities}{skipped}")
                save_json(self.path("faces_manifest.json"), drawn)
            plain = len(result["identities"])
            # The faces the GAN translates, reusable as `faces.source: embeddings` with their image paths.
            save_npz_embeddings(
                self.path("face_embeddings.npz"), result["embeddings"][:plain], result["identities"], result["paths"]
            )
            arrays = (result["embeddings"], result["fixed_embeddings"], result["fixed_images"])
            # The marker file goes last: its presence means the stage is complete.
            for name, array in reversed(list(zip(names, arrays))):
                save_npy(self.path(name), array)
        return tuple(np.load(self.path(name)) for name in names)

    def check_target_notes(self):
        """The target notes, counted and checked (`face2music_data.check_target_notes`); returns their number.

        TFRecord sources write `audio_manifest.json` (the records read and
        those skipped under `audio.skip_bad_records`).
        """
        audio = self.config.audio
        manifest = data.check_target_notes(audio)
        if audio.source == "tfrecord":
            skipped = f"; {manifest['skipped_count']} bad record(s) or file(s) skipped" if manifest["skipped"] else ""
            self.log(f"target notes: {manifest['notes']} of {manifest['records']} records{skipped}")
            save_json(self.path("audio_manifest.json"), manifest)
        if manifest["notes"] < 2:
            read = f" of {manifest['records']} records" if "records" in manifest else ""
            raise NsynthDataError(
                f"audio ({audio.source}, split {audio.split}): {manifest['notes']} note(s) kept{read}, keeping "
                f"{data.filter_description(audio)}; the GAN needs at least 2"
            )
        return manifest["notes"]

    # -- stage 4 ---------------------------------------------------------
    def audio_embedder(self, strategy):
        spec = self.config.audio_embedder
        target = self.path("audio_embedder.weights.h5")
        source = spec.weights or (target if os.path.exists(target) else None)
        if source:
            with strategy.scope():
                embedder = AudioEmbedder(width=spec.width, name="audio_embedder")
                embedder.build((None, CLIP_SAMPLES))
            embedder.load_weights(source)
            return embedder
        embedder, trained = train_audio_embedder(spec, self.config.audio, self.config.seed, strategy, log=self.log)
        # Every worker keeps ψ (the same weights on all) in its run directory,
        # like the other stage artifacts: a resumed worker must load it, not
        # train alone while the others load theirs.
        save_weights(embedder, target)
        save_json(self.path("audio_embedder.json"), trained)
        return embedder

    # -- stage 5 ---------------------------------------------------------
    def statistics(self, audio_metric, source_embeddings):
        target = self.path("stats.json")
        if os.path.exists(target):
            stats = read_json(target)
            audio_metric.set_scales(stats["psi_scale"], stats["mfcc_scale"])
            return stats
        self.log("computing audio-metric scales and distance statistics")
        limit = self.config.stats.max_examples
        clips, _ = data.target_subset(self.config.audio, limit, self.config.seed)
        psi_scale, mfcc_scale = audio_metric.fit_scales(clips)
        phi = np.concatenate([np.asarray(audio_metric(clips[i : i + 256])) for i in range(0, len(clips), 256)])
        mu_y, sigma_y = pairwise_distance_stats(phi, max_points=limit, seed=self.config.seed)
        mu_x, sigma_x = pairwise_distance_stats(source_embeddings, max_points=limit, seed=self.config.seed)
        stats = {
            "psi_scale": psi_scale,
            "mfcc_scale": mfcc_scale,
            "source_mean": mu_x,
            "source_std": sigma_x,
            "target_mean": mu_y,
            "target_std": sigma_y,
            "target_examples": len(clips),
            "source_examples": int(min(len(source_embeddings), limit)),
        }
        save_json(target, stats)
        return stats

    # -- stage 6 ---------------------------------------------------------
    def classifiers(self):
        """The pitch/family classifiers of the learning curve (trained once, shared), or None."""
        spec = self.config.evaluation
        if not spec.every_steps:
            return None
        directory = spec.classifiers_dir or classifier_lib.default_classifiers_dir(self.out_dir)
        try:
            models, info = classifier_lib.load_or_train(
                directory,
                self.config.audio,
                classifier_lib.classifier_spec(self.config),
                self.config.seed,
                log=self.log,
            )
        except ValueError as error:
            raise ConfigError(f"evaluation.classifiers_dir: {error}") from None
        return models, info

    # -- stage 7 ---------------------------------------------------------
    def chief_callbacks(
        self, gan, generator, source_embeddings, fixed_embeddings, fixed_pitches, config_text, evaluation
    ):
        callbacks = [
            TrainingSummaries(
                self.path("logs"),
                gan.named_optimizers(),
                gan.step_counter,
                config_text,
                generator,
                fixed_embeddings,
                fixed_pitches,
            )
        ]
        if evaluation is not None:
            probe = self.probe(
                generator,
                evaluation[0],
                source_embeddings,
                getattr(gan, "audio_metric", None),
                gan.networks().get("discriminator"),
            )
            curve = LearningCurve(
                self.path("curve.json"),
                self.path("curve.png"),
                probe.panels,
                probe.references,
                title=f"face2music {self.config.model.variant} ({self.out_dir})",
            )
            every = self.config.evaluation.every_steps
            callbacks.append(
                LearningCurveCallback(probe, curve, every, gan.step_counter, self.path("logs"), log=self.log)
            )
        return callbacks

    def probe(self, generator, classifiers, source_embeddings, audio_metric, discriminator=None):
        """The learning curve's fixed evaluation set: unaugmented faces at seeded pitches, real notes."""
        spec, seed = self.config.evaluation, self.config.seed
        real, real_pitch = data.target_subset(self.config.audio, spec.examples, seed)
        test, test_pitch = data.target_subset(
            dataclasses.replace(self.config.audio, split=classifier_lib.classifier_spec(self.config).test_split),
            spec.examples,
            seed,
        )
        # source_embeddings holds every face once unaugmented, then the augmented copies.
        plain = source_embeddings[: len(source_embeddings) // (self.config.faces.augment_copies + 1)]
        rng = np.random.default_rng(seed)
        faces = np.resize(plain[rng.permutation(len(plain))], (spec.examples, plain.shape[1]))
        pitches = rng.choice(real_pitch, size=spec.examples).astype(np.int32)
        return Face2MusicProbe(
            generator,
            classifiers,
            faces,
            pitches,
            real,
            real_pitch,
            audio_metric=audio_metric,
            spectrograms=spec.spectrograms,
            test_notes=test,
            distinct_faces=min(len(plain), spec.examples),
            discriminator=discriminator,
            test_pitch_classes=test_pitch,
        )

    def train_gan(self, strategy, gan, source_embeddings, fixed_embeddings, fixed_pitches, config_text, evaluation):
        train = self.config.train
        generator = gan.networks()["generator"]
        per_replica_batch = train.batch_size // strategy.num_replicas_in_sync

        def dataset_fn(seed, context):
            return data.gan_dataset(
                self.config.audio,
                source_embeddings,
                train.critic_steps,
                per_replica_batch,
                seed,
                train.shuffle_buffer,
                train.cache,
                context,
            )

        chief = []
        if is_chief(strategy):
            chief = self.chief_callbacks(
                gan, generator, source_embeddings, fixed_embeddings, fixed_pitches, config_text, evaluation
            )
        self.log(f"GAN variant {self.config.model.variant}")
        return self.fit_gan(strategy, gan, dataset_fn, train.steps, train.checkpoint_every, chief)

    # -- stage 8 ---------------------------------------------------------
    def write_samples(self, generator, fixed_embeddings, fixed_pitches):
        waveforms = infer(generator, fixed_embeddings, fixed_pitches)[..., 0]
        paths = []
        for index, (waveform, pitch) in enumerate(zip(waveforms, fixed_pitches)):
            path = self.path("samples", f"face{index:02d}_pitch{midi_pitch(int(pitch))}.wav")
            write_wav(path, waveform, SAMPLE_RATE)
            paths.append(path)
        return paths

    def export(self, face_embedder, generator):
        base = self.config.export.dir or self.path("saved_model")
        return export_face2music(face_embedder, generator, base, self.config.export.default_pitch)

    def stages(self, strategy, config_text):
        # Every target note read and checked first: bad or too few notes are reported before the faces are
        # embedded (hours with VGGFace2) and before ψ trains.
        with self.timed("count_target_notes"):
            num_target = self.check_target_notes()
        with self.timed("face_embedder"):
            face_embedder = self.face_embedder()
        with self.timed("source_embeddings"):
            source_embeddings, fixed_embeddings, _ = self.source_embeddings(face_embedder, strategy)
        with self.timed("audio_embedder"):
            audio_embedder = self.audio_embedder(strategy)
        with self.timed("statistics"):
            stats = self.statistics(AudioMetric(audio_embedder), source_embeddings)
        with self.timed("classifiers"):
            evaluation = self.classifiers()
        fixed_pitches = fixed_pitch_classes(len(fixed_embeddings))
        with self.timed("gan"):
            gan = build_gan(self.config, strategy, audio_embedder, stats, num_target)
            step = self.train_gan(
                strategy, gan, source_embeddings, fixed_embeddings, fixed_pitches, config_text, evaluation
            )
        summary = {"out_dir": self.out_dir, "steps": step, "variant": self.config.model.variant}
        if is_chief(strategy):
            generator = gan.networks()["generator"]
            with self.timed("samples_and_export"):
                summary["samples"] = self.write_samples(generator, fixed_embeddings, fixed_pitches)
                summary["saved_model"] = self.export_once(step, lambda: self.export(face_embedder, generator))
            summary["face_embedder"] = read_json(self.path("face_embedder.json"))["description"]
            if os.path.exists(self.path("curve.json")):
                summary["curve"] = self.path("curve.json")
            summary["stage_seconds"] = dict(self.stage_seconds)
            summary["stage_peak_memory_mb"] = dict(self.stage_peak_memory_mb)
            summary["target_notes"] = int(num_target)
            save_json(self.path("run_summary.json"), summary)
        return summary
