"""Can the face → music GAN learn the simplest notes? Sine tones, with the package's own trainer.

A diagnostic, not part of the package: it trains `Face2MusicGAN` (variant
`baseline`: WaveGAN generator with pitch-conditional batch norm, SN critic
with a projection head, hinge losses, 5 critic steps, Adam 2e-4 (0.5,
0.999)) on synthetic targets instead of NSynth notes, with LFW eigenface
embeddings as the source, and prints one JSON line per evaluation:

- `--target sine440`: every real note is a 440 Hz sine (random phase,
  amplitude 0.3): can the GAN make one tone at all?
- `--target sine`: a sine at the f0 of each note's pitch class: can it
  follow the pitch?

`f0_hits`: the share of translations whose strongest spectral peak lies
within half a semitone of the requested f0 (of 440 Hz for `sine440`);
`rms` against the targets' 0.212.

    python tools/sine_gan.py --target sine440 --steps 600                              # no batch norms
    python tools/sine_gan.py --target sine440 --steps 600 --discriminator-batch-norm   # Table 4's

It also has `--supervised`: the generator alone, trained to match the
target's STFT magnitude (no critic), which shows what it can represent.
"""

import argparse
import json
import time

import keras
import numpy as np
import tensorflow as tf

from tfxmodal.data.faces.pipeline import pipeline as face_pipeline
from tfxmodal.domain import CLIP_SAMPLES, FACE_EMBEDDING_DIM, LOWEST_PITCH, NUM_PITCHES, SAMPLE_RATE
from tfxmodal.face2music.probe import generator_image_frequencies
from tfxmodal.metrics import spectral_peaks
from tfxmodal.models import EigenfaceEmbedder, WaveGANDiscriminator, WaveGANGenerator
from tfxmodal.trainers.face2music import Face2MusicGAN

AMPLITUDE = 0.3
IMAGE_FREQUENCIES = generator_image_frequencies()


def targets(pitch_classes, kind):
    """`(n, 8192)` sines at the f0 of each pitch class (or 440 Hz), random phases."""
    t = tf.range(CLIP_SAMPLES, dtype=tf.float32) / SAMPLE_RATE
    if kind == "sine440":
        f0 = tf.fill(tf.shape(pitch_classes), 440.0)
    else:
        f0 = 440.0 * tf.pow(2.0, (tf.cast(pitch_classes, tf.float32) + LOWEST_PITCH - 69) / 12.0)
    phase = tf.random.uniform(tf.shape(f0), 0, 2 * np.pi)
    return AMPLITUDE * tf.sin(2 * np.pi * f0[..., None] * t + phase[..., None])


def face_embeddings():
    """Eigenface embeddings of the 100 LFW faces bundled with scikit-image (as the demo uses)."""
    batches = face_pipeline("lfw", batch_size=100, training=False, image_size=25, seed=0, augment=False)
    images = np.concatenate([batch["image"].numpy() for batch in batches])
    embedder = EigenfaceEmbedder(32, FACE_EMBEDDING_DIM, 25)
    embedder.build()
    embedder.fit_faces(images)
    return np.asarray(embedder(images, training=False), np.float32)


