"""`mini_nsynth`: a small NSynth rendered from a General MIDI soundfont.

The embedded default audio data: 4-second, 16 kHz notes of the ten acoustic
NSynth families, rendered offline by `tfxmodal.audio.soundfont.NoteRenderer`
(TimGM6mb.sf2, shipped with pretty_midi) and stored by TFDS with exactly the
feature schema of TFDS `nsynth`, so every reader and model written for real
NSynth runs on it unchanged.

- Instruments are General MIDI presets (`nsynth_families.GM_INSTRUMENTS`);
  `instrument/label` is the GM program number (0-127, within NSynth's 1006
  classes), `id` is NSynth's note format `guitar_acoustic_024-060-100`.
- train / valid / test share no instrument: per family one acoustic preset
  is held out for valid and another for test, so the paper's acoustic-only
  filter still leaves all ten families in every split.
- Every train note has a partner: per family and pitch one note by an
  acoustic training preset and one by another (electronic/synthetic where
  the family has such presets); so every pitch of the family's range occurs
  in train, acoustic-only included.
- Velocities are NSynth's (25, 50, 75, 100, 127), drawn by a seeded
  generator; `qualities` are all False (NSynth's qualities are human ratings,
  which rendered notes do not have).
- The build is deterministic: the same TFRecord bytes on every run.

Build it with `prepare()` or `python -m tfxmodal.data prepare mini_nsynth`.
"""

import collections
import dataclasses
import os
import time

import numpy as np
import tensorflow_datasets as tfds

from tfxmodal.data import nsynth_families as labels
from tfxmodal.data.tfds_utils import (
    build_offline,
    offline_tfds,
    tfds_data_dir,
)

NAME = "mini_nsynth"
SPLITS = ("train", "valid", "test")

# Per family: the acoustic preset held out for valid, and the one for test.
# Chosen to share as few soundfont samples with that family's training
# presets as TimGM6mb allows (see nsynth_families).
HELD_OUT_PROGRAMS = {
    "bass": {"valid": 43, "test": 45},  # Contrabass, Pizzicato
    "brass": {"valid": 58, "test": 60},  # Tuba, French Horns
    "flute": {"valid": 79, "test": 77},  # Ocarina, Shakuhachi
    "guitar": {"valid": 105, "test": 104},  # Banjo, Sitar
    "keyboard": {"valid": 6, "test": 8},  # Harpsichord, Celesta
    "mallet": {"valid": 9, "test": 114},  # Glockenspiel, Steel Drum
    "organ": {"valid": 21, "test": 22},  # Accordion, Harmonica
    "reed": {"valid": 69, "test": 70},  # English Horn, Bassoon
    "string": {"valid": 44, "test": 42},  # Strings (Tremolo), Cello
    "vocal": {"valid": 53, "test": 85},  # Voice Oohs, Solo Vox
}

_HOLD_SECONDS = 3.0
_RELEASE_SECONDS = 1.0

PlannedNote = collections.namedtuple("PlannedNote", "instrument pitch velocity")
PlannedNote.__doc__ = """One note to render: a `GmInstrument`, a MIDI pitch and velocity."""


@dataclasses.dataclass(eq=False)
class MiniNsynthConfig(tfds.core.BuilderConfig):
    """How many notes `mini_nsynth` renders.

    Attributes:
        train_pitches_per_family: pitches per family in train, spread evenly
            over the family's range (`FAMILY_PITCH_RANGES`); None renders
            every pitch of the range. Each pitch gets two notes.
        heldout_pitches_per_family: pitches per family in valid and in test
            (one note each, by the held-out preset).
        seed: seeds the velocity draws.
    """

    train_pitches_per_family: int | None = None
    heldout_pitches_per_family: int = 16
    seed: int = 0


