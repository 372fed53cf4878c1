"""mini-URMP: the embedded default dataset for CAR-GAN (a TFDS builder, `mini_urmp`).

**The images are synthetic.** Sub-URMP pairs real video frames of real
players with real half-second audio chunks; mini-URMP pairs soundfont notes
with pictures that this module draws, so that the demo and the tests have
audio→image data that installs with pip and builds offline in under a
minute. It exercises the CAR-GAN code path, not its visual realism.

Each example is one note of one of Sub-URMP's 13 instruments:

* **audio**: rendered by `tfxmodal.audio.soundfont.NoteRenderer` from the
  General MIDI program of the instrument (`PROGRAMS`: bassoon 70, cello 42,
  clarinet 71, contrabass 43, flute 73, french horn 60, oboe 68, alto sax 65,
  trombone 57, trumpet 56, tuba 58, viola 41, violin 40) at 16 kHz; the
  0.5-s chunk (8000 samples) is taken from the held part of the note,
  0.1–0.6 s after key-down (past the attack). Stored as 16-bit PCM values,
  without any level normalisation (velocity sets the level).
* **image** (128 × 128 RGB, PNG): a drawn glyph on a dark grey background.
  The **instrument decides the glyph** (`GLYPHS`: bassoon vertical bar,
  cello upright ellipse, clarinet up-triangle, double bass square, flute
  horizontal bar, horn ring, oboe diamond, sax plus, trombone X, trumpet
  down-triangle, tuba disc, viola hexagon, violin star). The note decides
  the rest: **pitch** sets the placement — horizontal position from the
  pitch class (C at the left … B at the right), vertical position from the
  absolute MIDI pitch (higher is higher) — and the hue (red for MIDI 24
  through to violet for MIDI 100); **loudness** (MIDI velocity) sets the
  size (radius 8 %–18 % of the side; glyphs are never clipped) and the
  brightness. So the mapping is learnable, and checkable from a generated
  image (`glyph_geometry`).
* label (instrument index in `tfxmodal.data.INSTRUMENTS`), pitch,
  velocity, program.

Configs: ``default`` — 20 pitches evenly over each instrument's range × 8
velocities (32–127) = 160 notes per instrument, 2080 in all, of which
(pitch index + 3 × velocity index) % 5 == 0 go to `test` (416) and the rest
to `train` (1664), so test notes are unseen (pitch, velocity) combinations
spread over the whole grid; ``tiny`` — 3 pitches × 2 velocities per
instrument (52 train, 26 test), for tests. Builds are deterministic
(byte-identical data files) and cached under the TFDS data dir.

The loaders convert examples with `tfxmodal.data.urmp.lms.to_example`, the same
code as Sub-URMP, into ``{"image", "lms", "audio", "label"}``.
"""

import colorsys
import dataclasses
import os
import time
from typing import ClassVar

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds
from skimage.draw import disk, ellipse, polygon

from tfxmodal.audio.soundfont import NoteRenderer
from tfxmodal.data import pipeline as pipeline_lib
from tfxmodal.data.images import decode_image
from tfxmodal.data.tfds_utils import (
    build_offline,
    offline_tfds,
    tfds_data_dir,
)
from tfxmodal.data.urmp.layout import INSTRUMENTS, SPLITS
from tfxmodal.data.urmp.lms import chunk_samples, to_example
from tfxmodal.domain import CHUNK_SECONDS
from tfxmodal.errors import ConfigError

SAMPLE_RATE = 16000
STORED_IMAGE_SIZE = 128
CHUNK_START_SECONDS = 0.1
PROGRAMS = {
    "bassoon": 70,
    "cello": 42,
    "clarinet": 71,
    "double_bass": 43,
    "flute": 73,
    "horn": 60,
    "oboe": 68,
    "sax": 65,
    "trombone": 57,
    "trumpet": 56,
    "tuba": 58,
    "viola": 41,
    "violin": 40,
}
# Usual written ranges, MIDI note numbers (lowest, highest).
PITCH_RANGES = {
    "bassoon": (34, 75),
    "cello": (36, 76),
    "clarinet": (50, 91),
    "double_bass": (28, 67),
    "flute": (60, 96),
    "horn": (41, 77),
    "oboe": (58, 91),
    "sax": (49, 81),
    "trombone": (40, 72),
    "trumpet": (54, 82),
    "tuba": (28, 58),
    "viola": (48, 84),
    "violin": (55, 96),
}
GLYPHS = {
    "bassoon": "vertical_bar",
    "cello": "ellipse",
    "clarinet": "triangle_up",
    "double_bass": "square",
    "flute": "horizontal_bar",
    "horn": "ring",
    "oboe": "diamond",
    "sax": "plus",
    "trombone": "x",
    "trumpet": "triangle_down",
    "tuba": "disc",
    "viola": "hexagon",
    "violin": "star",
}
PITCH_LOW, PITCH_HIGH = 24, 100  # the span mapped to height and hue
BACKGROUND = (30, 30, 30)
MARGIN = 0.19  # of the side
MIN_RADIUS, MAX_RADIUS = 0.08, 0.18  # of the side, for velocity 1 and 127


