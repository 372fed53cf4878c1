"""NSynth label tables and the General MIDI program → NSynth family mapping.

The label orders are NSynth's own (the raw Magenta TFRecords and TFDS
`nsynth` use the same indices): family bass 0 … vocal 10, source acoustic 0,
electronic 1, synthetic 2, and ten note qualities.

`GM_INSTRUMENTS` maps the General MIDI programs that `mini_nsynth` renders
to the ten families the paper keeps (every family except `synth_lead`,
which has no acoustic instruments), with the NSynth `source` of the
instrument the preset imitates: acoustic for recorded acoustic instruments
(piano, violin, saxophone), electronic for electric/electro-mechanical ones
(electric guitar and bass, Hammond organ, Rhodes piano), synthetic for
synthesizer patches (synth bass, synth strings, FM piano).

The table follows General MIDI program semantics, so it applies to any GM
soundfont: `mini_nsynth` renders every mapped program of each of its
soundfonts as one `Instrument`, labelled `soundfont index * 128 + program`.
"""

import collections

from tfxmodal import domain

FAMILIES = (
    "bass",
    "brass",
    "flute",
    "guitar",
    "keyboard",
    "mallet",
    "organ",
    "reed",
    "string",
    "synth_lead",
    "vocal",
)
SOURCES = ("acoustic", "electronic", "synthetic")
QUALITIES = (
    "bright",
    "dark",
    "distortion",
    "fast_decay",
    "long_release",
    "multiphonic",
    "nonlinear_env",
    "percussive",
    "reverb",
    "tempo-synced",
)
NUM_INSTRUMENT_LABELS = 1006  # instruments in NSynth's instrument_labels.txt
GM_PROGRAMS = 128
# Soundfonts one mini_nsynth build may render: labels index * 128 + program
# must stay below NSynth's 1006 instrument labels (6 * 128 + 127 = 895).
MAX_SOUNDFONTS = NUM_INSTRUMENT_LABELS // GM_PROGRAMS  # 7
# mini_nsynth's TFDS builder configs (kept here, free of TFDS imports, so
# that configs and the command line can check names cheaply).
MINI_NSYNTH_CONFIGS = ("default", "held_out_instruments", "tiny", "tiny_held_out")
NUM_MIDI_CLASSES = 128  # pitch and velocity are ClassLabels over MIDI 0..127

# NSynth notes: key held 3 s, then 1 s of release (tfxmodal.domain).
SAMPLE_RATE, NOTE_SECONDS, NOTE_SAMPLES = domain.SAMPLE_RATE, domain.NOTE_SECONDS, domain.NOTE_SAMPLES
NSYNTH_VELOCITIES = (25, 50, 75, 100, 127)
PAPER_PITCH_RANGE = (domain.LOWEST_PITCH, domain.HIGHEST_PITCH)  # inclusive MIDI range kept by the paper (Sec. 5.2)
PAPER_NUM_SAMPLES = domain.CLIP_SAMPLES  # the paper keeps the first 8192 samples (~0.5 s)

# The ten families of the paper (NSynth's eleven minus synth_lead).
PAPER_FAMILIES = tuple(name for name in FAMILIES if name != "synth_lead")

GmInstrument = collections.namedtuple("GmInstrument", "program family source preset")
GmInstrument.__doc__ = """One General MIDI program rendered as an NSynth instrument.

Fields:
    program: General MIDI program number, 0-127.
    family: NSynth family name (an entry of `FAMILIES`).
    source: NSynth source name (an entry of `SOURCES`).
    preset: the preset's name in TimGM6mb.sf2 (for people reading tables).
"""


class Instrument(collections.namedtuple("Instrument", "label program family source")):
    """One (soundfont, General MIDI program) pair rendered as an NSynth instrument.

    Fields:
        label: `instrument/label`, `soundfont * 128 + program` (< 1006).
        program: General MIDI program number, 0-127.
        family: NSynth family name (an entry of `FAMILIES`).
        source: NSynth source name (an entry of `SOURCES`).
    """

    __slots__ = ()

    @property
    def soundfont(self):
        """Index of the soundfont in the build's soundfont list."""
        return self.label // GM_PROGRAMS


