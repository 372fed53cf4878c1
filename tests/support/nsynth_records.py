"""Raw Magenta NSynth TFRecords for the tests: notes with the real schema (or one key broken), written to files."""

import numpy as np
import tensorflow as tf

QUALITY_NAMES = [
    "bright", "dark", "distortion", "fast_decay", "long_release",
    "multiphonic", "nonlinear_env", "percussive", "reverb", "tempo-synced",
]  # fmt: skip


FAMILY_NAMES = [
    "bass", "brass", "flute", "guitar", "keyboard", "mallet",
    "organ", "reed", "string", "synth_lead", "vocal",
]  # fmt: skip


SOURCE_NAMES = ["acoustic", "electronic", "synthetic"]


# (family, source, instrument, pitch, velocity): two kept by the paper's
# filter in train (acoustic, 24-84), the rest dropped for one reason each.
TRAIN_NOTES = [
    (0, 0, 12, 30, 100),  # bass acoustic: kept
    (8, 0, 7, 84, 25),  # string acoustic at the top of the range: kept
    (3, 1, 40, 60, 75),  # guitar electronic: dropped
    (9, 2, 101, 60, 127),  # synth_lead synthetic: dropped
    (5, 0, 3, 23, 50),  # mallet acoustic, pitch 23: dropped
    (7, 0, 9, 85, 50),  # reed acoustic, pitch 85: dropped
]


VALID_NOTES = [(10, 0, 77, 60, 50), (2, 2, 5, 72, 127)]


def note_audio(pitch, length=64000):
    """A distinct, recognisable waveform per pitch."""
    t = np.arange(length) / 16000.0
    hz = 440.0 * 2.0 ** ((pitch - 69) / 12.0)
    return (0.5 * np.sin(2 * np.pi * hz * t) * np.exp(-t)).astype(np.float32)


def magenta_example(family, source, instrument, pitch, velocity, audio=None, drop=(), override=None):
    """One raw NSynth tf.train.Example with every key of the Magenta release."""
    instrument_str = f"{FAMILY_NAMES[family]}_{SOURCE_NAMES[source]}_{instrument:03d}"
    audio = note_audio(pitch) if audio is None else audio
    qualities = [int((pitch + k) % 3 == 0) for k in range(10)]

    def ints(*values):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))

    def strings(*values):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v.encode() for v in values]))

    feature = {
        "note_str": strings(f"{instrument_str}-{pitch:03d}-{velocity:03d}"),
        "pitch": ints(pitch),
        "velocity": ints(velocity),
        "audio": tf.train.Feature(float_list=tf.train.FloatList(value=audio)),
        "instrument": ints(instrument),
        "instrument_str": strings(instrument_str),
        "instrument_family": ints(family),
        "instrument_family_str": strings(FAMILY_NAMES[family]),
        "instrument_source": ints(source),
        "instrument_source_str": strings(SOURCE_NAMES[source]),
        "qualities": ints(*qualities),
        "qualities_str": strings(*[q for q, on in zip(QUALITY_NAMES, qualities) if on]),
        "sample_rate": ints(16000),
    }
    feature.update(override or {})
    for key in drop:
        del feature[key]
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def write_records(path, records):
    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in records:
            writer.write(record)
    return str(path)


def collect(dataset):
    return list(dataset.as_numpy_iterator())


def float_pitch(pitch):
    return {"pitch": tf.train.Feature(float_list=tf.train.FloatList(value=[float(pitch)]))}


def int64s(*values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))
