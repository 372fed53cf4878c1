"""The fixed quantities of the two papers' domains, defined once and imported everywhere.

Face → music (Kim et al. 2020):

- audio at `SAMPLE_RATE` Hz; NSynth notes are `NOTE_SAMPLES` long (4 s) and
  the paper keeps the first `CLIP_SAMPLES` (8192, ~0.5 s; Sec. 3.2.1, 5.2);
- MIDI pitches `LOWEST_PITCH`..`HIGHEST_PITCH` (24-84, Sec. 5.2), i.e.
  `NUM_PITCHES` (61) pitch classes, class = pitch − `LOWEST_PITCH`;
- face embeddings of `FACE_EMBEDDING_DIM` (512, Table 2); the audio metric
  φ = [λ1·ψ, λ2·MFCC] has `PSI_DIM` + `MFCC_DIM` = `PHI_DIM` (128 + 377 =
  505, Sec. 2.4).

Audio → image (CAR-GAN, Duan et al. 2020): Sub-URMP's `URMP_INSTRUMENTS`
(13, in the order of the authors' code, which is alphabetical) and
`CHUNK_SECONDS` (0.5 s) of audio per image.
"""

SAMPLE_RATE = 16000  # Hz
NOTE_SECONDS = 4
NOTE_SAMPLES = SAMPLE_RATE * NOTE_SECONDS  # 64000
CLIP_SAMPLES = 8192

LOWEST_PITCH = 24
HIGHEST_PITCH = 84
NUM_PITCHES = HIGHEST_PITCH - LOWEST_PITCH + 1  # 61

FACE_EMBEDDING_DIM = 512
# The smallest face side, in pixels, that a face embedder takes (`face_embedder.image_size`) and that
# `translate` accepts: a smaller image holds less than one embedder input's worth of pixels.
MIN_FACE_PIXELS = 8
PSI_DIM = 128
MFCC_DIM = 377  # 29 frames x 13 coefficients of an 8192-sample clip
PHI_DIM = PSI_DIM + MFCC_DIM  # 505

URMP_INSTRUMENTS = (
    "bassoon",
    "cello",
    "clarinet",
    "double_bass",
    "flute",
    "horn",
    "oboe",
    "sax",
    "trombone",
    "trumpet",
    "tuba",
    "viola",
    "violin",
)
NUM_INSTRUMENTS = len(URMP_INSTRUMENTS)  # 13
CHUNK_SECONDS = 0.5


def pitch_class(midi_pitch):
    """Generator class index of a MIDI pitch (24 → 0, 84 → 60)."""
    return midi_pitch - LOWEST_PITCH


def midi_pitch(pitch_class_index):
    """MIDI pitch of a generator class index (0 → 24, 60 → 84)."""
    return pitch_class_index + LOWEST_PITCH