# --- the drawn images ------------------------------------------------------------


def glyph_geometry(pitch, velocity, size=STORED_IMAGE_SIZE):
    """Where and how a note is drawn: the checkable part of the mapping.

    Args:
        pitch: MIDI note number.
        velocity: MIDI velocity 1–127.
        size: image side in pixels.

    Returns:
        dict: `centre` (row, col) in pixels, `radius` in pixels, `colour`
        (R, G, B) uint8 values.
    """
    loudness = (velocity - 1) / 126.0
    height = np.clip((pitch - PITCH_LOW) / (PITCH_HIGH - PITCH_LOW), 0.0, 1.0)
    # Centres stay MARGIN from the edges and radii below it, so a glyph is
    # never clipped (a clipped disc could pass for a clipped hexagon).
    col = size * (MARGIN + (1 - 2 * MARGIN) * (pitch % 12) / 11.0)
    row = size * (1 - MARGIN - (1 - 2 * MARGIN) * height)
    radius = size * (MIN_RADIUS + (MAX_RADIUS - MIN_RADIUS) * loudness)
    red, green, blue = colorsys.hsv_to_rgb(0.8 * height, 0.85, 0.45 + 0.55 * loudness)
    colour = tuple(round(255 * c) for c in (red, green, blue))
    return {"centre": (row, col), "radius": radius, "colour": colour}


def _polygon(rows, cols, size):
    mask = np.zeros((size, size), bool)
    mask[polygon(np.asarray(rows), np.asarray(cols), (size, size))] = True
    return mask


def _regular(cy, cx, radii, start_angle, size):
    angles = start_angle + np.arange(len(radii)) * 2 * np.pi / len(radii)
    return _polygon(cy - np.asarray(radii) * np.cos(angles), cx + np.asarray(radii) * np.sin(angles), size)


def _bar(cy, cx, half_long, half_short, angle, size):
    corners = np.array(
        [
            [-half_long, -half_short],
            [-half_long, half_short],
            [half_long, half_short],
            [half_long, -half_short],
        ]
    )
    c, s = np.cos(angle), np.sin(angle)
    rows = cy + corners[:, 0] * c - corners[:, 1] * s
    cols = cx + corners[:, 0] * s + corners[:, 1] * c
    return _polygon(rows, cols, size)


def glyph_mask(glyph, centre, radius, size=STORED_IMAGE_SIZE):
    """Boolean `(size, size)` mask of one of the 13 glyphs (`GLYPHS` values)."""
    cy, cx = centre
    r = radius
    mask = np.zeros((size, size), bool)
    if glyph == "vertical_bar":
        return _bar(cy, cx, r, 0.3 * r, 0.0, size)
    if glyph == "horizontal_bar":
        return _bar(cy, cx, r, 0.3 * r, np.pi / 2, size)
    if glyph == "ellipse":
        mask[ellipse(cy, cx, r, 0.6 * r, shape=(size, size))] = True
        return mask
    if glyph == "triangle_up":
        return _regular(cy, cx, [r] * 3, 0.0, size)
    if glyph == "triangle_down":
        return _regular(cy, cx, [r] * 3, np.pi, size)
    if glyph == "square":
        return _regular(cy, cx, [r] * 4, np.pi / 4, size)
    if glyph == "diamond":
        return _regular(cy, cx, [r] * 4, 0.0, size)
    if glyph == "hexagon":
        return _regular(cy, cx, [r] * 6, np.pi / 6, size)
    if glyph == "star":
        return _regular(cy, cx, [r, 0.42 * r] * 5, 0.0, size)
    if glyph == "disc":
        mask[disk((cy, cx), r, shape=(size, size))] = True
        return mask
    if glyph == "ring":
        mask[disk((cy, cx), r, shape=(size, size))] = True
        mask[disk((cy, cx), 0.55 * r, shape=(size, size))] = False
        return mask
    if glyph == "plus":
        return _bar(cy, cx, r, 0.22 * r, 0.0, size) | _bar(cy, cx, r, 0.22 * r, np.pi / 2, size)
    if glyph == "x":
        return _bar(cy, cx, r, 0.22 * r, np.pi / 4, size) | _bar(cy, cx, r, 0.22 * r, -np.pi / 4, size)
    raise ValueError(f"unknown glyph {glyph!r}; expected one of {sorted(set(GLYPHS.values()))}")


