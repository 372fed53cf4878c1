"""CAR-GAN's cascade: G1 → residue module (frozen C) → G2 (Duan et al. 2020, Sec. III, Eq. 1).

    I′  = G1([A, tile(L_a)])
    L_r = L_a − softmax(C(I′))              (residue module, Fig. 2)
    I″  = G2([I′, tile(L_r)])

With `stage2_sees_lms` G2 also receives A, `I″ = G2([I′, A, tile(L_r)])`,
as the authors' released code does (`cat(I′, A)` in `forward`); the paper
gives G2 the coarse image and the residue label only.

The ablations of Table I switch parts off: `residue=False` feeds L_a to G2
instead of L_r (model C); `g2=None` stops after stage I (model D);
attention (model A) lives in the generators themselves.
"""

import keras
from keras import ops


def tile_label(vector, height, width):
    """`(batch, K)` → `(batch, height, width, K)`: the vector at every pixel (Sec. III-A)."""
    return ops.broadcast_to(vector[:, None, None, :], (ops.shape(vector)[0], height, width, vector.shape[-1]))


def residue_label(onehot, logits):
    """L_r = L_a − softmax(C(I′)) `(batch, K)`: the labels the coarse image still misses.

    In [−1, 1]: positive where the audio's class is under-predicted, negative
    where another class is predicted instead. Differentiable in `logits`, so
    stage II's losses reach G1 through C's input (C's weights stay fixed).
    """
    return ops.cast(onehot, logits.dtype) - ops.softmax(logits, axis=-1)


@keras.saving.register_keras_serializable(package="tfxmodal")
class CARGenerator(keras.Model):
    """The two-stage generator with its residue module: (LMS, label) → images.

    Args:
        g1: `UNetGenerator` taking `C_A + num_classes` channels, C_A the
            LMS's channels (1 computed from audio; 3 for the authors'
            colour-mapped spectrogram pictures), set by `build`.
        classifier: `ImageClassifier` C; frozen here (`trainable = False`),
            always run in inference mode.
        g2: `UNetGenerator` taking `3 + num_classes` channels (`3 + C_A +
            num_classes` with `stage2_sees_lms`), or None for
            the single-stage ablation (D).
        residue: condition G2 on L_r (True) or on L_a (ablation C).
        num_classes: K.
        stage2_sees_lms: also feed A to G2 (its input then has
            `3 + C_A + num_classes` channels).

    Call arguments:
        lms: float32 `(batch, S, S, C_A)`, the LMS image A in about [−1, 1].
        label: int `(batch,)` instrument indices in [0, K).
        training: bool, for the generators only.

    Returns:
        dict: `stage1` I′ `(batch, S, S, 3)` in (−1, 1), `stage1_logits`
        C(I′) `(batch, K)`, and with a second stage `condition` (L_r or L_a,
        `(batch, K)`), `stage2` I″ and `stage2_logits` C(I″); `image` is the
        final image (I″, or I′ without a second stage).
    """

    def __init__(self, g1, classifier, g2=None, residue=True, num_classes=13, stage2_sees_lms=False, **kwargs):
        super().__init__(**kwargs)
        self.stage2_sees_lms = bool(stage2_sees_lms)
        self.g1 = g1
        self.classifier = classifier
        self.g2 = g2
        self.residue = bool(residue)
        self.num_classes = int(num_classes)
        # C is pre-trained and fixed (Sec. III-C): no optimizer may see its weights.
        self.classifier.trainable = False

    @property
    def two_stage(self):
        return self.g2 is not None

    def build(self, lms_shape, label_shape=None):
        batch, height, width, lms_channels = lms_shape
        if not self.g1.built:
            self.g1.build((batch, height, width, lms_channels + self.num_classes))
        if not self.classifier.built:
            self.classifier.build((batch, height, width, 3))
        if self.g2 is not None and not self.g2.built:
            self.g2.build((batch, height, width, 3 + self.stage2_sees_lms * lms_channels + self.num_classes))
        self.built = True

    def call(self, lms, label, training=None):
        height, width = lms.shape[1], lms.shape[2]
        onehot = ops.one_hot(ops.cast(label, "int32"), self.num_classes, dtype=lms.dtype)
        stage1 = self.g1(ops.concatenate([lms, tile_label(onehot, height, width)], axis=-1), training=training)
        stage1_logits = self.classifier(stage1, training=False)
        outputs = {"stage1": stage1, "stage1_logits": stage1_logits, "image": stage1}
        if self.g2 is None:
            return {key: ops.cast(value, "float32") for key, value in outputs.items()}
        condition = residue_label(onehot, stage1_logits) if self.residue else onehot
        inputs = [stage1, lms] if self.stage2_sees_lms else [stage1]
        stage2 = self.g2(ops.concatenate([*inputs, tile_label(condition, height, width)], axis=-1), training=training)
        outputs.update(
            condition=condition,
            stage2=stage2,
            stage2_logits=self.classifier(stage2, training=False),
            image=stage2,
        )
        # float32 under a mixed-precision policy too (train.precision): the losses and exports read them.
        return {key: ops.cast(value, "float32") for key, value in outputs.items()}

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "g1": keras.saving.serialize_keras_object(self.g1),
                "classifier": keras.saving.serialize_keras_object(self.classifier),
                "g2": None if self.g2 is None else keras.saving.serialize_keras_object(self.g2),
                "residue": self.residue,
                "num_classes": self.num_classes,
                "stage2_sees_lms": self.stage2_sees_lms,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("g1", "classifier", "g2"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