# Presets were checked against the samples TimGM6mb.sf2 actually plays: the
# 6 MB soundfont reuses samples between presets (Violin/Viola/Fiddle, the
# three acoustic pianos, Accordion/Reed Organ/Bandoneon), so each family
# lists presets with audibly different samples where the soundfont has them.
_TABLE = (
    # bass: upright basses are acoustic, electric basses electronic.
    (32, "bass", "acoustic", "Acoustic Bass"),
    (43, "bass", "acoustic", "Contrabass"),
    (45, "bass", "acoustic", "Pizzicato"),  # plucked strings played as a bass line
    (33, "bass", "electronic", "Fingered Bass"),
    (34, "bass", "electronic", "Picked Bass"),
    (35, "bass", "electronic", "Fretless Bass"),
    (36, "bass", "electronic", "Slap Bass 1"),
    (38, "bass", "synthetic", "Synth Bass 1"),
    (39, "bass", "synthetic", "Synth Bass 2"),
    # brass
    (56, "brass", "acoustic", "SoloTrumpet"),
    (57, "brass", "acoustic", "Trombone"),
    (58, "brass", "acoustic", "Tuba"),
    (59, "brass", "acoustic", "Mute Trumpet"),
    (60, "brass", "acoustic", "French Horns"),
    (61, "brass", "acoustic", "Brass"),
    (62, "brass", "synthetic", "Synth Brass 1"),
    (63, "brass", "synthetic", "Synth Brass 2"),
    # flute: pipes and vessel flutes
    (72, "flute", "acoustic", "Piccolo"),
    (73, "flute", "acoustic", "Flute TB"),
    (74, "flute", "acoustic", "Recorder"),
    (75, "flute", "acoustic", "Pan Flute"),
    (77, "flute", "acoustic", "Shakuhachi"),
    (79, "flute", "acoustic", "Ocarina"),
    (82, "flute", "synthetic", "Synth Calliope"),
    # guitar: lutes count as acoustic guitars
    (24, "guitar", "acoustic", "Nylon Guitar"),
    (25, "guitar", "acoustic", "Steel Guitar"),
    (104, "guitar", "acoustic", "Sitar"),
    (105, "guitar", "acoustic", "Banjo"),
    (26, "guitar", "electronic", "Jazz Guitar"),
    (27, "guitar", "electronic", "Clean Guitar"),
    (28, "guitar", "electronic", "Guitar Mutes"),
    (29, "guitar", "electronic", "Overdrive Guitar"),
    (30, "guitar", "electronic", "DistortionGuitar"),
    # keyboard: the celesta is a keyboard instrument (hammers on metal bars)
    (0, "keyboard", "acoustic", "Piano 1"),
    (1, "keyboard", "acoustic", "Piano 2"),
    (3, "keyboard", "acoustic", "Honky Tonk"),
    (6, "keyboard", "acoustic", "Harpsichord"),
    (8, "keyboard", "acoustic", "Celesta"),
    (2, "keyboard", "electronic", "Piano 3"),  # CP-70 electric grand
    (4, "keyboard", "electronic", "E.Piano 1"),  # Rhodes
    (7, "keyboard", "electronic", "Clavinet"),
    (5, "keyboard", "synthetic", "E.Piano 2"),  # DX7 FM piano
    # mallet
    (9, "mallet", "acoustic", "Glockenspiel"),
    (11, "mallet", "acoustic", "Vibraphone"),
    (12, "mallet", "acoustic", "Marimba"),
    (13, "mallet", "acoustic", "Xylophone"),
    (14, "mallet", "acoustic", "Tubular Bells"),
    (114, "mallet", "acoustic", "Steel Drum"),
    # organ: General MIDI's organ group, free reeds included
    (19, "organ", "acoustic", "Church Organ"),
    (21, "organ", "acoustic", "Accordion"),
    (22, "organ", "acoustic", "Harmonica"),
    (16, "organ", "electronic", "Organ 1"),  # drawbar (Hammond)
    (17, "organ", "electronic", "Organ 2"),  # percussive
    (18, "organ", "electronic", "Organ 3"),  # rock
    # reed
    (64, "reed", "acoustic", "SopSax (TB) v2.3"),
    (65, "reed", "acoustic", "AltoSax (TB) v2.3"),
    (66, "reed", "acoustic", "Tenor Sax (TB) v2.3"),
    (67, "reed", "acoustic", "BariSax (TB) v2.3"),
    (68, "reed", "acoustic", "Oboe (Orch)"),
    (69, "reed", "acoustic", "English Horn"),
    (70, "reed", "acoustic", "Bassoon"),
    (71, "reed", "acoustic", "Clarinet"),
    (111, "reed", "acoustic", "Shenai"),
    # string
    (40, "string", "acoustic", "Violin"),
    (41, "string", "acoustic", "Viola"),
    (42, "string", "acoustic", "Cello"),
    (44, "string", "acoustic", "Strings (Tremelo)"),
    (48, "string", "acoustic", "Strings CLP"),
    (49, "string", "acoustic", "Slow Strings LP"),
    (50, "string", "synthetic", "Synth Strings 1"),
    (51, "string", "synthetic", "Synth Strings 2"),
    # vocal: "Solo Vox" plays recorded solo-voice samples (with a quiet
    # pan-flute layer), so it counts as an acoustic voice here.
    (52, "vocal", "acoustic", "Choir Aahs"),
    (53, "vocal", "acoustic", "Voice Oohs"),
    (85, "vocal", "acoustic", "Solo Vox"),
    (54, "vocal", "synthetic", "Synth Vox"),
)

