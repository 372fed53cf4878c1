"""Audio embedding network ψ (Kim et al. 2020, Table 5) and its classifier twin.

Both share a convolutional trunk: five `Conv1D(k=25) → BatchNorm → LReLU`
blocks (strides 4, 4, 4, 4, 2; channels d … 16d) and a mean over time.
The embedder ends in `Dense(128) → L2-normalize` and is trained with a
triplet loss on instrument family; the classifier (Appendix 5.1.4, for FID
and IS) ends in `Dense(num_classes) → softmax`.
"""

import keras
from keras import ops

from tfxmodal.models.wavegan import KERNEL_SIZE, LEAKY_SLOPE, NUM_SAMPLES, STRIDES, down_block_channels


@keras.saving.register_keras_serializable(package="tfxmodal")
class AudioConvTrunk(keras.layers.Layer):
    """`(batch, 8192, 1)` waveform → `(batch, 16d)` mean-pooled features.

    Args:
        width: `d`, the channel multiplier (paper: 64).
    """

    def __init__(self, width=64, **kwargs):
        super().__init__(**kwargs)
        self.width = int(width)
        self.convs = [
            keras.layers.Conv1D(filters, KERNEL_SIZE, strides=stride, padding="same", name=f"conv{i}")
            for i, (filters, stride) in enumerate(zip(down_block_channels(self.width), STRIDES), start=1)
        ]
        self.norms = [keras.layers.BatchNormalization(name=f"conv{i}_bn") for i in range(1, 6)]

    def build(self, input_shape):
        if tuple(input_shape[1:]) != (NUM_SAMPLES, 1):
            raise ValueError(
                f"{self.name}: expected waveforms of shape (batch, {NUM_SAMPLES}, 1), got {tuple(input_shape)}"
            )
        shape = tuple(input_shape)
        for conv, norm in zip(self.convs, self.norms):
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
            norm.build(shape)
        self.built = True

    def call(self, waveform, training=None):
        x = waveform
        for conv, norm in zip(self.convs, self.norms):
            x = ops.leaky_relu(norm(conv(x), training=training), LEAKY_SLOPE)
        return ops.mean(x, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 16 * self.width)

    def get_config(self):
        config = super().get_config()
        config.update({"width": self.width})
        return config


def _build_once(layer, shape):
    # A head used on its own (e.g. `features()`) may already have built it.
    if not layer.built:
        layer.build(shape)


def _as_waveform_batch(waveform):
    """Accepts `(batch, samples)` as well as `(batch, samples, 1)`."""
    if len(waveform.shape) == 2:
        return ops.expand_dims(waveform, -1)
    return waveform


@keras.saving.register_keras_serializable(package="tfxmodal")
class AudioEmbedder(keras.Model):
    """ψ: waveform → 128-d unit vector (Table 5), trained with a triplet loss.

    Args:
        width: trunk channel multiplier `d`.
        embedding_dim: output size (128).

    Call arguments:
        waveform: float `(batch, 8192[, 1])`.

    Returns:
        float32 `(batch, embedding_dim)` with unit L2 norm.
    """

    def __init__(self, width=64, embedding_dim=128, **kwargs):
        super().__init__(**kwargs)
        self.width = int(width)
        self.embedding_dim = int(embedding_dim)
        self.trunk = AudioConvTrunk(self.width, name="trunk")
        self.projection = keras.layers.Dense(self.embedding_dim, name="projection")

    def build(self, waveform_shape):
        _build_once(self.trunk, (waveform_shape[0], NUM_SAMPLES, 1))
        _build_once(self.projection, (waveform_shape[0], 16 * self.width))
        self.built = True

    def call(self, waveform, training=None):
        features = self.trunk(_as_waveform_batch(waveform), training=training)
        embedding = self.projection(features)
        return embedding * ops.rsqrt(ops.maximum(ops.sum(ops.square(embedding), -1, keepdims=True), 1e-12))

    def get_config(self):
        config = super().get_config()
        config.update({"width": self.width, "embedding_dim": self.embedding_dim})
        return config


@keras.saving.register_keras_serializable(package="tfxmodal")
class AudioClassifier(keras.Model):
    """Pitch or family classifier for FID / IS (Appendix 5.1.4).

    The embedding network with its L2 normalization replaced by a softmax.
    `features()` gives the penultimate activations FID is computed on.

    Args:
        num_classes: 61 for pitch (24–84), 10 for family.
        width: trunk channel multiplier `d`.

    Call arguments:
        waveform: float `(batch, 8192[, 1])`.

    Returns:
        float32 `(batch, num_classes)` class probabilities.
    """

    def __init__(self, num_classes, width=64, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)
        self.width = int(width)
        self.trunk = AudioConvTrunk(self.width, name="trunk")
        self.logits = keras.layers.Dense(self.num_classes, name="logits")

    def build(self, waveform_shape):
        _build_once(self.trunk, (waveform_shape[0], NUM_SAMPLES, 1))
        _build_once(self.logits, (waveform_shape[0], 16 * self.width))
        self.built = True

    def features(self, waveform, training=None):
        """Penultimate features `(batch, 16d)`."""
        return self.trunk(_as_waveform_batch(waveform), training=training)

    def call(self, waveform, training=None):
        return ops.softmax(self.logits(self.features(waveform, training=training)), axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update({"num_classes": self.num_classes, "width": self.width})
        return config
