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

import h5py
import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tfxmodal.errors import WeightsFileError
from tfxmodal.utils.tracing import infer, traced

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


def embed(model, images):
    """Face embeddings `(b, 512)` float32 NumPy of `(b, s, s, 3)` RGB [0, 255] images (`utils.tracing.infer`:
    traced for the ResNet-50, eager for the small eigenface model)."""
    return infer(model, images)


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
        if not self.projection.built:
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
        return self.fit_projection_batches(images[i : i + batch_size] for i in range(0, len(images), batch_size))

    def fit_projection_batches(self, batches):
        """`fit_projection` over an iterable of `(b, s, s, 3)` face batches (never all in memory).

        Returns the number of faces seen.
        """
        pca = StreamingPCA(2048)
        for images in batches:
            pca.add(np.asarray(traced(self, "pooled_features")(images)))
        mean, components, _ = pca.fit(self.embedding_dim)
        if not self.built:
            self.build()
        self.projection.set_weights([components, -mean @ components])
        return pca.count

    def get_config(self):
        config = super().get_config()
        config.update({"embedding_dim": self.embedding_dim, "image_size": self.image_size})
        return config


class StreamingPCA:
    """PCA of rows added in batches, without keeping them once there are more rows than columns.

    While fewer rows than `dim` have come, they are kept (float64) and the
    PCA is an SVD of the centred rows. From `dim` rows on, only the count,
    the sum and the Gram matrix `XᵀX` are kept (`dim²` float64: 33 MB for
    2048-d pooled features, 3 MB for 25² eigenfaces) and the components are
    the eigenvectors of the covariance — the same directions. Memory is
    therefore at most `dim²` float64s; above `max_bytes` that is refused.

    Args:
        dim: row width.
        max_bytes: refuse a `dim` whose `dim²` float64 moments exceed this.
    """

    def __init__(self, dim, max_bytes=2 << 30):
        self.dim = int(dim)
        self.max_bytes = max_bytes
        self.count = 0
        self.rows = []
        self.total = None
        self.gram = None

    def add(self, rows):
        """Adds `(b, dim)` rows."""
        rows = np.asarray(rows, np.float64).reshape(-1, self.dim)
        self.count += len(rows)
        if self.gram is None:
            self.rows.append(rows)
            if self.count < self.dim:
                return
            if self.dim * self.dim * 8 > self.max_bytes:
                raise ValueError(
                    f"StreamingPCA: {self.count} rows of width {self.dim} need a {self.dim}² covariance "
                    f"({self.dim * self.dim * 8 / 2**30:.1f} GiB); use fewer rows or narrower ones"
                )
            rows = np.concatenate(self.rows)
            self.rows = []
            self.total = np.zeros(self.dim)
            self.gram = np.zeros((self.dim, self.dim))
        self.total += rows.sum(axis=0)
        self.gram += rows.T @ rows

    def fit(self, max_components):
        """`(mean (dim,), components (dim, max_components), explained variance ratio)`, float32/float.

        Components are ordered by variance, each signed so that its largest
        entry is positive; directions beyond the data's rank (standard
        deviation below 1e-6 of the first) are zero columns, which leave
        distances unchanged.
        """
        if self.count < 2:
            raise ValueError(f"StreamingPCA: {self.count} row(s) give no principal directions")
        if self.gram is None:
            data = np.concatenate(self.rows)
            mean = data.mean(axis=0)
            _, singular, vectors = np.linalg.svd(data - mean, full_matrices=False)
            variances, vectors = singular**2 / (self.count - 1), vectors.T
        else:
            mean = self.total / self.count
            covariance = (self.gram - self.count * np.outer(mean, mean)) / (self.count - 1)
            variances, vectors = np.linalg.eigh((covariance + covariance.T) / 2)
            order = np.argsort(variances)[::-1]
            variances, vectors = np.clip(variances[order], 0.0, None), vectors[:, order]
        keep = min(max_components, int(np.sum(variances > variances[0] * 1e-12)))
        signs = np.where(vectors[np.argmax(np.abs(vectors), axis=0), np.arange(vectors.shape[1])] < 0, -1.0, 1.0)
        vectors = vectors * signs
        components = np.zeros((self.dim, max_components))
        components[:, :keep] = vectors[:, :keep]
        total_variance = float(np.sum(variances))
        explained = float(np.sum(variances[:keep]) / total_variance) if total_variance > 0 else 0.0
        return mean.astype(np.float32), components.astype(np.float32), explained


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

    def fit_faces(self, images, batch_size=256):
        """Fits the mean face and components on `(n, H, W, 3)` faces; returns explained variance ratio."""
        return self.fit_faces_batches(images[i : i + batch_size] for i in range(0, len(images), batch_size))

    def fit_faces_batches(self, batches):
        """`fit_faces` over an iterable of `(b, H, W, 3)` face batches (never all in memory)."""
        pca = StreamingPCA(self.image_size * self.image_size)
        for images in batches:
            pca.add(np.asarray(traced(self, "flatten_grey")(images)))
        if pca.count <= self.num_components:
            raise ValueError(
                f"EigenfaceEmbedder.fit_faces: {pca.count} faces cannot give {self.num_components} components"
            )
        mean, components, explained = pca.fit(self.num_components)
        self.mean_face.assign(mean)
        self.components.assign(components)
        self.fitted.assign(1.0)
        self.build()
        return explained

    def call(self, images, training=None):
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