def draw_note_image(instrument, pitch, velocity, size=STORED_IMAGE_SIZE):
    """The picture paired with a note.

    Args:
        instrument: a name in `INSTRUMENTS`.
        pitch: MIDI note number; velocity: MIDI velocity.
        size: side in pixels.

    Returns:
        uint8 `(size, size, 3)` RGB.
    """
    geometry = glyph_geometry(pitch, velocity, size)
    image = np.empty((size, size, 3), np.uint8)
    image[:] = BACKGROUND
    image[glyph_mask(GLYPHS[instrument], geometry["centre"], geometry["radius"], size)] = geometry["colour"]
    return image


# --- the note grid -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Note:
    instrument: str
    pitch: int
    velocity: int
    split: str

    @property
    def key(self):
        return f"{self.instrument}_{self.pitch:03d}_{self.velocity:03d}"


class MiniUrmpConfig(tfds.core.BuilderConfig):
    """A note grid: `pitches` per instrument (evenly over its range) × `velocities`."""

    def __init__(self, *, pitches, velocities, **kwargs):
        super().__init__(version=tfds.core.Version("1.0.0"), **kwargs)
        self.pitches = pitches
        self.velocities = tuple(velocities)


CONFIGS = (
    MiniUrmpConfig(
        name="default",
        description="20 pitches x 8 velocities x 13 instruments: 1664 train, 416 test notes.",
        pitches=20,
        velocities=tuple(int(v) for v in np.round(np.linspace(32, 127, 8))),
    ),
    MiniUrmpConfig(
        name="tiny",
        description="3 pitches x 2 velocities x 13 instruments: 52 train, 26 test notes (tests).",
        pitches=3,
        velocities=(48, 112),
    ),
)


def notes(config="default"):
    """Every note of a config, in generation order, with its split."""
    config = builder_config(config)
    result = []
    for instrument in INSTRUMENTS:
        low, high = PITCH_RANGES[instrument]
        pitches = [int(p) for p in np.round(np.linspace(low, high, config.pitches))]
        for i, pitch in enumerate(pitches):
            for j, velocity in enumerate(config.velocities):
                split = "test" if (i + 3 * j) % 5 == 0 else "train"
                result.append(Note(instrument, pitch, velocity, split))
    return result


def builder_config(config):
    if isinstance(config, MiniUrmpConfig):
        return config
    for candidate in CONFIGS:
        if candidate.name == config:
            return candidate
    raise ConfigError(f"config={config!r}: expected one of {[c.name for c in CONFIGS]}")


def render_chunk(renderer, instrument, pitch, velocity):
    """The 0.5-s chunk of a note as int16 PCM `(8000,)` (0.1–0.6 s after key-down)."""
    start = round(CHUNK_START_SECONDS * SAMPLE_RATE)
    length = chunk_samples(SAMPLE_RATE)
    audio = renderer.render(
        PROGRAMS[instrument],
        pitch,
        velocity,
        hold_seconds=CHUNK_START_SECONDS + CHUNK_SECONDS,
        release_seconds=0.0,
    )[start : start + length]
    return np.clip(np.round(audio * 32768.0), -32768, 32767).astype(np.int16)


