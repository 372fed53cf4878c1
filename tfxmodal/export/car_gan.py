"""Export of a trained CAR-GAN (audio → image) as a TF Serving SavedModel.

Signatures (all batched; `label` is the instrument index 0-12 of
`tfxmodal.domain.URMP_INSTRUMENTS`):

- `serving_default(lms, label)`: float32 `[N, S, S, 1]` normalised log-mel
  images (as `tfxmodal.data.urmp.lms.lms_image` makes them) and int32 `[N]`
  labels → `image` uint8 `[N, S, S, 3]` RGB (I″, or I′ for a single-stage
  model), `stage1_image` uint8 (I′) and `probabilities` float32 `[N, 13]`
  (C's softmax on the returned image).
- `waveform(audio, label)`: float32 `[N, samples]` 16 kHz waveform chunks
  in [−1, 1] → the same outputs. Chunks are cropped or zero-padded at the
  end to 0.5 s (8000 samples) and turned into LMS images by the very
  function the training pipeline uses (`urmp.lms.lms_image`), so serving and
  training see identical inputs.

A model trained on the authors' spectrogram pictures (`data.lms: image`)
takes `lms` float32 `[N, S, S, 3]` in [−1, 1] (the picture, x / 127.5 − 1)
and has no `waveform` signature: those pictures are not computed here.

A label outside 0-12, an input of the wrong shape, a NaN or infinite
input, or one of the wrong dtype fails the request with an `InvalidArgumentError` naming the input and what
it must be.
"""

import keras
import tensorflow as tf

from tfxmodal.data.urmp.lms import chunk_samples, fit_length, lms_image
from tfxmodal.domain import NUM_INSTRUMENTS, SAMPLE_RATE, URMP_INSTRUMENTS
from tfxmodal.export.checks import checked, finite, same_batch
from tfxmodal.export.versions import next_version_dir
from tfxmodal.utils.files import atomic_path

NUM_CLASSES = NUM_INSTRUMENTS


def _checked_labels(label):
    label = tf.cast(label, tf.int32)
    message = f"label must be an instrument index in 0..{NUM_CLASSES - 1} ({', '.join(URMP_INSTRUMENTS)})"
    with tf.control_dependencies(
        [
            tf.debugging.assert_greater_equal(label, 0, message=message),
            tf.debugging.assert_less(label, NUM_CLASSES, message=message),
        ]
    ):
        return tf.identity(label)


def to_uint8(images):
    """Images in [−1, 1] → uint8 [0, 255]."""
    return tf.cast(tf.round(tf.clip_by_value((images + 1.0) * 127.5, 0.0, 255.0)), tf.uint8)


def build_archive(cascade, image_size, lms_channels=1):
    """A `keras.export.ExportArchive` of `cascade` (a `CARGenerator`) with the signatures above.

    `lms_channels`: 1 (LMS from audio) or 3 (spectrogram pictures, no `waveform` signature).
    """
    image_size = int(image_size)
    lms_shape = [None, image_size, image_size, int(lms_channels)]
    samples = chunk_samples(SAMPLE_RATE)
    archive = keras.export.ExportArchive()
    archive.track(cascade)

    label_spec = tf.TensorSpec([None], tf.int32, name="label")

    # One traced cascade that both signatures call: tracing the cascade (C's
    # ResNet-50 included) is most of an export's time, and the SavedModel
    # then stores its graph once.
    @tf.function(input_signature=[tf.TensorSpec(lms_shape, tf.float32), label_spec])
    def translate(lms, label):
        label = same_batch(lms, "lms", label, "label")
        outputs = cascade(lms, _checked_labels(label), training=False)
        logits = outputs["stage2_logits"] if "stage2_logits" in outputs else outputs["stage1_logits"]
        return {
            "image": to_uint8(outputs["image"]),
            "stage1_image": to_uint8(outputs["stage1"]),
            "probabilities": tf.nn.softmax(logits, axis=-1),
        }

    @tf.function(input_signature=[tf.TensorSpec(lms_shape, tf.float32, name="lms"), label_spec])
    def serving_default(lms, label):
        lms = checked(lms, "lms", lms_shape, "float32 log-mel images")
        return translate(finite(lms, "lms", "float32 log-mel images"), label)

    archive.add_endpoint("serving_default", serving_default)
    if lms_channels != 1:
        return archive

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32, name="audio"), label_spec])
    def waveform(audio, label):
        audio = finite(audio, "audio", "float32 16 kHz waveform chunks")
        lms = tf.map_fn(
            lambda chunk: lms_image(fit_length(chunk, samples), image_size, SAMPLE_RATE),
            audio,
            fn_output_signature=tf.TensorSpec([image_size, image_size, 1], tf.float32),
        )
        return translate(lms, label)

    archive.add_endpoint("waveform", waveform)
    return archive


def export_car_gan(cascade, image_size, base_dir, lms_channels=1):
    """Writes the next version under `base_dir` atomically; returns its path.

    `lms_channels` as in `build_archive`.

    Written to a hidden temporary directory and renamed into place when
    complete, so TF Serving (which polls `base_dir`) never sees a partial model.
    """
    archive = build_archive(cascade, image_size, lms_channels)
    target = next_version_dir(base_dir)
    with atomic_path(target, directory=True) as temp:
        archive.write_out(temp, verbose=False)
    return target
