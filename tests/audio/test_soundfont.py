import numpy as np
import pytest

from tfxmodal.audio.soundfont import NoteRenderer, SoundfontError


@pytest.fixture(scope="module")
def renderer():
    return NoteRenderer(sample_rate=16000)


def test_renders_nsynth_length_notes_deterministically(renderer):
    first = renderer.render(40, 60, 100)
    renderer.render(0, 30, 25)  # other notes in between change nothing
    again = NoteRenderer(sample_rate=16000).render(40, 60, 100)
    assert first.shape == (64000,) and first.dtype == np.float32
    assert first.tobytes() == renderer.render(40, 60, 100).tobytes() == again.tobytes()


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


def test_bad_arguments(renderer, tmp_path):
    with pytest.raises(ValueError, match="velocity in 1..127"):
        renderer.render(0, 60, 0)
    with pytest.raises(ValueError, match="program and pitch in 0..127"):
        renderer.render(128, 60, 100)
    with pytest.raises(SoundfontError, match="no such soundfont"):
        NoteRenderer(soundfont_path=str(tmp_path / "none.sf2"))
    bogus = tmp_path / "bogus.sf2"
    bogus.write_bytes(b"RIFF0000notasoundfont")
    with pytest.raises(SoundfontError, match="cannot load soundfont"):
        NoteRenderer(soundfont_path=str(bogus))
