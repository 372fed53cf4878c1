"""`task: face2music` — the whole face-to-music run, resumable stage by stage.

Stages, each writing its artifact into the run directory atomically and
skipped when the artifact is already there (so re-running the same command
resumes):

1. `config.yaml`            the resolved config (a different config in the
                            same run directory is refused);
2. `face_embedder.weights.h5`, `face_embedder.json`
                            the face metric f and which embedder it is;
3. `source_embeddings.npy`  f(x) for the source faces (the GAN's input space);
4. `audio_embedder.weights.h5`
                            ψ, trained with the triplet loss unless given;
5. `stats.json`             λ1, λ2 of φ and the (μ, σ) of pairwise distances;
6. `checkpoints/`, `logs/`  the GAN (Face2MusicGAN), checkpointed every
                            `train.checkpoint_every` generator steps;
7. `samples/*.wav`, export  translations of fixed faces and the SavedModel.
"""

import os
import sys
import time

import keras
import numpy as np

from tfxmodal.config import ConfigError, parse
from tfxmodal.tasks import face2music_data as data
from tfxmodal.tasks.face2music_config import Face2MusicConfig
from tfxmodal.tasks.run_directory import TrainingFailed, run_task, write_resolved_config
from tfxmodal.trainers.distribute import (
    allow_multi_worker_fit,
    checkpoint_directory,
    describe_strategy,
    is_chief,
    make_strategy,
)
from tfxmodal.utils.files import read_json, save_json, save_npy, save_weights

NUM_PITCHES = 61  # MIDI pitches 24..84
LOWEST_PITCH = 24


def load_config(raw):
    return parse(Face2MusicConfig, raw)


def run(raw, out_dir=None, config_path=None):
    """Runs (or resumes) a face-to-music training run; returns a process exit code."""
    return run_task(load_config, Face2MusicRun, raw, out_dir, config_path, "face2music")


