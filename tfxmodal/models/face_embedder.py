"""Face embedding networks f: face image → 512-d unit vector (Kim et al. 2020, Table 2).

Two embedders share one interface (`embedding_dim`, `image_size`, call on
RGB images in [0, 255]):

- `FaceEmbedder`: the paper's ResNet-50 → global average pool → Dense 512 →
  L2-normalize, with VGGFace2 preprocessing. The ResNet-50 is built in the
  layout of keras-vggface's VGGFace2 model (Caffe-style: bias-free
  convolutions, a `same`-padded 7×7 stem and an unpadded 3×3 max-pool, which
  `keras.applications.ResNet50` pads differently), so the
  `rcmalli_vggface_tf_notop_resnet50.h5` weights load exactly.
- `EigenfaceEmbedder`: the embedded default when no face-recognition weights
  are available offline. A documented classical face metric (Turk & Pentland
  1991): PCA of grey faces fitted on the bundled LFW faces; no weight in it
  is random.
"""

import os

import keras
import numpy as np
from keras import ops

# keras-vggface "version 2" (VGGFace2 ResNet-50 / SENet-50) preprocessing:
# RGB → BGR, then subtract these per-channel means (B, G, R).
VGGFACE2_BGR_MEANS = (91.4953, 103.8827, 131.0912)
RESNET50_STAGES = (
    (2, 3, (64, 64, 256), 1),
    (3, 4, (128, 128, 512), 2),
    (4, 6, (256, 256, 1024), 2),
    (5, 3, (512, 512, 2048), 2),
)
# keras-vggface builds its BatchNormalization layers with Keras 2's default epsilon.
VGGFACE_BN_EPSILON = 1e-3


class WeightsFileError(ValueError):
    """A weights file that is missing or does not fit the network."""


def keras_layer_name(vggface_name):
    """keras-vggface layer name → ours: Keras 3 forbids '/' in names."""
    return vggface_name.replace("/", "_")


def _conv_bn(x, filters, kernel, name, strides=1, padding="valid", relu=True):
    x = keras.layers.Conv2D(
        filters, kernel, strides=strides, padding=padding, use_bias=False, name=keras_layer_name(name)
    )(x)
    x = keras.layers.BatchNormalization(epsilon=VGGFACE_BN_EPSILON, name=keras_layer_name(name + "/bn"))(x)
    return keras.layers.ReLU()(x) if relu else x


def _bottleneck(x, filters, stage, block, strides):
    prefix = f"conv{stage}_{block}"
    f1, f2, f3 = filters
    y = _conv_bn(x, f1, 1, prefix + "_1x1_reduce", strides=strides)
    y = _conv_bn(y, f2, 3, prefix + "_3x3", padding="same")
    y = _conv_bn(y, f3, 1, prefix + "_1x1_increase", relu=False)
    if block == 1:
        x = _conv_bn(x, f3, 1, prefix + "_1x1_proj", strides=strides, relu=False)
    return keras.layers.ReLU()(keras.layers.Add()([y, x]))


def vggface_resnet50(image_size=224, name="vggface_resnet50"):
    """ResNet-50 trunk in keras-vggface's layout: `(b, s, s, 3)` BGR-centred → `(b, s/32-ish, s/32-ish, 2048)`."""
    inputs = keras.Input((image_size, image_size, 3))
    x = _conv_bn(inputs, 64, 7, "conv1/7x7_s2", strides=2, padding="same")
    x = keras.layers.MaxPooling2D(3, strides=2)(x)
    for stage, blocks, filters, strides in RESNET50_STAGES:
        for block in range(1, blocks + 1):
            x = _bottleneck(x, filters, stage, block, strides if block == 1 else 1)
    return keras.Model(inputs, x, name=name)


def read_vggface_h5(path):
    """Weights of a keras-vggface (Keras 2) h5 file: `{layer name: {weight name: array}}`.

    Accepts both weights-only files and whole-model files (`model_weights/`).
    Weight names are reduced to their last part without `:0` (`kernel`,
    `gamma`, `beta`, `moving_mean`, `moving_variance`, `bias`).
    """
    import h5py

    if not os.path.isfile(path):
        raise WeightsFileError(f"{path}: no such weights file")
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise WeightsFileError(f"{path}: not an HDF5 weights file ({error})") from None
    with handle:
        root = handle["model_weights"] if "model_weights" in handle and "layer_names" not in handle.attrs else handle
        if "layer_names" not in root.attrs:
            raise WeightsFileError(f"{path}: no 'layer_names' attribute; not a Keras h5 weights file")
        weights = {}
        for raw_layer in root.attrs["layer_names"]:
            layer = raw_layer.decode() if isinstance(raw_layer, bytes) else str(raw_layer)
            group = root[layer]
            names = [n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs.get("weight_names", [])]
            if names:
                weights[layer] = {n.split("/")[-1].split(":")[0]: np.asarray(group[n]) for n in names}
    return weights


