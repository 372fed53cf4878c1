"""The adversarial-autoencoder baseline of Kim et al. 2020 (Sec. 3.2.3, Appendix 5.1.6).

An autoencoder on target audio whose latent code is pushed, by a latent
discriminator, to the distribution of face embeddings (Makhzani et al.
2016); its decoder then translates a face embedding into audio. As in the
paper, a second (audio) discriminator makes the decoder's outputs sound
real, its adversarial loss added to the reconstruction loss.

- encoder E: the ψ network structure (Table 5) with a 512-d L2-normalized
  output (face embeddings are unit vectors);
- decoder: the generator (Table 3), conditioned on pitch;
- latent discriminator: the auxiliary-discriminator structure (Table 6) on
  512-d codes: face embeddings are "real", E(y) "fake";
- audio discriminator: the main discriminator (Table 4) on
  (waveform, pitch): real notes against decoded face embeddings, i.e. the
  translations the baseline is judged on.
"""

import keras
import tensorflow as tf

from tfxmodal.losses import hinge_discriminator_loss, hinge_generator_loss


def _num_replicas():
    return tf.distribute.get_strategy().num_replicas_in_sync


class AdversarialAutoencoder(keras.Model):
    """Trains encoder + decoder against a latent and an audio discriminator.

    Args:
        encoder: `AudioEmbedder(embedding_dim=512)`, waveform → unit code.
        decoder: `WaveGANGenerator`, (code, pitch) → waveform.
        latent_discriminator: `AuxDiscriminator` on 512-d codes.
        audio_discriminator: `WaveGANDiscriminator`.
        critic_steps: discriminator updates per autoencoder update.
        reconstruction_weight: weight of the mean absolute waveform error.

    Data: the same rows as `Face2MusicGAN` — `{"audio": (B, K, 8192),
    "pitch": (B, K), "embedding": (B, K + 1, 512)}`. Critic step k uses
    column k; the autoencoder step reconstructs column 0's notes and decodes
    the last embedding column.
    """

    def __init__(
        self,
        encoder,
        decoder,
        latent_discriminator,
        audio_discriminator,
        critic_steps=5,
        reconstruction_weight=10.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.generator = decoder  # the name the run's checkpoints and export use
        self.latent_discriminator = latent_discriminator
        self.audio_discriminator = audio_discriminator
        self.critic_steps = int(critic_steps)
        self.reconstruction_weight = float(reconstruction_weight)
        self.built = True

    def compile(self, autoencoder_optimizer, discriminator_optimizer, latent_optimizer, jit_compile=False):
        """Sets and builds the optimizers (create them inside the strategy scope)."""
        super().compile(optimizer=None, jit_compile=jit_compile)
        self.autoencoder_optimizer = autoencoder_optimizer
        self.discriminator_optimizer = discriminator_optimizer
        self.latent_optimizer = latent_optimizer
        autoencoder_optimizer.build(self._autoencoder_variables())
        discriminator_optimizer.build(self.audio_discriminator.trainable_variables)
        latent_optimizer.build(self.latent_discriminator.trainable_variables)
        names = ["d_loss", "latent_d_loss", "reconstruction_loss", "g_adversarial", "latent_adversarial", "g_loss"]
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}

    @property
    def generator_optimizer(self):
        """The optimizer whose step count is the run's step (as in `Face2MusicGAN`)."""
        return self.autoencoder_optimizer

    def _autoencoder_variables(self):
        return self.encoder.trainable_variables + self.generator.trainable_variables

    @property
    def metrics(self):
        return list(self.trackers.values()) if hasattr(self, "trackers") else []

    def named_optimizers(self):
        """`{name: optimizer}` for logging learning rates."""
        return {
            "autoencoder": self.autoencoder_optimizer,
            "discriminator": self.discriminator_optimizer,
            "latent_discriminator": self.latent_optimizer,
        }

    def trackables(self):
        """What a checkpoint saves: the trained networks and their optimizers."""
        return {
            "encoder": self.encoder,
            "generator": self.generator,
            "audio_discriminator": self.audio_discriminator,
            "latent_discriminator": self.latent_discriminator,
            "autoencoder_optimizer": self.autoencoder_optimizer,
            "discriminator_optimizer": self.discriminator_optimizer,
            "latent_optimizer": self.latent_optimizer,
        }

    def _track(self, name, replica_value):
        self.trackers[name].update_state(replica_value * _num_replicas())

    def _critic_step(self, real, pitch, embedding):
        code = self.encoder(real, training=True)
        fake = self.generator(embedding, pitch, training=True)
        audio_vars = self.audio_discriminator.trainable_variables
        latent_vars = self.latent_discriminator.trainable_variables
        with tf.GradientTape() as tape:
            d_loss = tf.nn.compute_average_loss(
                hinge_discriminator_loss(
                    self.audio_discriminator(real, pitch, training=True),
                    self.audio_discriminator(fake, pitch, training=True),
                )
            )
            latent_loss = tf.nn.compute_average_loss(
                hinge_discriminator_loss(
                    self.latent_discriminator(embedding, training=True),
                    self.latent_discriminator(code, training=True),
                )
            )
            total = d_loss + latent_loss
        gradients = tape.gradient(total, audio_vars + latent_vars)
        self.discriminator_optimizer.apply_gradients(zip(gradients[: len(audio_vars)], audio_vars))
        self.latent_optimizer.apply_gradients(zip(gradients[len(audio_vars) :], latent_vars))
        self._track("d_loss", d_loss)
        self._track("latent_d_loss", latent_loss)

    def _autoencoder_step(self, real, pitch, embedding):
        variables = self._autoencoder_variables()
        with tf.GradientTape() as tape:
            code = self.encoder(real, training=True)
            reconstruction = self.generator(code, pitch, training=True)
            per_example = tf.reduce_mean(tf.abs(reconstruction - real), axis=[1, 2])
            reconstruction_loss = tf.nn.compute_average_loss(per_example)
            latent_adversarial = tf.nn.compute_average_loss(
                hinge_generator_loss(self.latent_discriminator(code, training=True))
            )
            translation = self.generator(embedding, pitch, training=True)
            adversarial = tf.nn.compute_average_loss(
                hinge_generator_loss(self.audio_discriminator(translation, pitch, training=True))
            )
            g_loss = self.reconstruction_weight * reconstruction_loss + latent_adversarial + adversarial
        self.autoencoder_optimizer.apply_gradients(zip(tape.gradient(g_loss, variables), variables))
        self._track("reconstruction_loss", reconstruction_loss)
        self._track("latent_adversarial", latent_adversarial)
        self._track("g_adversarial", adversarial)
        self._track("g_loss", g_loss)

    def train_step(self, data):
        audio, pitch, embedding = data["audio"], data["pitch"], data["embedding"]
        for step in range(self.critic_steps):
            self._critic_step(audio[:, step, :, None], pitch[:, step], embedding[:, step])
        self._autoencoder_step(audio[:, 0, :, None], pitch[:, 0], embedding[:, self.critic_steps])
        return {name: tracker.result() for name, tracker in self.trackers.items()}
