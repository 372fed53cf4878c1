"""Export of a trained face-to-music translator as a TF Serving SavedModel.

Signatures (all batched; MIDI pitches 24-84):

- `serving_default(images)`: uint8 `[N, H, W, 3]` RGB faces of any size →
  `waveform` float32 `[N, 8192]` (16 kHz, in [-1, 1]) at the default pitch,
  plus `embedding` `[N, 512]` and `pitch` int32 `[N]`.
- `translate(images, pitch)`: the same with one MIDI pitch per face.
- `embedding(embedding, pitch)`: float32 `[N, 512]` face embeddings (e.g.
  precomputed from VGGFace2) and MIDI pitches → `waveform` `[N, 8192]`.

A pitch outside 24-84, an input of the wrong shape (RGBA images, a
`[H, W, 3]` image without the batch axis, embeddings that are not 512-d,
fewer pitches than faces), a NaN or infinite embedding, or an input of the
wrong dtype fails the request
with an `InvalidArgumentError` naming the input and what it must be.
"""

import keras
import tensorflow as tf

from tfxmodal.domain import HIGHEST_PITCH, LOWEST_PITCH
from tfxmodal.export.checks import checked, finite, same_batch
from tfxmodal.export.versions import next_version_dir
from tfxmodal.utils.files import atomic_path


def _pitch_classes(pitch):
    pitch = tf.cast(pitch, tf.int32)
    message = f"pitch must be a MIDI note number in {LOWEST_PITCH}..{HIGHEST_PITCH}"
    with tf.control_dependencies(
        [
            tf.debugging.assert_greater_equal(pitch, LOWEST_PITCH, message=message),
            tf.debugging.assert_less_equal(pitch, HIGHEST_PITCH, message=message),
        ]
    ):
        return pitch - LOWEST_PITCH


def build_archive(face_embedder, generator, default_pitch=60):
    """A `keras.export.ExportArchive` with the three signatures above."""
    if not LOWEST_PITCH <= default_pitch <= HIGHEST_PITCH:
        raise ValueError(f"default_pitch {default_pitch} is outside {LOWEST_PITCH}..{HIGHEST_PITCH}")
    image_size = int(face_embedder.image_size)
    archive = keras.export.ExportArchive()
    archive.track(face_embedder)
    archive.track(generator)

    images_spec = tf.TensorSpec([None, None, None, 3], tf.uint8, name="images")
    pitch_spec = tf.TensorSpec([None], tf.int32, name="pitch")
    embedding_spec = tf.TensorSpec([None, generator.latent_dim], tf.float32, name="embedding")

    # Each network is traced once, whichever signatures call it, and its graph
    # is stored once in the SavedModel.
    @tf.function(input_signature=[images_spec])
    def embed(images):
        images = checked(images, "images", [None, None, None, 3], "uint8 RGB faces")
        resized = tf.image.resize(tf.cast(images, tf.float32), (image_size, image_size), antialias=True)
        return face_embedder(resized, training=False)

    @tf.function(input_signature=[embedding_spec, pitch_spec])
    def generate(embedding, pitch):
        waveform = generator(embedding, _pitch_classes(pitch), training=False)
        return tf.squeeze(waveform, -1)

    @tf.function(input_signature=[images_spec])
    def serving_default(images):
        embedding = embed(images)
        pitch = tf.fill(tf.shape(embedding)[:1], default_pitch)
        return {"waveform": generate(embedding, pitch), "embedding": embedding, "pitch": pitch}

    @tf.function(input_signature=[images_spec, pitch_spec])
    def translate(images, pitch):
        embedding = embed(images)
        pitch = same_batch(embedding, "images", pitch, "pitch")
        return {"waveform": generate(embedding, pitch), "embedding": embedding, "pitch": pitch}

    @tf.function(input_signature=[embedding_spec, pitch_spec])
    def from_embedding(embedding, pitch):
        embedding = checked(embedding, "embedding", [None, generator.latent_dim], "float32 face embeddings")
        embedding = finite(embedding, "embedding", "float32 face embeddings")
        pitch = same_batch(embedding, "embedding", pitch, "pitch")
        return {"waveform": generate(embedding, pitch)}

    archive.add_endpoint("serving_default", serving_default)
    archive.add_endpoint("translate", translate)
    archive.add_endpoint("embedding", from_embedding)
    return archive


def export_face2music(face_embedder, generator, base_dir, default_pitch=60):
    """Writes the next version under `base_dir` atomically; returns its path.

    The SavedModel is written to a hidden temporary directory beside the
    version directory and renamed into place only when complete, so TF
    Serving (which polls `base_dir` for integer directories) never sees a
    partial model.
    """
    archive = build_archive(face_embedder, generator, default_pitch)
    target = next_version_dir(base_dir)
    with atomic_path(target, directory=True) as temp:
        archive.write_out(temp, verbose=False)
    return target
