"""Auxiliary discriminator D2 on the audio metric space (Kim et al. 2020, Table 6)."""

import keras
from keras import ops

from tfxmodal.layers import SpectralNormalization

HIDDEN_UNITS = (128, 64, 32, 16)
LEAKY_SLOPE = 0.2


@keras.saving.register_keras_serializable(package="tfxmodal")
class AuxDiscriminator(keras.Model):
    """φ(audio) → critic score: `505 → 128 → 64 → 32 → 16 → 1` MLP.

    LReLU(0.2) after every hidden layer; every weight matrix spectrally
    normalized. Judging the 505-d audio-metric features rather than the
    waveform, it pushes translations to spread over the real clusters of
    the metric space (Section 2.5).

    Args:
        hidden_units: widths of the hidden layers.
        power_iterations: spectral-norm power iterations per training call.

    Call arguments:
        features: float `(batch, feature_dim)` audio-metric features.
        training: bool, refines the spectral-norm estimates.

    Returns:
        float32 `(batch, 1)`.
    """

    def __init__(self, hidden_units=HIDDEN_UNITS, power_iterations=1, **kwargs):
        super().__init__(**kwargs)
        self.hidden_units = tuple(int(units) for units in hidden_units)
        self.power_iterations = int(power_iterations)
        self.dense_layers = [
            SpectralNormalization(
                keras.layers.Dense(units, name=f"dense{index}"),
                power_iterations=self.power_iterations,
                name=f"sn_dense{index}",
            )
            for index, units in enumerate((*self.hidden_units, 1), start=1)
        ]

    def build(self, features_shape):
        shape = tuple(features_shape)
        for layer in self.dense_layers:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.built = True

    def call(self, features, training=None):
        x = features
        for layer in self.dense_layers[:-1]:
            x = ops.leaky_relu(layer(x, training=training), LEAKY_SLOPE)
        return self.dense_layers[-1](x, training=training)

    def get_config(self):
        config = super().get_config()
        config.update({"hidden_units": list(self.hidden_units), "power_iterations": self.power_iterations})
        return config