def load_vggface_weights(backbone, path):
    """Loads a keras-vggface ResNet-50 h5 into `vggface_resnet50()` by name.

    Every convolution and batch norm of the backbone must be found with the
    right shapes; otherwise `WeightsFileError` names the first layer that is
    missing or mismatched. Returns the number of layers loaded.
    """
    stored = {keras_layer_name(name): values for name, values in read_vggface_h5(path).items()}
    loaded = 0
    for layer in backbone.layers:
        if isinstance(layer, keras.layers.Conv2D):
            order = ["kernel"]
        elif isinstance(layer, keras.layers.BatchNormalization):
            order = ["gamma", "beta", "moving_mean", "moving_variance"]
        else:
            continue
        if layer.name not in stored:
            raise WeightsFileError(f"{path}: no weights for layer {layer.name!r} (keras-vggface name with '/')")
        values = stored[layer.name]
        arrays = []
        for weight_name, variable in zip(order, layer.weights):
            if weight_name not in values:
                raise WeightsFileError(f"{path}: layer {layer.name!r} lacks {weight_name!r}")
            if tuple(values[weight_name].shape) != tuple(variable.shape):
                raise WeightsFileError(
                    f"{path}: layer {layer.name!r} {weight_name} has shape {values[weight_name].shape}, "
                    f"expected {tuple(variable.shape)}"
                )
            arrays.append(values[weight_name])
        layer.set_weights(arrays)
        loaded += 1
    return loaded


def _l2_normalize(x):
    return x * ops.rsqrt(ops.maximum(ops.sum(ops.square(x), axis=-1, keepdims=True), 1e-12))


@keras.saving.register_keras_serializable(package="tfxmodal")
class FaceEmbedder(keras.Model):
    """The paper's face embedding network (Table 2).

    `(batch, 224, 224, 3)` RGB in [0, 255] → VGGFace2 preprocessing (RGB →
    BGR, subtract the channel means) → ResNet-50 (`(b, 7, 7, 2048)`) →
    global average pool → Dense 512 → L2-normalize → `(batch, 512)`.

    Weights: `load_vggface_weights(h5)` fills the ResNet-50 from the
    keras-vggface VGGFace2 file; the Dense 512 then either comes from a
    Keras weights file of this model (`load_weights`) or is fitted by
    `fit_projection(images)` as the PCA of the pooled features of the
    source faces (the paper's 512-d layer was trained on VGGFace2 identities,
    which a user rarely has the labels for).

    Args:
        embedding_dim: output size (512).
        image_size: input height = width (224).
    """

    def __init__(self, embedding_dim=512, image_size=224, **kwargs):
        super().__init__(**kwargs)
        self.embedding_dim = int(embedding_dim)
        self.image_size = int(image_size)
        self.backbone = vggface_resnet50(self.image_size)
        self.pool = keras.layers.GlobalAveragePooling2D()
        self.projection = keras.layers.Dense(self.embedding_dim, name="projection")

    def build(self, images_shape=None):
        # The functional backbone is built at construction; only the head is left.
        self.projection.build((None, 2048))
        self.built = True

    @staticmethod
    def preprocess(images):
        """RGB [0, 255] → BGR minus the VGGFace2 channel means."""
        bgr = ops.flip(ops.cast(images, "float32"), axis=-1)
        return bgr - ops.convert_to_tensor(VGGFACE2_BGR_MEANS, dtype="float32")

    def pooled_features(self, images, training=False):
        """`(batch, 2048)` pooled ResNet-50 features."""
        return self.pool(self.backbone(self.preprocess(images), training=training))

    def call(self, images, training=None):
        return _l2_normalize(self.projection(self.pooled_features(images, training=bool(training))))

    def load_vggface_weights(self, path):
        """Fills the ResNet-50 from a keras-vggface h5 file (see `load_vggface_weights`)."""
        return load_vggface_weights(self.backbone, path)

    def fit_projection(self, images, batch_size=32):
        """Sets Dense 512 to the PCA of the pooled features of `images` `(n, s, s, 3)`.

        With `n ≤ 512` faces only `n − 1` directions exist; the remaining
        columns are zero, which leaves distances unchanged.
        """
        features = np.concatenate(
            [np.asarray(self.pooled_features(images[i : i + batch_size])) for i in range(0, len(images), batch_size)]
        )
        mean, components = _pca(features, self.embedding_dim)
        if not self.built:
            self.build()
        self.projection.set_weights([components, -mean @ components])

    def get_config(self):
        config = super().get_config()
        config.update({"embedding_dim": self.embedding_dim, "image_size": self.image_size})
        return config


