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
"""

import collections

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
NUM_MIDI_CLASSES = 128  # pitch and velocity are ClassLabels over MIDI 0..127

SAMPLE_RATE = 16000  # Hz
NOTE_SECONDS = 4  # NSynth notes: key held 3 s, then 1 s of release
NOTE_SAMPLES = SAMPLE_RATE * NOTE_SECONDS  # 64000
NSYNTH_VELOCITIES = (25, 50, 75, 100, 127)
PAPER_PITCH_RANGE = (24, 84)  # inclusive MIDI range kept by the paper (Sec. 5.2)
PAPER_NUM_SAMPLES = 8192  # the paper keeps the first 8192 samples (~0.5 s)

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


def family_instruments(family, source=None):
    """The mapped `GmInstrument`s of one family (optionally one source), table order."""
    family_index(family)
    return tuple(
        instrument
        for instrument in GM_INSTRUMENTS
        if instrument.family == family and (source is None or instrument.source == source)
    )


def instrument_str(instrument):
    """NSynth-style instrument name, `{family}_{source}_{program:03d}`.

    NSynth numbers instruments within a family/source pair
    (`bass_synthetic_033`); here the number is the GM program, which keeps
    names stable when the table grows.
    """
    return f"{instrument.family}_{instrument.source}_{instrument.program:03d}"


def note_str(instrument, pitch, velocity):
    """NSynth-style note id, `{instrument_str}-{pitch:03d}-{velocity:03d}`."""
    return f"{instrument_str(instrument)}-{int(pitch):03d}-{int(velocity):03d}"