class MiniUrmp(tfds.core.GeneratorBasedBuilder):
    """Soundfont notes of Sub-URMP's 13 instruments paired with drawn images (synthetic)."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES: ClassVar[dict] = {"1.0.0": "Initial release (tfxmodal)."}
    BUILDER_CONFIGS: ClassVar[list] = list(CONFIGS)
    DEFAULT_CONFIG_NAME = "default"

    def _info(self):
        return self.dataset_info_from_configs(
            description=(
                "mini-URMP: synthetic audio-image pairs for CAR-GAN demos. Audio: "
                "General MIDI soundfont notes (TimGM6mb) of Sub-URMP's 13 instruments, "
                "0.5 s at 16 kHz. Images: SYNTHETIC drawings (instrument = glyph; "
                "pitch = position and hue; velocity = size and brightness)."
            ),
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(
                        shape=(STORED_IMAGE_SIZE, STORED_IMAGE_SIZE, 3), encoding_format="png"
                    ),
                    # Raw bytes: the default int64 varints cost 10 bytes a negative sample.
                    "audio": tfds.features.Tensor(
                        shape=(chunk_samples(SAMPLE_RATE),),
                        dtype=np.int16,
                        encoding=tfds.features.Encoding.BYTES,
                    ),
                    "label": tfds.features.ClassLabel(names=list(INSTRUMENTS)),
                    "pitch": tfds.features.Scalar(dtype=np.int32),
                    "velocity": tfds.features.Scalar(dtype=np.int32),
                    "program": tfds.features.Scalar(dtype=np.int32),
                }
            ),
            supervised_keys=("audio", "image"),
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # nothing to download
        grid = notes(self.builder_config)
        return {split: self._generate_examples([n for n in grid if n.split == split]) for split in SPLITS}

    def _generate_examples(self, split_notes):
        renderer = NoteRenderer(sample_rate=SAMPLE_RATE)
        for note in split_notes:
            yield (
                note.key,
                {
                    "image": draw_note_image(note.instrument, note.pitch, note.velocity),
                    "audio": render_chunk(renderer, note.instrument, note.pitch, note.velocity),
                    "label": INSTRUMENTS.index(note.instrument),
                    "pitch": note.pitch,
                    "velocity": note.velocity,
                    "program": PROGRAMS[note.instrument],
                },
            )


# --- preparing and loading -------------------------------------------------------


def builder(data_dir=None, config="default"):
    """The `mini_urmp` builder (data_dir None: TFDS default, honours `TFDS_DATA_DIR`)."""
    offline_tfds()
    return MiniUrmp(data_dir=tfds_data_dir(data_dir), config=builder_config(config).name)


def _directory_megabytes(path):
    total = 0
    for folder, _, names in os.walk(path):
        total += sum(os.path.getsize(os.path.join(folder, n)) for n in names)
    return round(total / 1e6, 2)


def prepare(data_dir=None, config="default"):
    """Builds (or finds) the dataset; returns a JSON-able summary.

    Args:
        data_dir: TFDS data dir (None: TFDS default, honours `TFDS_DATA_DIR`).
        config: ``"default"`` or ``"tiny"``.

    Returns:
        dict: `path`, `config`, `built` (False when it was already there),
        `seconds`, `megabytes`, `splits` (split → {`examples`,
        `per_instrument`}).
    """
    start = time.perf_counter()
    dataset_builder = builder(data_dir, config)
    built = not dataset_builder.is_prepared()
    if built:
        build_offline(dataset_builder)
    seconds = time.perf_counter() - start
    splits = {}
    for split in SPLITS:
        per_instrument = {name: 0 for name in INSTRUMENTS}
        for note in notes(config):
            if note.split == split:
                per_instrument[note.instrument] += 1
        recorded = dataset_builder.info.splits[split].num_examples
        if recorded != sum(per_instrument.values()):
            raise RuntimeError(
                f"{dataset_builder.data_dir}: split {split} holds {recorded} examples, "
                f"expected {sum(per_instrument.values())}; delete the folder and prepare again"
            )
        splits[split] = {"examples": recorded, "per_instrument": per_instrument}
    return {
        "path": os.fspath(dataset_builder.data_dir),
        "config": builder_config(config).name,
        "built": built,
        "seconds": round(seconds, 2),
        "megabytes": _directory_megabytes(os.fspath(dataset_builder.data_dir)),
        "splits": splits,
    }


def load_with_count(split="train", image_size=64, data_dir=None, config="default", input_context=None):
    """`load`, plus the number of examples in the split (before sharding)."""
    dataset_builder = builder(data_dir, config)
    if not dataset_builder.is_prepared():
        prepare(data_dir, config)
        dataset_builder = builder(data_dir, config)
    dataset = dataset_builder.as_dataset(
        split=split, decoders={"image": tfds.decode.SkipDecoding()}, shuffle_files=False
    )
    dataset = pipeline_lib.shard(dataset, input_context)

    def convert(example):
        audio = tf.cast(example["audio"], tf.float32) / 32768.0
        return to_example(decode_image(example["image"]), audio, example["label"], image_size, SAMPLE_RATE)

    dataset = dataset.map(convert, num_parallel_calls=pipeline_lib.AUTOTUNE)
    return dataset, dataset_builder.info.splits[split].num_examples


def load(split="train", image_size=64, data_dir=None, config="default", input_context=None):
    """Unbatched mini-URMP examples in the URMP output format (built on first use).

    Args:
        split: ``"train"`` or ``"test"`` (any TFDS split string).
        image_size: output side S of `image` and `lms`.
        data_dir: TFDS data dir (None: TFDS default).
        config: ``"default"`` or ``"tiny"``.
        input_context: `tf.distribute.InputContext` to shard by (before
            decoding).

    Returns:
        `tf.data.Dataset` of ``{"image": (S, S, 3) [-1, 1], "lms": (S, S, 1),
        "audio": (8000,), "label": int32}``.
    """
    return load_with_count(split, image_size, data_dir, config, input_context)[0]
