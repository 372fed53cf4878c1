"""WaveGAN phase shuffle (Donahue et al. 2019, Section 3.3)."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfxmodal")
class PhaseShuffle(keras.layers.Layer):
    """Shifts a batch of 1-D feature maps in time by a random phase.

    When training, one integer shift `n ~ U{-radius, ..., radius}` is drawn
    per call and applied to the whole batch; the `|n|` samples shifted in at
    one edge are filled by reflection, so the output keeps the input's
    length. At inference the layer is the identity. This stops a WaveGAN
    discriminator from keying on the phase of the generator's periodic
    transposed-convolution artifacts.

    Random numbers come from a `tf.random.Generator` created when the layer
    is built; built inside a `tf.distribute` strategy scope, each replica
    draws its own shift.

    Args:
        radius: int ≥ 0, largest shift in samples (WaveGAN uses 2).
        seed: optional int; fixes the shift sequence for reproducible runs.
        **kwargs: base layer arguments.

    Call arguments:
        inputs: float tensor `(batch, time, channels)` with `time > radius`.
        training: bool; the identity unless true.

    Returns:
        Tensor with the shape of `inputs`.
    """

    def __init__(self, radius=2, seed=None, **kwargs):
        super().__init__(**kwargs)
        if int(radius) < 0 or int(radius) != radius:
            raise ValueError(f"`radius` must be an integer >= 0; got {radius!r}.")
        self.radius = int(radius)
        self.seed = seed
        self._generator = None

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"PhaseShuffle expects (batch, time, channels) inputs; got shape {tuple(input_shape)}.")
        time = input_shape[1]
        if time is not None and time <= self.radius:
            raise ValueError(
                f"PhaseShuffle(radius={self.radius}) needs more than "
                f"{self.radius} time steps to reflect into; got {time}."
            )
        with tf.init_scope():
            if self.seed is None:
                self._generator = tf.random.Generator.from_non_deterministic_state()
            else:
                self._generator = tf.random.Generator.from_seed(self.seed)
        self.built = True

    def call(self, inputs, training=None):
        if not training or self.radius == 0:
            return inputs
        shift = self._generator.uniform((), minval=-self.radius, maxval=self.radius + 1, dtype=tf.int32)
        pad_left = tf.maximum(shift, 0)
        pad_right = tf.maximum(-shift, 0)
        padded = tf.pad(inputs, [[0, 0], [pad_left, pad_right], [0, 0]], mode="REFLECT")
        length = tf.shape(inputs)[1]
        shuffled = padded[:, pad_right : pad_right + length]
        return tf.ensure_shape(shuffled, inputs.shape)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"radius": self.radius, "seed": self.seed})
        return config