def _pca(data, max_components):
    """`(mean (dim,), components (dim, max_components))`, zero-padded columns."""
    data = np.asarray(data, np.float64)
    mean = data.mean(axis=0)
    _, singular, vt = np.linalg.svd(data - mean, full_matrices=False)
    keep = min(max_components, int(np.sum(singular > singular[0] * 1e-6)))
    components = np.zeros((data.shape[1], max_components))
    components[:, :keep] = vt[:keep].T
    return mean.astype(np.float32), components.astype(np.float32)


@keras.saving.register_keras_serializable(package="tfxmodal")
class EigenfaceEmbedder(keras.Model):
    """Eigenface metric: the default face embedding when no weights exist offline.

    `(batch, H, W, 3)` RGB in [0, 255] → grey (ITU-R 601 luma) → resized to
    `image_size`² → flattened and scaled to [0, 1] → minus the mean face →
    projection on the top `num_components` principal components → zero-padded
    to `embedding_dim` → L2-normalize. Zero-padding is an isometry, so L2
    distances between embeddings are those of the PCA coefficients (after
    normalization: cosine distances), a classical face-similarity metric.
    The mean face and components are weights of the model, fitted by
    `fit_faces(faces)` and saved with it.

    Args:
        num_components: principal components kept (≤ number of faces − 1).
        embedding_dim: output size, matching the generator's input (512).
        image_size: side of the grey face the PCA runs on (25, the size of
            scikit-image's bundled LFW faces).
    """

    def __init__(self, num_components=32, embedding_dim=512, image_size=25, **kwargs):
        super().__init__(**kwargs)
        self.num_components = int(num_components)
        self.embedding_dim = int(embedding_dim)
        self.image_size = int(image_size)
        if not 1 <= self.num_components <= self.embedding_dim:
            raise ValueError(
                f"EigenfaceEmbedder: num_components must be in 1..{self.embedding_dim}, got {num_components}"
            )
        pixels = self.image_size * self.image_size
        self.mean_face = self.add_weight(shape=(pixels,), initializer="zeros", trainable=False, name="mean_face")
        self.components = self.add_weight(
            shape=(pixels, self.num_components), initializer="zeros", trainable=False, name="components"
        )
        self.fitted = self.add_weight(shape=(), initializer="zeros", trainable=False, name="fitted")

    def build(self, images_shape=None):
        # All weights are created in __init__; nothing depends on the input shape.
        self.built = True

    def flatten_grey(self, images):
        """`(b, H, W, 3)` RGB [0, 255] → `(b, image_size²)` grey in [0, 1]."""
        images = ops.cast(images, "float32") / 255.0
        luma = ops.convert_to_tensor([0.299, 0.587, 0.114], dtype="float32")
        grey = ops.sum(images * luma, axis=-1, keepdims=True)
        grey = ops.image.resize(grey, (self.image_size, self.image_size), interpolation="bilinear", antialias=True)
        return ops.reshape(grey, (-1, self.image_size * self.image_size))

    def fit_faces(self, images):
        """Fits the mean face and components on `(n, H, W, 3)` faces; returns explained variance ratio."""
        grey = np.asarray(self.flatten_grey(images), np.float64)
        if len(grey) <= self.num_components:
            raise ValueError(
                f"EigenfaceEmbedder.fit_faces: {len(grey)} faces cannot give {self.num_components} components"
            )
        mean, components = _pca(grey, self.num_components)
        self.mean_face.assign(mean)
        self.components.assign(components)
        self.fitted.assign(1.0)
        self.build()
        centred = grey - mean
        return float(np.sum((centred @ components) ** 2) / np.sum(centred**2))

    def call(self, images, training=None):
        import tensorflow as tf

        # An unfitted eigenface model would map every face to the same point.
        with tf.control_dependencies(
            [tf.debugging.assert_equal(self.fitted, 1.0, message="EigenfaceEmbedder used before fit_faces()")]
        ):
            grey = tf.identity(self.flatten_grey(images))
        coefficients = ops.matmul(grey - self.mean_face, self.components)
        padded = ops.pad(coefficients, [[0, 0], [0, self.embedding_dim - self.num_components]])
        return _l2_normalize(padded)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"num_components": self.num_components, "embedding_dim": self.embedding_dim, "image_size": self.image_size}
        )
        return config
