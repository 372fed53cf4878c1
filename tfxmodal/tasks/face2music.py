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

import os

import keras
import numpy as np

from tfxmodal.config import ConfigError
from tfxmodal.data.faces import save_npz_embeddings
from tfxmodal.domain import CLIP_SAMPLES, FACE_EMBEDDING_DIM, NUM_PITCHES, SAMPLE_RATE, midi_pitch
from tfxmodal.tasks import face2music_data as data
from tfxmodal.tasks.face2music_config import Face2MusicConfig
from tfxmodal.tasks.run_directory import read_run_config
from tfxmodal.tasks.task import Artifact, Task
from tfxmodal.tasks.training_run import TrainingRun
from tfxmodal.trainers.distribute import is_chief
from tfxmodal.utils.files import read_json, save_json, save_npy, save_weights
from tfxmodal.utils.precision import precision_scope
from tfxmodal.utils.tracing import infer

FACE_SHARDS = "face_embedding_shards"

# Table 1's rows: the GAN ablation (aux is the paper's model) and the AAE baseline.
ABLATIONS = {
    "baseline": {"model.variant": "baseline"},
    "metric": {"model.variant": "metric"},
    "aux": {"model.variant": "aux"},
    # The AC-GAN pitch classifier sits on a GAN critic; the autoencoder baseline has none to put it on.
    "aae": {"model.variant": "aae", "model.pitch_classifier_weight": 0.0},
}
TABLE_COLUMNS = ("fid_pitch", "is_pitch", "fid_family", "is_family", "pc", "pc_fixed_pitch", "sv", "pitch_accuracy")


def reference_row(metrics):
    """Table 1's reference: the real test split scored like the translations."""
    return {
        "name": "real test split",
        "fid_pitch": metrics.get("real_test_fid_pitch"),
        "is_pitch": metrics.get("real_test_is_pitch"),
        "fid_family": metrics.get("real_test_fid_family"),
        "is_family": metrics.get("real_test_is_family"),
    }


# Keys a trained GAN does not depend on: how long it trains and on what machine.
TRAINING_LENGTH_AND_MACHINE = (
    "train.steps",
    "train.checkpoint_every",
    "train.keep_checkpoints",
    "train.histograms",
    "train.strategy",
    "train.jit_compile",
)


def default_classifiers_dir(run_dir):
    """Where a run's FID/IS classifiers live unless configured: beside the run (shared by an ablation's rows)."""
    return os.path.join(os.path.dirname(os.path.abspath(run_dir)), "classifiers")


def fixed_pitch_classes(count):
    """The pitch classes of the fixed sample faces: spread evenly over MIDI 36-72."""
    return np.linspace(12, NUM_PITCHES - 13, count).round().astype(np.int32)