class Face2MusicRun:
    """One run directory and the stages that fill it."""

    def __init__(self, config, out_dir):
        self.config = config
        self.out_dir = out_dir

    def path(self, *parts):
        return os.path.join(self.out_dir, *parts)

    def log(self, message):
        print(f"[face2music] {message}", flush=True)

    # -- stage 1 ---------------------------------------------------------
    def write_config(self):
        return write_resolved_config(self.config, self.out_dir)

    # -- stage 2-3 -------------------------------------------------------
    def face_embedder(self):
        spec = self.config.face_embedder
        weights_path = self.path("face_embedder.weights.h5")
        embedder = data.make_face_embedder(spec)
        if os.path.exists(weights_path):
            embedder.load_weights(weights_path)
            return embedder
        self.log(f"preparing face embedder ({spec.kind})")
        description = data.fit_face_embedder(embedder, spec, self.config.faces, self.config.seed)
        save_weights(embedder, weights_path)
        save_json(self.path("face_embedder.json"), description)
        return embedder

    def source_embeddings(self, embedder):
        """`(source embeddings, fixed embeddings, fixed face images)`, computed once."""
        names = ("source_embeddings.npy", "fixed_embeddings.npy", "fixed_faces.npy")
        if not os.path.exists(self.path(names[0])):
            self.log("embedding source faces")
            arrays = data.embed_source_faces(embedder, self.config.faces, self.config.seed, self.config.export.sample_faces)
            # The marker file goes last: its presence means the stage is complete.
            for name, array in reversed(list(zip(names, arrays))):
                save_npy(self.path(name), array)
        return tuple(np.load(self.path(name)) for name in names)

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
                embedder.build((None, 8192))
            embedder.load_weights(source)
            return embedder
        embedder, loss = train_audio_embedder(spec, self.config.audio, self.config.seed, strategy, log=self.log)
        # Every worker keeps ψ (the same weights on all) in its run directory,
        # like the other stage artifacts: a resumed worker must load it, not
        # train alone while the others load theirs.
        save_weights(embedder, target)
        save_json(self.path("audio_embedder.json"), {"final_triplet_loss": loss})
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
    def build_gan(self, strategy, audio_embedder, stats, num_target_examples):
        """The compiled trainer of `model.variant`, built inside `strategy`'s scope."""
        from tfxmodal.models import AudioMetric, WaveGANDiscriminator, WaveGANGenerator

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
            generator = WaveGANGenerator(model.width, NUM_PITCHES, name="generator")
            discriminator = WaveGANDiscriminator(
                model.width,
                NUM_PITCHES,
                phase_shuffle_radius=model.phase_shuffle_radius,
                power_iterations=model.power_iterations,
                seed=self.config.seed,
                name="discriminator",
            )
            generator.build((None, 512))
            discriminator.build((None, 8192, 1))
            if model.variant == "aae":
                return self._build_autoencoder(generator, discriminator, adam)
            audio_metric = AudioMetric(audio_embedder, name="audio_metric")
            # Built like the networks: Keras's fit under a strategy refuses a
            # model with an unbuilt layer (it cannot call this wrapper to build it).
            audio_metric.build((None, 8192))
            audio_metric.set_scales(stats["psi_scale"], stats["mfcc_scale"])
            return self._build_face2music_gan(generator, discriminator, audio_metric, stats, adam)

    def _build_face2music_gan(self, generator, discriminator, audio_metric, stats, adam):
        from tfxmodal.models import AuxDiscriminator
        from tfxmodal.trainers.face2music import Face2MusicGAN, uses_aux_discriminator

        model, train = self.config.model, self.config.train
        aux = None
        if uses_aux_discriminator(model.variant):
            aux = AuxDiscriminator(power_iterations=model.power_iterations, name="aux_discriminator")
            aux.build((None, audio_metric.feature_dim))
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
        )
        gan.compile(
            generator_optimizer=adam(1),
            discriminator_optimizer=adam(train.critic_steps),
            aux_optimizer=adam(train.critic_steps) if aux is not None else None,
            jit_compile=train.jit_compile,
        )
        return gan

    def _build_autoencoder(self, decoder, audio_discriminator, adam):
        from tfxmodal.models import AudioEmbedder, AuxDiscriminator
        from tfxmodal.trainers.aae import AdversarialAutoencoder

        model, train = self.config.model, self.config.train
        encoder = AudioEmbedder(model.width, embedding_dim=512, name="encoder")
        encoder.build((None, 8192, 1))
        latent_discriminator = AuxDiscriminator(power_iterations=model.power_iterations, name="latent_discriminator")
        latent_discriminator.build((None, 512))
        aae = AdversarialAutoencoder(
            encoder,
            decoder,
            latent_discriminator,
            audio_discriminator,
            critic_steps=train.critic_steps,
            reconstruction_weight=model.reconstruction_weight,
        )
        aae.compile(adam(1), adam(train.critic_steps), adam(train.critic_steps), jit_compile=train.jit_compile)
        return aae

    def train_gan(self, strategy, gan, source_embeddings, fixed_embeddings, fixed_pitches, config_text):
        from tfxmodal.trainers.callbacks import AverageReplicaLocalState, CheckpointSaver, NaNGuard, TrainingSummaries
        from tfxmodal.trainers.checkpoints import RunCheckpoints

        train = self.config.train
        chief = is_chief(strategy)
        directory = checkpoint_directory(self.out_dir, strategy)
        checkpoints = RunCheckpoints(directory, max_to_keep=train.keep_checkpoints, **gan.trackables())
        restored = checkpoints.restore_latest()
        step_variable = gan.generator_optimizer.iterations
        start_step = int(step_variable.numpy())
        if restored:
            self.log(f"resumed from {restored} at step {start_step}")
        if start_step >= train.steps:
            self.log(f"already trained for {start_step} steps")
            return start_step
        per_replica_batch = train.batch_size // strategy.num_replicas_in_sync
        dataset = strategy.distribute_datasets_from_function(
            lambda context: data.gan_dataset(
                self.config.audio,
                source_embeddings,
                train.critic_steps,
                per_replica_batch,
                self.config.seed + start_step,
                train.shuffle_buffer,
                train.cache,
                context,
            )
        )
        nan_guard = NaNGuard()
        networks = [network for network in gan.trackables().values() if isinstance(network, keras.Model)]
        callbacks = [
            nan_guard,
            AverageReplicaLocalState(networks, strategy),
            CheckpointSaver(checkpoints, step_variable, nan_guard, enabled=chief),
        ]
        if chief:
            optimizers = gan.named_optimizers()
            callbacks += [
                keras.callbacks.TensorBoard(
                    self.path("logs"), histogram_freq=1 if train.histograms else 0, write_graph=False
                ),
                TrainingSummaries(
                    self.path("logs"), optimizers, step_variable, config_text, gan.generator, fixed_embeddings, fixed_pitches
                ),
            ]
        epochs = train.steps // train.checkpoint_every
        allow_multi_worker_fit(gan, strategy)
        self.log(f"training {self.config.model.variant}: steps {start_step} -> {train.steps}")
        gan.fit(
            dataset,
            epochs=epochs,
            initial_epoch=start_step // train.checkpoint_every,
            steps_per_epoch=train.checkpoint_every,
            callbacks=callbacks,
            # A live progress bar on a terminal; one line per epoch in logs.
            verbose=1 if sys.stdout.isatty() else 2,
        )
        if nan_guard.failure is not None:
            kept = checkpoints.manager.latest_checkpoint
            raise TrainingFailed(
                f"non-finite loss {nan_guard.failure['losses']} near step {int(step_variable.numpy())}; "
                f"kept the last good checkpoint {kept}"
            )
        return int(step_variable.numpy())

    # -- stage 7 ---------------------------------------------------------
    def write_samples(self, generator, fixed_embeddings, fixed_pitches):
        from tfxmodal.audio.wav import write_wav

        waveforms = np.asarray(generator(fixed_embeddings, fixed_pitches, training=False))[..., 0]
        paths = []
        for index, (waveform, pitch) in enumerate(zip(waveforms, fixed_pitches)):
            path = self.path("samples", f"face{index:02d}_pitch{pitch + LOWEST_PITCH}.wav")
            write_wav(path, waveform, 16000)
            paths.append(path)
        return paths

    def export(self, face_embedder, generator):
        from tfxmodal.export.face2music import export_face2music

        base = self.config.export.dir or self.path("saved_model")
        return export_face2music(face_embedder, generator, base, self.config.export.default_pitch)

    def execute(self):
        started = time.time()
        keras.utils.set_random_seed(self.config.seed)
        strategy = make_strategy(self.config.train.strategy)
        self.log(f"strategy: {describe_strategy(strategy)}")
        if self.config.train.batch_size % strategy.num_replicas_in_sync:
            raise ConfigError(
                f"train.batch_size: {self.config.train.batch_size} does not divide over "
                f"{strategy.num_replicas_in_sync} replicas"
            )
        config_text = self.write_config()
        face_embedder = self.face_embedder()
        source_embeddings, fixed_embeddings, _ = self.source_embeddings(face_embedder)
        audio_embedder = self.audio_embedder(strategy)
        from tfxmodal.models import AudioMetric

        stats = self.statistics(AudioMetric(audio_embedder), source_embeddings)
        num_target = data.count_target_examples(self.config.audio)
        fixed_pitches = np.linspace(12, NUM_PITCHES - 13, len(fixed_embeddings)).round().astype(np.int32)
        gan = self.build_gan(strategy, audio_embedder, stats, num_target)
        step = self.train_gan(strategy, gan, source_embeddings, fixed_embeddings, fixed_pitches, config_text)
        summary = {"out_dir": self.out_dir, "steps": step, "variant": self.config.model.variant}
        if is_chief(strategy):
            summary["samples"] = self.write_samples(gan.generator, fixed_embeddings, fixed_pitches)
            summary["saved_model"] = self.export(face_embedder, gan.generator)
            summary["face_embedder"] = read_json(self.path("face_embedder.json"))["description"]
            summary["seconds"] = round(time.time() - started, 1)
            save_json(self.path("run_summary.json"), summary)
        return summary


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
    import yaml

    from tfxmodal.models import AudioEmbedder, AudioMetric, WaveGANGenerator
    from tfxmodal.trainers.checkpoints import RunCheckpoints

    config_path = os.path.join(run_dir, "config.yaml")
    if not os.path.exists(config_path):
        raise ConfigError(f"{run_dir}: no config.yaml; not a face2music run directory")
    with open(config_path, encoding="utf-8") as handle:
        config = load_config(yaml.safe_load(handle))
    run = Face2MusicRun(config, run_dir)
    face_embedder = data.make_face_embedder(config.face_embedder)
    face_embedder.load_weights(run.path("face_embedder.weights.h5"))
    psi = AudioEmbedder(width=config.audio_embedder.width, name="audio_embedder")
    psi.build((None, 8192))
    psi.load_weights(config.audio_embedder.weights or run.path("audio_embedder.weights.h5"))
    stats = read_json(run.path("stats.json"))
    metric = AudioMetric(psi, name="audio_metric")
    metric.set_scales(stats["psi_scale"], stats["mfcc_scale"])
    generator = WaveGANGenerator(config.model.width, NUM_PITCHES, name="generator")
    generator.build((None, 512))
    checkpoints = RunCheckpoints(run.path("checkpoints"), generator=generator)
    restored = checkpoints.restore_latest()
    if restored is None:
        raise ConfigError(f"{run_dir}: no checkpoint to evaluate")
    step = int(os.path.basename(restored).split("-")[-1])  # saved as ckpt-<generator step>
    return TrainedRun(config, face_embedder, generator, metric, stats, step)
