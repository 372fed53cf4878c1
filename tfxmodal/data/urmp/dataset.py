"""Sub-URMP as a tf.data dataset of examples (`sub_urmp`), from the pairs `layout.index` found."""

import tensorflow as tf

from tfxmodal.audio.wav import read_audio
from tfxmodal.data import pipeline as pipeline_lib
from tfxmodal.data.images import read_image
from tfxmodal.data.urmp.layout import IMAGE_DIR, SPECTROGRAM_DIR, index
from tfxmodal.data.urmp.lms import spectrogram_example, to_example
from tfxmodal.domain import SAMPLE_RATE

SOURCES = ("mini_urmp", "sub_urmp")


# --- datasets and pipelines ------------------------------------------------------


def _read_audio(path, graph_decodable, mode, sample_rate):
    """float32 `(samples,)` mono at `sample_rate`; `mode` is "graph", "numpy" or "mixed"."""

    def in_graph():
        audio, _ = tf.audio.decode_wav(tf.io.read_file(path))
        return tf.reduce_mean(audio, axis=1)

    def in_numpy():
        audio = tf.numpy_function(
            lambda p: read_audio(p.decode("utf-8"), sample_rate=sample_rate, mono=True)[0],
            [path],
            tf.float32,
            stateful=False,
        )
        return tf.ensure_shape(audio, [None])

    if mode == "graph":
        return in_graph()
    if mode == "numpy":
        return in_numpy()
    return tf.cond(graph_decodable, in_graph, in_numpy)


def pairs_dataset(pair_index, image_size, sample_rate, input_context):
    """Unbatched examples of a `PairIndex` (module docstring), sharded by `input_context` before decoding."""
    if pair_index.lms == "image":
        dataset = tf.data.Dataset.from_tensor_slices(
            (
                tf.constant(pair_index.image_paths, tf.string),
                tf.constant(pair_index.spectrogram_paths, tf.string),
                tf.constant(pair_index.labels, tf.int32),
            )
        )
        dataset = pipeline_lib.shard(dataset, input_context)
        return dataset.map(
            lambda image, spectrogram, label: spectrogram_example(
                read_image(image), read_image(spectrogram), label, image_size
            ),
            num_parallel_calls=pipeline_lib.AUTOTUNE,
        )
    flags = pair_index.graph_decodable
    mode = "graph" if all(flags) else "numpy" if not any(flags) else "mixed"
    dataset = tf.data.Dataset.from_tensor_slices(
        (
            tf.constant(pair_index.image_paths, tf.string),
            tf.constant(pair_index.wav_paths, tf.string),
            tf.constant(flags, tf.bool),
            tf.constant(pair_index.labels, tf.int32),
        )
    )
    dataset = pipeline_lib.shard(dataset, input_context)

    def convert(image_path, wav_path, decodable, label):
        audio = _read_audio(wav_path, decodable, mode, sample_rate)
        return to_example(read_image(image_path), audio, label, image_size, sample_rate)

    return dataset.map(convert, num_parallel_calls=pipeline_lib.AUTOTUNE)


def sub_urmp(
    root,
    split="train",
    image_size=64,
    sample_rate=SAMPLE_RATE,
    validate="auto",
    skip_bad_files=False,
    downmix=True,
    input_context=None,
    lms="audio",
    image_dir=IMAGE_DIR,
    lms_dir=SPECTROGRAM_DIR,
):
    """Unbatched Sub-URMP examples (format in the module docstring).

    Arguments as in `index`; `image_size` is the output side S (CAR-GAN uses
    256); `input_context` shards the pairs before decoding.
    """
    pair_index = index(root, split, sample_rate, validate, skip_bad_files, downmix, lms, image_dir, lms_dir)
    return pairs_dataset(pair_index, image_size, sample_rate, input_context)