def spread_pitches(low, high, count):
    """`count` distinct MIDI pitches at the centres of equal bins of [low, high].

    None gives every pitch of the range. Returns a sorted list of ints.
    """
    if count is None:
        return list(range(low, high + 1))
    width = high - low + 1
    if not 1 <= count <= width:
        raise ValueError(f"{count} pitches do not fit in MIDI range {low}..{high}")
    return [low + int((k + 0.5) * width / count) for k in range(count)]


def split_instruments(family, split):
    """The `GmInstrument`s of `family` that play in `split` (train/valid/test)."""
    held_out = HELD_OUT_PROGRAMS[family]
    if split in held_out:
        return (labels.gm_instrument(held_out[split]),)
    if split != "train":
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    excluded = set(held_out.values())
    return tuple(i for i in labels.family_instruments(family) if i.program not in excluded)


def note_plan(config):
    """Every note of every split of `config`, in a fixed order.

    Returns:
        dict split name → list of `PlannedNote`. Note ids are unique.
    """
    rng = np.random.default_rng(config.seed)

    def velocity():
        return labels.NSYNTH_VELOCITIES[int(rng.integers(len(labels.NSYNTH_VELOCITIES)))]

    plan = {split: [] for split in SPLITS}
    for family in labels.PAPER_FAMILIES:
        low, high = labels.FAMILY_PITCH_RANGES[family]
        train = split_instruments(family, "train")
        acoustic = [i for i in train if i.source == "acoustic"]
        others = [i for i in train if i.source != "acoustic"]
        if not others:  # an all-acoustic family pairs two acoustic presets
            others = acoustic[1:] + acoustic[:1]
        for n, pitch in enumerate(spread_pitches(low, high, config.train_pitches_per_family)):
            for player in (acoustic[n % len(acoustic)], others[n % len(others)]):
                plan["train"].append(PlannedNote(player, pitch, velocity()))
        for split in ("valid", "test"):
            (player,) = split_instruments(family, split)
            for pitch in spread_pitches(low, high, config.heldout_pitches_per_family):
                plan[split].append(PlannedNote(player, pitch, velocity()))
    ids = [labels.note_str(*note) for notes in plan.values() for note in notes]
    assert len(ids) == len(set(ids)), "mini_nsynth plan has duplicate note ids"
    return plan


def plan_counts(plan):
    """Per split: examples, and examples per family and per source (JSON-able)."""
    counts = {}
    for split, notes in plan.items():
        counts[split] = {
            "examples": len(notes),
            "families": dict(collections.Counter(note.instrument.family for note in notes)),
            "sources": dict(collections.Counter(note.instrument.source for note in notes)),
            "instruments": sorted({labels.instrument_str(note.instrument) for note in notes}),
        }
    return counts


def nsynth_features():
    """The TFDS `nsynth` feature schema (without the f0/loudness extras)."""
    return tfds.features.FeaturesDict(
        {
            "id": np.str_,
            "audio": tfds.features.Audio(
                shape=(labels.NOTE_SAMPLES,), dtype=np.float32, sample_rate=labels.SAMPLE_RATE
            ),
            "pitch": tfds.features.ClassLabel(num_classes=labels.NUM_MIDI_CLASSES),
            "velocity": tfds.features.ClassLabel(num_classes=labels.NUM_MIDI_CLASSES),
            "instrument": {
                "label": tfds.features.ClassLabel(num_classes=labels.NUM_INSTRUMENT_LABELS),
                "family": tfds.features.ClassLabel(names=list(labels.FAMILIES)),
                "source": tfds.features.ClassLabel(names=list(labels.SOURCES)),
            },
            "qualities": {quality: np.bool_ for quality in labels.QUALITIES},
        }
    )


