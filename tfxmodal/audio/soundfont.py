"""Renders single notes from a General MIDI soundfont, NSynth-style.

The default soundfont is `TimGM6mb.sf2`, which ships inside the
`pretty_midi` wheel, rendered by `tinysoundfont` (install it with
`pip install --no-deps tinysoundfont`: its wheel declares pyaudio, which
offline rendering never uses).
"""

import os

import numpy as np


class SoundfontError(RuntimeError):
    """The renderer or the soundfont file is not available."""


def default_soundfont_path():
    """Path of the General MIDI soundfont bundled with `pretty_midi`."""
    try:
        import pretty_midi
    except ImportError:  # pragma: no cover - a declared dependency
        raise SoundfontError("pretty_midi is not installed; `pip install pretty_midi`") from None
    path = os.path.join(os.path.dirname(pretty_midi.__file__), "TimGM6mb.sf2")
    if not os.path.isfile(path):
        raise SoundfontError(f"soundfont not found at {path}; reinstall pretty_midi")
    return path


class NoteRenderer:
    """Renders one MIDI note at a time to a mono float32 waveform.

    Each note is rendered by a fresh synthesizer (about 10 ms: the soundfont
    is parsed from bytes held in memory), because a reused one carries
    float state from note to note (differences of ~1e-7); so the result
    depends only on the arguments: byte-identical on every run, in any order.

    Args:
        sample_rate: output rate in Hz.
        soundfont_path: an `.sf2` file; defaults to `default_soundfont_path()`.
    """

    def __init__(self, sample_rate=16000, soundfont_path=None):
        try:
            import tinysoundfont
        except ImportError:
            raise SoundfontError(
                "tinysoundfont is not installed: run "
                "`pip install --no-deps 'tinysoundfont==0.3.7'` (or `make install`)"
            ) from None
        self._tinysoundfont = tinysoundfont
        self.sample_rate = int(sample_rate)
        self.soundfont_path = soundfont_path or default_soundfont_path()
        if not os.path.isfile(self.soundfont_path):
            raise SoundfontError(f"{self.soundfont_path}: no such soundfont file")
        with open(self.soundfont_path, "rb") as handle:
            self._soundfont_bytes = handle.read()
        self._new_synth()  # fail now, not at the first note, on a bad file

    def _new_synth(self):
        synth = self._tinysoundfont.Synth(samplerate=self.sample_rate, gain=0)
        try:
            sfid = synth.sfload(self._soundfont_bytes)
        except Exception as error:  # tinysoundfont raises its own exception types
            raise SoundfontError(f"{self.soundfont_path}: cannot load soundfont ({error})") from None
        return synth, sfid

    def preset_name(self, program, bank=0):
        """The soundfont's name for a GM program (0-127)."""
        synth, sfid = self._new_synth()
        return synth.sfpreset_name(sfid, bank, program)

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
        synth, sfid = self._new_synth()
        synth.program_select(0, sfid, bank, int(program))
        hold = int(round(hold_seconds * self.sample_rate))
        release = int(round(release_seconds * self.sample_rate))
        synth.noteon(0, int(pitch), int(velocity))
        held = np.frombuffer(synth.generate(hold), dtype=np.float32).copy()
        synth.noteoff(0, int(pitch))
        released = np.frombuffer(synth.generate(release), dtype=np.float32).copy()
        stereo = np.concatenate([held, released]).reshape(-1, 2)
        return stereo.mean(axis=1).astype(np.float32)