def peak_diagnostics(waveforms, pitch_classes, kind):
    """f0 hits, distinct peaks and peak/pitch correlation of a batch of translations (`metrics.spectral_peaks`)."""
    requested = np.full(len(pitch_classes), 69) if kind == "sine440" else np.asarray(pitch_classes) + LOWEST_PITCH
    thirds = np.array_split(np.argsort(requested, kind="stable"), 3)
    return {
        "f0_hits": spectral_peaks.f0_hit_rate(waveforms, requested),
        # low / middle / high third of the requested pitches: where the misses are
        "f0_hits_by_third": [round(spectral_peaks.f0_hit_rate(waveforms[rows], requested[rows]), 3) for rows in thirds],
        "distinct_peaks": spectral_peaks.distinct_peaks(waveforms),
        "peak_pitch_corr": round(spectral_peaks.peak_pitch_correlation(waveforms, np.asarray(pitch_classes)), 3),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=("sine440", "sine"), default="sine")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--critic-steps", type=int, default=5)
    parser.add_argument("--learning-rate", type=float, default=2e-4)
    parser.add_argument("--discriminator-batch-norm", action="store_true", help="Table 4's batch norms in the critic")
    parser.add_argument("--generator-output-batch-norm", action="store_true", help="Table 3's batch norm at the output")
    parser.add_argument(
        "--no-generator-spectral-norm", action="store_true", help="a generator without Sec. 3.2.1's spectral norm"
    )
    parser.add_argument("--supervised", action="store_true", help="no critic: fit the targets' STFT magnitudes")
    parser.add_argument(
        "--pitch-classifier-weight", type=float, default=0.0, help="AC-GAN pitch classifier on the critic (0: off)"
    )
    parser.add_argument("--upsample", choices=("transposed", "nearest"), default="transposed")
    parser.add_argument("--pitch-input", action="store_true", help="one-hot pitch concatenated to G's input")
    parser.add_argument("--excitation", action="store_true", help="a sine at f0 into G's last layer (source-filter)")
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)
    faces = face_embeddings()
    generator = WaveGANGenerator(
        args.width,
        NUM_PITCHES,
        output_batch_norm=args.generator_output_batch_norm,
        spectral_norm=not args.no_generator_spectral_norm,
        upsample=args.upsample,
        pitch_input=args.pitch_input,
        excitation=args.excitation,
    )
    generator.build((None, FACE_EMBEDDING_DIM))
    optimizer = keras.optimizers.Adam(args.learning_rate, beta_1=0.5, beta_2=0.999)
    rng = np.random.default_rng(1)
    evaluation_faces = faces[rng.integers(len(faces), size=256)]
    evaluation_pitches = rng.integers(0, NUM_PITCHES, 256).astype(np.int32)

    if args.supervised:
        optimizer.build(generator.trainable_variables)

        @tf.function
        def step(embedding, pitch):
            with tf.GradientTape() as tape:
                fake = generator(embedding, pitch, training=True)[..., 0]
                loss = tf.reduce_mean(
                    tf.square(
                        tf.abs(tf.signal.stft(fake, 512, 128))
                        - tf.abs(tf.signal.stft(targets(pitch, args.target), 512, 128))
                    )
                )
            variables = generator.trainable_variables
            optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
            return {"stft_loss": loss}

    else:
        discriminator = WaveGANDiscriminator(
            args.width,
            NUM_PITCHES,
            seed=0,
            batch_norm=args.discriminator_batch_norm,
            pitch_classifier=args.pitch_classifier_weight > 0,
        )
        discriminator.build((None, CLIP_SAMPLES, 1))
        gan = Face2MusicGAN(
            generator,
            discriminator,
            variant="baseline",
            critic_steps=args.critic_steps,
            pitch_classifier_weight=args.pitch_classifier_weight,
        )
        gan.compile(
            {
                "generator": optimizer,
                "discriminator": keras.optimizers.Adam(args.learning_rate, beta_1=0.5, beta_2=0.999),
            }
        )
        k = args.critic_steps

        @tf.function
        def step(embedding, pitch):
            for tracker in gan.metrics:
                tracker.reset_state()
            audio = tf.reshape(targets(tf.reshape(pitch[:, :k], [-1]), args.target), [-1, k, CLIP_SAMPLES])
            return gan.train_step({"audio": audio, "pitch": pitch[:, :k], "embedding": embedding})

    started = time.time()
    for number in range(1, args.steps + 1):
        faces_batch = faces[rng.integers(len(faces), size=(args.batch_size, args.critic_steps + 1))]
        pitches = rng.integers(0, NUM_PITCHES, (args.batch_size, args.critic_steps + 1)).astype(np.int32)
        logs = step(faces_batch[:, 0], pitches[:, 0]) if args.supervised else step(faces_batch, pitches)
        if number % args.eval_every == 0 or number == args.steps:
            waveforms = np.asarray(generator(evaluation_faces, evaluation_pitches, training=False))[..., 0]
            record = {
                "step": number,
                "seconds": round(time.time() - started, 1),
                **peak_diagnostics(waveforms, evaluation_pitches, args.target),
                "rms": round(float(np.sqrt(np.mean(waveforms**2))), 4),
                "image_energy": round(spectral_peaks.image_energy_share(waveforms, IMAGE_FREQUENCIES), 4),
                **{key: round(float(value), 4) for key, value in logs.items()},
            }
            if not args.supervised:
                # Fresh sines the critic never saw beside the translations, in inference mode.
                held_out = targets(tf.constant(evaluation_pitches), args.target)[..., None]
                record["d_real_heldout"] = round(
                    float(np.mean(discriminator(held_out, evaluation_pitches, training=False))), 4
                )
                record["d_fake_eval"] = round(
                    float(np.mean(discriminator(waveforms[..., None], evaluation_pitches, training=False))), 4
                )
            print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