class MiniNsynth(tfds.core.GeneratorBasedBuilder):
    """A small NSynth rendered from a General MIDI soundfont, with NSynth's schema."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release: ten families, TimGM6mb.sf2 via tinysoundfont."}
    BUILDER_CONFIGS = [
        MiniNsynthConfig(
            name="default",
            description=(
                "Every pitch of each family's range twice in train (964 notes); "
                "16 notes per family in valid and in test."
            ),
            train_pitches_per_family=None,
            heldout_pitches_per_family=16,
        ),
        MiniNsynthConfig(
            name="tiny",
            description="2 train notes and 1 valid / 1 test note per family, for tests.",
            train_pitches_per_family=1,
            heldout_pitches_per_family=1,
        ),
    ]
    DEFAULT_BUILDER_CONFIG_NAME = "default"

    def _info(self):
        return self.dataset_info_from_configs(
            description=(
                "Four-second 16 kHz notes of the ten acoustic NSynth families, "
                "rendered from General MIDI presets of the TimGM6mb soundfont, "
                "with the TFDS nsynth feature schema; train, valid and test "
                "share no instrument."
            ),
            features=nsynth_features(),
            homepage="https://g.co/magenta/nsynth-dataset",
            metadata=tfds.core.MetadataDict(),
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # everything is rendered locally: nothing to download
        plan = note_plan(self.builder_config)
        # Saved in metadata.json beside the data, so a reused build reports
        # what it holds without reading the audio back.
        self.info.metadata["counts"] = plan_counts(plan)
        self.info.metadata["soundfont"] = "TimGM6mb.sf2"
        return {split: self._generate_examples(notes) for split, notes in plan.items()}

    def _generate_examples(self, notes):
        from tfxmodal.audio.soundfont import NoteRenderer

        renderer = NoteRenderer(sample_rate=labels.SAMPLE_RATE)
        no_qualities = {quality: False for quality in labels.QUALITIES}
        for instrument, pitch, velocity in notes:
            note_id = labels.note_str(instrument, pitch, velocity)
            audio = renderer.render(
                instrument.program,
                pitch,
                velocity,
                hold_seconds=_HOLD_SECONDS,
                release_seconds=_RELEASE_SECONDS,
            )
            yield note_id, {
                "id": note_id,
                "audio": audio,
                "pitch": pitch,
                "velocity": velocity,
                "instrument": {
                    "label": instrument.program,
                    "family": instrument.family,
                    "source": instrument.source,
                },
                "qualities": no_qualities,
            }


def builder(config="default", data_dir=None):
    """The `MiniNsynth` builder of `config` ("default" or "tiny") under `data_dir`.

    `data_dir=None` is TFDS's default data dir (`$TFDS_DATA_DIR` read now,
    else `~/tensorflow_datasets`).
    """
    offline_tfds()
    names = [c.name for c in MiniNsynth.BUILDER_CONFIGS]
    if config not in names:
        raise ValueError(f"unknown mini_nsynth config {config!r}; expected one of {names}")
    return MiniNsynth(config=config, data_dir=tfds_data_dir(data_dir))


def _directory_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, name)) for name in files)
    return total


def prepare(data_dir=None, config="default"):
    """Builds `mini_nsynth/<config>` under `data_dir`, or reuses an existing build.

    Renders and writes nothing when the build is already there (TFDS writes
    into a temporary directory and renames it when complete, so a killed
    build is never mistaken for a finished one).

    Returns:
        JSON-able dict: `dataset`, `path` (the version directory), `reused`,
        `seconds` (wall time of this call), `bytes` on disk, and per split
        `examples`, `families` and `sources` counts and `instruments`.
    """
    start = time.perf_counter()
    mini = builder(config, data_dir)
    reused = mini.is_prepared()
    if not reused:
        build_offline(mini)
    counts = mini.info.metadata["counts"]
    splits = {}
    for split in SPLITS:
        splits[split] = dict(counts[split], examples=mini.info.splits[split].num_examples)
    return {
        "dataset": f"{NAME}/{config}",
        "version": str(mini.version),
        "path": os.fspath(mini.data_dir),
        "reused": reused,
        "seconds": round(time.perf_counter() - start, 2),
        "bytes": _directory_bytes(mini.data_dir),
        "splits": splits,
    }