class Face2MusicRun(TrainingRun):
    """One face2music run directory and the stages that fill it."""

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
            from tfxmodal.data.nsynth import NsynthDataError

            read = f" of {manifest['records']} records" if "records" in manifest else ""
            raise NsynthDataError(
                f"audio ({audio.source}, split {audio.split}): {manifest['notes']} note(s) kept{read}, keeping "
                f"{data.filter_description(audio)}; the GAN needs at least 2"
            )
        return manifest["notes"]

    # -- stage 4 ---------------------------------------------------------
    def audio_embedder(self, strategy):
        from tfxmodal.models import AudioEmbedder
        from tfxmodal.tasks.audio_embedder import train_audio_embedder

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
        from tfxmodal.losses import pairwise_distance_stats

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
            "target_examples": int(len(clips)),
            "source_examples": int(min(len(source_embeddings), limit)),
        }
        save_json(target, stats)
        return stats

    # -- stage 6 ---------------------------------------------------------
    def classifiers(self):
        """The pitch/family classifiers of the learning curve (trained once, shared), or None."""
        from tfxmodal.evaluation import classifiers as classifier_lib

        spec = self.config.evaluation
        if not spec.every_steps:
            return None
        directory = spec.classifiers_dir or default_classifiers_dir(self.out_dir)
        try:
            models, info = classifier_lib.load_or_train(
                directory, self.config.audio, classifier_spec(self.config), self.config.seed, log=self.log
            )
        except ValueError as error:
            raise ConfigError(f"evaluation.classifiers_dir: {error}") from None
        return models, info

    # -- stage 7 ---------------------------------------------------------
    def build_gan(self, strategy, audio_embedder, stats, num_target_examples):
        """The compiled trainer of `model.variant`, built inside `strategy`'s scope."""
        from tfxmodal.models import AudioMetric

        model, train = self.config.model, self.config.train
        # One data epoch = one pass of the critics over the target set.
        steps_per_data_epoch = max(1, num_target_examples // (train.batch_size * train.critic_steps))

        def adam(updates_per_step):
            schedule = keras.optimizers.schedules.ExponentialDecay(
                train.learning_rate,
                decay_steps=train.lr_decay_epochs * steps_per_data_epoch * updates_per_step,
                decay_rate=train.lr_decay_rate,
            )
            return keras.optimizers.Adam(schedule, beta_1=train.beta_1, beta_2=train.beta_2)

        with strategy.scope():
            with precision_scope(train.precision):  # the trained networks only: ψ, φ stay float32
                generator, discriminator = build_wavegan(self.config)
            if model.variant == "aae":
                return self._build_autoencoder(generator, discriminator, adam)
            audio_metric = AudioMetric(audio_embedder, name="audio_metric")
            # Built like the networks: Keras's fit under a strategy refuses a
            # model with an unbuilt layer (it cannot call this wrapper to build it).
            audio_metric.build((None, CLIP_SAMPLES))
            audio_metric.set_scales(stats["psi_scale"], stats["mfcc_scale"])
            return self._build_face2music_gan(generator, discriminator, audio_metric, stats, adam)

    def _build_face2music_gan(self, generator, discriminator, audio_metric, stats, adam):
        from tfxmodal.models import AuxDiscriminator
        from tfxmodal.trainers.face2music import Face2MusicGAN, uses_aux_discriminator

        model, train = self.config.model, self.config.train
        aux = None
        optimizers = {"generator": adam(1), "discriminator": adam(train.critic_steps)}
        if uses_aux_discriminator(model.variant):
            with precision_scope(train.precision):
                aux = AuxDiscriminator(power_iterations=model.power_iterations, name="aux_discriminator")
            aux.build((None, audio_metric.feature_dim))
            optimizers["aux"] = adam(train.critic_steps)
        gan = Face2MusicGAN(
            generator,
            discriminator,
            variant=model.variant,
            audio_metric=audio_metric,
            aux_discriminator=aux,
            critic_steps=train.critic_steps,
            metric_weight=train.metric_weight,
            source_stats=(stats["source_mean"], stats["source_std"]),
            target_stats=(stats["target_mean"], stats["target_std"]),
            pitch_classifier_weight=model.pitch_classifier_weight,
        )
        gan.compile(optimizers, jit_compile=train.jit_compile)
        return gan

    def _build_autoencoder(self, decoder, audio_discriminator, adam):
        from tfxmodal.models import AudioEmbedder, AuxDiscriminator
        from tfxmodal.trainers.aae import AdversarialAutoencoder

        model, train = self.config.model, self.config.train
        encoder = AudioEmbedder(model.width, embedding_dim=FACE_EMBEDDING_DIM, name="encoder")
        encoder.build((None, CLIP_SAMPLES, 1))
        latent_discriminator = AuxDiscriminator(power_iterations=model.power_iterations, name="latent_discriminator")
        latent_discriminator.build((None, FACE_EMBEDDING_DIM))
        aae = AdversarialAutoencoder(
            encoder,
            decoder,
            latent_discriminator,
            audio_discriminator,
            critic_steps=train.critic_steps,
            reconstruction_weight=model.reconstruction_weight,
        )
        optimizers = {
            "autoencoder": adam(1),
            "discriminator": adam(train.critic_steps),
            "latent": adam(train.critic_steps),
        }
        aae.compile(optimizers, jit_compile=train.jit_compile)
        return aae

    def chief_callbacks(
        self, gan, generator, source_embeddings, fixed_embeddings, fixed_pitches, config_text, evaluation
    ):
        from tfxmodal.trainers.callbacks import TrainingSummaries

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
            from tfxmodal.evaluation.curve import LearningCurve, LearningCurveCallback

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
        import dataclasses

        from tfxmodal.evaluation.face2music_probe import Face2MusicProbe

        spec, seed = self.config.evaluation, self.config.seed
        real, real_pitch = data.target_subset(self.config.audio, spec.examples, seed)
        test, test_pitch = data.target_subset(
            dataclasses.replace(self.config.audio, split=classifier_spec(self.config).test_split), spec.examples, seed
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
        from tfxmodal.audio.wav import write_wav

        waveforms = infer(generator, fixed_embeddings, fixed_pitches)[..., 0]
        paths = []
        for index, (waveform, pitch) in enumerate(zip(waveforms, fixed_pitches)):
            path = self.path("samples", f"face{index:02d}_pitch{midi_pitch(int(pitch))}.wav")
            write_wav(path, waveform, SAMPLE_RATE)
            paths.append(path)
        return paths

    def export(self, face_embedder, generator):
        from tfxmodal.export.face2music import export_face2music

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
        from tfxmodal.models import AudioMetric

        with self.timed("statistics"):
            stats = self.statistics(AudioMetric(audio_embedder), source_embeddings)
        with self.timed("classifiers"):
            evaluation = self.classifiers()
        fixed_pitches = fixed_pitch_classes(len(fixed_embeddings))
        with self.timed("gan"):
            gan = self.build_gan(strategy, audio_embedder, stats, num_target)
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


def classifier_spec(config):
    """The FID/IS classifier settings of a run (its `evaluation` section)."""
    from tfxmodal.evaluation.classifiers import ClassifierSpec

    spec = config.evaluation
    return ClassifierSpec(
        width=spec.classifier_width or config.audio_embedder.width,
        steps=spec.classifier_steps,
        validate_every=spec.classifier_validate_every,
        patience=spec.classifier_patience,
        validation_split=spec.classifier_validation_split,
    )


def build_wavegan(config):
    """The run's `(WaveGANGenerator, WaveGANDiscriminator)`, built (call inside the strategy scope)."""
    from tfxmodal.models import WaveGANDiscriminator, WaveGANGenerator

    model = config.model
    generator = WaveGANGenerator(
        model.width,
        NUM_PITCHES,
        output_batch_norm=model.generator_output_batch_norm,
        spectral_norm=model.generator_spectral_norm,
        power_iterations=model.power_iterations,
        upsample=model.generator_upsample,
        pitch_input=model.generator_pitch_input,
        excitation=model.generator_excitation,
        name="generator",
    )
    discriminator = WaveGANDiscriminator(
        model.width,
        NUM_PITCHES,
        phase_shuffle_radius=model.phase_shuffle_radius,
        power_iterations=model.power_iterations,
        seed=config.seed,
        batch_norm=model.discriminator_batch_norm,
        pitch_classifier=model.pitch_classifier_weight > 0,
        name="discriminator",
    )
    generator.build((None, FACE_EMBEDDING_DIM))
    discriminator.build((None, CLIP_SAMPLES, 1))
    return generator, discriminator


class TrainedRun:
    """A finished (or checkpointed) face2music run, loaded for evaluation.

    Attributes: `config` (`Face2MusicConfig`), `face_embedder`, `generator`
    (the decoder for `aae`), `audio_metric` (φ with the run's λ1, λ2),
    `stats` (stats.json), `step` (generator steps of the checkpoint).
    """

    def __init__(self, config, face_embedder, generator, audio_metric, stats, step):
        self.config = config
        self.face_embedder = face_embedder
        self.generator = generator
        self.audio_metric = audio_metric
        self.stats = stats
        self.step = step


def load_trained(run_dir):
    """Rebuilds a run's networks from its directory and latest checkpoint."""
    from tfxmodal.models import AudioEmbedder, AudioMetric
    from tfxmodal.trainers.checkpoints import RunCheckpoints

    config_path = os.path.join(run_dir, "config.yaml")
    if not os.path.exists(config_path):
        raise ConfigError(f"{run_dir}: no config.yaml; not a face2music run directory")
    config = read_run_config(TASK, config_path)
    run = Face2MusicRun(config, run_dir)
    face_embedder = data.make_face_embedder(config.face_embedder)
    face_embedder.load_weights(run.path("face_embedder.weights.h5"))
    psi = AudioEmbedder(width=config.audio_embedder.width, name="audio_embedder")
    psi.build((None, CLIP_SAMPLES))
    psi.load_weights(config.audio_embedder.weights or run.path("audio_embedder.weights.h5"))
    stats = read_json(run.path("stats.json"))
    metric = AudioMetric(psi, name="audio_metric")
    metric.set_scales(stats["psi_scale"], stats["mfcc_scale"])
    generator, _ = build_wavegan(config)
    checkpoints = RunCheckpoints(run.path("checkpoints"), generator=generator)
    restored = checkpoints.restore_latest()
    if restored is None:
        raise ConfigError(f"{run_dir}: no checkpoint to evaluate")
    step = int(os.path.basename(restored).split("-")[-1])  # saved as ckpt-<generator step>
    return TrainedRun(config, face_embedder, generator, metric, stats, step)


_CLASSIFIER_OPTIONS = (
    (
        ("--classifiers",),
        {
            "dest": "classifiers_dir",
            "help": "FID/IS classifier directory, trained there if missing (default: the run's evaluation.classifiers_dir, else <run>/../classifiers)",
        },
    ),
    (
        ("--classifier-steps",),
        {
            "type": int,
            "help": "training steps of each FID/IS classifier (default: the run's evaluation.classifier_steps)",
        },
    ),
    (
        ("--classifier-width",),
        {
            "type": int,
            "help": "FID/IS classifier width d (default: the run's evaluation.classifier_width, else psi's width)",
        },
    ),
    (
        ("--allow-weak-classifiers",),
        {
            "action": "store_true",
            "default": None,
            "help": "report FID/IS of a classifier that does not beat its MFCC baseline (default: withheld, null)",
        },
    ),
)


CURVE_KEYS = (
    "every_steps",
    "examples",
    "spectrograms",
    "classifier_steps",
    "classifier_width",
    "classifiers_dir",
    "classifier_validate_every",
    "classifier_patience",
    "classifier_validation_split",
)


def shared_audio_metric(first_run_dir, raw_config):
    """One φ for every row of Table 1: the later variants load the first one's ψ (unless the config gives one).

    With ψ fixed, λ1, λ2, μ and σ follow deterministically from the seeded
    target sample. Returns `(overrides, description)` (`Task.shared_ablation_stages`).
    """
    given = (raw_config.get("audio_embedder") or {}).get("weights")
    weights = given or os.path.abspath(os.path.join(first_run_dir, "audio_embedder.weights.h5"))
    description = {
        "audio_embedder_weights": weights,
        "trained_by": None if given else os.path.basename(os.path.normpath(first_run_dir)),
        "stats": read_json(os.path.join(first_run_dir, "stats.json")),
    }
    return ({} if given else {"audio_embedder.weights": weights}), description


TASK = Task(
    name="face2music",
    schema=Face2MusicConfig,
    run_class=Face2MusicRun,
    config_version=4,
    artifacts=(
        Artifact("face_embedder.weights.h5", depends_on=("seed", "faces", "face_embedder")),
        Artifact("source_embeddings.npy", depends_on=("seed", "faces", "face_embedder", "export.sample_faces")),
        Artifact(FACE_SHARDS, depends_on=("seed", "faces", "face_embedder")),
        Artifact("audio_embedder.weights.h5", depends_on=("seed", "audio", "audio_embedder")),
        Artifact("stats.json", depends_on=("seed", "audio", "audio_embedder", "faces", "face_embedder", "stats")),
        Artifact("checkpoints", independent_of=TRAINING_LENGTH_AND_MACHINE + ("evaluation", "export")),
        # The curve, not `python -m tfxmodal.evaluate`'s `evaluation.fid_examples`.
        Artifact("curve.json", depends_on=tuple(f"evaluation.{key}" for key in CURVE_KEYS)),
    ),
    # Config version 1 trained with Tables 3-4's batch norms, versions 1-2 with a generator without SN,
    # versions 1-3 psi with Adam 1e-3 and Keras's default beta_1 0.9.
    earlier_defaults={
        1: {"model.generator_output_batch_norm": True, "model.discriminator_batch_norm": True},
        2: {"model.generator_spectral_norm": False},
        3: {"audio_embedder.learning_rate": 1e-3, "audio_embedder.beta_1": 0.9},
    },
    evaluator="tfxmodal.evaluation.face2music:evaluate",
    evaluate_options=_CLASSIFIER_OPTIONS,
    ablations=ABLATIONS,
    table_columns=TABLE_COLUMNS,
    reference_row=reference_row,
    shared_ablation_options=lambda out: {"classifiers_dir": os.path.join(out, "classifiers")},
    shared_ablation_stages=shared_audio_metric,
    benchmarks={
        "face2music_step": "tfxmodal.benchmarks.face2music:training_step",
        "translate_latency": "tfxmodal.benchmarks.face2music:translate_latency_section",
        "rehearsal": "tfxmodal.benchmarks.rehearsal:rehearsal_section",
    },
)
Face2MusicRun.task = TASK
