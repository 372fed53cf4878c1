"""Projection discriminator output (Miyato & Koyama 2018)."""

import keras
from keras import ops

from tfxmodal.layers.labels import check_class_labels
from tfxmodal.layers.spectral_normalization import SpectralNormalization


@keras.saving.register_keras_serializable(package="tfxmodal")
class ProjectionHead(keras.layers.Layer):
    """Class-conditional critic output `ψ(h) + ⟨embed(y), h⟩`.

    `ψ` is a `Dense(1)` on the pooled discriminator features `h` and
    `embed` a `(num_classes, features)` embedding; their sum is the
    projection discriminator of Miyato & Koyama (2018), Eq. 3. With
    `spectral_norm=True` both weight matrices are spectrally normalized, as
    in the face-to-music discriminator (Kim et al. 2020, Table 4).

    Args:
        num_classes: int, number of class labels.
        spectral_norm: bool, wrap the dense layer and the embedding in
            `SpectralNormalization`.
        power_iterations: int, power-iteration steps when `spectral_norm`.
        kernel_initializer: initializer of both weight matrices.
        **kwargs: base layer arguments.

    Call arguments:
        features: float tensor `(batch, features)`.
        labels: int tensor `(batch,)` or `(batch, 1)`.
        training: bool, forwarded to the spectral normalization.

    Returns:
        Float tensor `(batch, 1)` of unbounded critic scores.
    """

    def __init__(
        self,
        num_classes,
        spectral_norm=False,
        power_iterations=1,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(num_classes) < 1:
            raise ValueError(f"`num_classes` must be >= 1; got {num_classes!r}.")
        self.num_classes = int(num_classes)
        self.spectral_norm = bool(spectral_norm)
        self.power_iterations = power_iterations
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, features_shape, labels_shape=None):
        if len(features_shape) != 2 or features_shape[-1] is None:
            raise ValueError(
                f"ProjectionHead expects pooled features of shape (batch, features); got {tuple(features_shape)}."
            )
        # Built with the head's dtype policy (train.precision), wherever the build happens.
        policy = self.dtype_policy
        linear = keras.layers.Dense(1, kernel_initializer=self.kernel_initializer, dtype=policy, name="linear")
        embedding = keras.layers.Embedding(
            self.num_classes,
            features_shape[-1],
            embeddings_initializer=self.kernel_initializer,
            dtype=policy,
            name="class_embedding",
        )
        if self.spectral_norm:
            linear = SpectralNormalization(linear, self.power_iterations, dtype=policy, name="sn_linear")
            embedding = SpectralNormalization(embedding, self.power_iterations, dtype=policy, name="sn_class_embedding")
        self.linear = linear
        self.class_embedding = embedding
        self.linear.build(features_shape)
        self.class_embedding.build((None,))
        self.built = True

    def call(self, features, labels, training=None):
        labels = check_class_labels(labels, self.num_classes, self.name)
        kwargs = {"training": training} if self.spectral_norm else {}
        embedded = self.class_embedding(labels, **kwargs)
        projection = ops.sum(embedded * features, axis=-1, keepdims=True)
        return self.linear(features, **kwargs) + projection

    def compute_output_shape(self, features_shape, labels_shape=None):
        return (features_shape[0], 1)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "spectral_norm": self.spectral_norm,
                "power_iterations": self.power_iterations,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
