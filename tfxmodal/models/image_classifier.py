"""CAR-GAN's classifier C: ResNet-50 plus a dense head (Duan et al. 2020, Sec. III-E, IV-A).

C is trained on the dataset's real images, then frozen: it computes the
residue label L_r = L_a − softmax(C(I′)), the classification loss of both
stages, and the evaluation (accuracy of Table II, FID on its pooled
features, IS on its predictions).
"""

import keras
from keras import ops

# keras.applications ResNet-50 "caffe" preprocessing: BGR means on [0, 255].
IMAGENET_BGR_MEANS = (103.939, 116.779, 123.68)
FEATURE_DIM = 2048
BN_MOMENTUM = 0.9


@keras.saving.register_keras_serializable(package="tfxmodal")
class ImageClassifier(keras.Model):
    """Image in [−1, 1] → class logits, through `keras.applications.ResNet50`.

    The image is mapped to [0, 255], RGB → BGR, minus the ImageNet means —
    the preprocessing the ImageNet ResNet-50 weights expect — so the same
    network trains from scratch (`backbone_weights=None`, the default:
    nothing is downloaded) or fine-tunes a local ImageNet weights file as
    the paper does. Then ResNet-50 without its top, global average pooling
    (2048 features) and one dense layer to the classes (the paper's "fully
    connected layer at the end of the network").

    Args:
        num_classes: 13 for (Sub-/mini-)URMP instruments.
        image_size: input side S (≥ 32, ResNet-50's minimum).
        backbone_weights: None, or the path of a Keras ResNet-50 "notop"
            weights file (e.g. `resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5`)
            to start from; not part of the config (the trained weights are
            saved with the model).

    Call arguments:
        images: float32 `(batch, S, S, 3)` in [−1, 1].
        training: bool (batch statistics).

    Returns:
        float32 `(batch, num_classes)` logits.
    """

    def __init__(self, num_classes=13, image_size=256, backbone_weights=None, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)
        self.image_size = int(image_size)
        if self.image_size < 32:
            raise ValueError(f"ImageClassifier: image_size must be >= 32 (ResNet-50), got {image_size!r}")
        self.backbone = keras.applications.ResNet50(
            include_top=False,
            weights=backbone_weights,
            input_shape=(self.image_size, self.image_size, 3),
            pooling="avg",
        )
        # torchvision's ResNet-50 (the authors' C) keeps batch-norm running
        # averages with momentum 0.1, i.e. Keras momentum 0.9; Keras's own
        # 0.99 lags far behind the weights in a short training from scratch.
        for layer in self.backbone.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.momentum = BN_MOMENTUM
        self.head = keras.layers.Dense(self.num_classes, name="head")

    def build(self, input_shape=None):
        self.head.build((None, FEATURE_DIM))
        self.built = True

    def preprocess(self, images):
        pixels = (ops.cast(images, "float32") + 1.0) * 127.5
        bgr = ops.flip(pixels, axis=-1)
        return bgr - ops.convert_to_tensor(IMAGENET_BGR_MEANS, dtype="float32")

    def features(self, images, training=None):
        """Pooled ResNet-50 features `(batch, 2048)` (FID is computed on these)."""
        return self.backbone(self.preprocess(images), training=training)

    def call(self, images, training=None):
        return self.head(self.features(images, training=training))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        config = super().get_config()
        config.update({"num_classes": self.num_classes, "image_size": self.image_size})
        return config