GM_INSTRUMENTS = tuple(GmInstrument(*row) for row in _TABLE)
_BY_PROGRAM = {instrument.program: instrument for instrument in GM_INSTRUMENTS}

# Per-family MIDI pitch ranges inside the paper's 24-84: roughly each
# family's playing range, so a family's notes sound like that family (NSynth
# likewise records each instrument over its own range only). Keyboard and
# organ span 24-84, so every pitch occurs in every split that has them.
FAMILY_PITCH_RANGES = {
    "bass": (24, 60),
    "brass": (34, 84),
    "flute": (55, 84),
    "guitar": (40, 84),
    "keyboard": (24, 84),
    "mallet": (36, 84),
    "organ": (24, 84),
    "reed": (34, 84),
    "string": (28, 84),
    "vocal": (40, 79),
}


def family_index(name):
    """NSynth index (0-10) of a family name; ValueError for an unknown name."""
    try:
        return FAMILIES.index(name)
    except ValueError:
        raise ValueError(f"unknown NSynth family {name!r}; expected one of {FAMILIES}") from None


def source_index(name):
    """NSynth index (0-2) of a source name; ValueError for an unknown name."""
    try:
        return SOURCES.index(name)
    except ValueError:
        raise ValueError(f"unknown NSynth source {name!r}; expected one of {SOURCES}") from None


def gm_instrument(program):
    """The `GmInstrument` for a General MIDI program; KeyError if it is not mapped."""
    try:
        return _BY_PROGRAM[int(program)]
    except KeyError:
        raise KeyError(f"General MIDI program {program} has no NSynth family mapping") from None


def instrument_label(soundfont, program):
    """`instrument/label` of GM `program` in the soundfont at index `soundfont`."""
    if not 0 <= int(soundfont) < MAX_SOUNDFONTS or not 0 <= int(program) < GM_PROGRAMS:
        raise ValueError(
            f"soundfont {soundfont}, program {program}: expected a soundfont index in "
            f"0..{MAX_SOUNDFONTS - 1} and a program in 0..{GM_PROGRAMS - 1}"
        )
    return int(soundfont) * GM_PROGRAMS + int(program)


def label_instrument(label):
    """The `Instrument` of a mini_nsynth `instrument/label`; KeyError if its program is not mapped."""
    label = int(label)
    if not 0 <= label < NUM_INSTRUMENT_LABELS:
        raise KeyError(f"instrument label {label} is outside NSynth's 0..{NUM_INSTRUMENT_LABELS - 1}")
    gm = gm_instrument(label % GM_PROGRAMS)
    return Instrument(label, gm.program, gm.family, gm.source)


def family_instruments(family, source=None):
    """The mapped `GmInstrument`s of one family (optionally one source), table order."""
    family_index(family)
    return tuple(
        instrument
        for instrument in GM_INSTRUMENTS
        if instrument.family == family and (source is None or instrument.source == source)
    )


def instrument_str(instrument):
    """NSynth-style instrument name, `{family}_{source}_{label:03d}`.

    NSynth numbers instruments within a family/source pair
    (`bass_synthetic_033`); here the number is the instrument label
    (`soundfont * 128 + program`; a `GmInstrument`'s is its program, as in
    the first soundfont), which keeps names stable when the table grows.
    """
    label = getattr(instrument, "label", instrument.program)
    return f"{instrument.family}_{instrument.source}_{label:03d}"


def note_str(instrument, pitch, velocity):
    """NSynth-style note id, `{instrument_str}-{pitch:03d}-{velocity:03d}`."""
    return f"{instrument_str(instrument)}-{int(pitch):03d}-{int(velocity):03d}"
