"""Figures 2-3 as real PNGs: sizes, the face grid's pixel layout, small-input errors."""

import os

import numpy as np
import pytest
from PIL import Image

from tfxmodal.data.nsynth import families as nsynth_families
from tfxmodal.face2music import figures as plots
from tfxmodal.face2music.figures import log_spectrogram, midi_frequency, spectrogram_pairs

BASS, GUITAR, VOCAL = (nsynth_families.family_index(name) for name in ("bass", "guitar", "vocal"))


def _rgb(path):
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _red_pixels(rgb):
    """Pixels close to the translations' pure red (alpha-blended on white or other dots)."""
    r, g, b = (rgb[..., c].astype(int) for c in range(3))
    return int(np.sum((r > 200) & (g < 90) & (b < 90)))


def _clustered(rng, families, per_family, dims, spread=0.3):
    """Points in tight clusters, one per family, and their labels."""
    centres = rng.normal(size=(len(families), dims)) * 3.0
    points = np.concatenate([c + spread * rng.normal(size=(per_family, dims)) for c in centres])
    labels = np.repeat(np.asarray(families), per_family)
    return points.astype(np.float32), labels


def _solid_faces(rng, count, height, width):
    """Faces of one random colour each, every channel >= 60, so no tile is black anywhere."""
    colours = rng.integers(60, 256, size=(count, 1, 1, 3)).astype(np.float32)
    return np.broadcast_to(colours, (count, height, width, 3)).copy()


# ---------------------------------------------------------------- face grid


def test_face_grid_rows_hold_min_of_members_and_per_row_tiles(tmp_path):
    rng = np.random.default_rng(1)
    counts = {BASS: 17, GUITAR: 5, VOCAL: 2}  # other families: no members
    labels = np.concatenate([np.full(n, family) for family, n in counts.items()])
    faces = _solid_faces(rng, len(labels), height=10, width=8)
    per_row, label_width = 12, 60

    path = plots.face_grid(
        faces, labels, tmp_path / "grid.png", per_row=per_row, tile_size=None, label_width=label_width
    )

    rgb = _rgb(path)
    table = plots.family_table()
    assert len(table) == 10  # the paper's ten families, synth_lead left out
    assert rgb.shape == (10 * 10, label_width + per_row * 8, 3)
    grid = rgb[:, label_width:]
    for row, (family, name) in enumerate(table):
        tiles = [grid[row * 10 : (row + 1) * 10, col * 8 : (col + 1) * 8] for col in range(per_row)]
        expected = min(counts.get(family, 0), per_row)
        # Faces fill their tile completely (drawn 1:1), padding is pure black.
        assert [bool(tile.min() >= 60) for tile in tiles] == [True] * expected + [False] * (per_row - expected), name
        assert all(tile.max() == 0 for tile in tiles[expected:]), name
        # The family name is written in the label column of its row.
        assert rgb[row * 10 : (row + 1) * 10, :label_width].max() > 150, name


def test_face_grid_tiles_come_from_the_right_family(tmp_path):
    # Each family gets its own colour, so every tile's colour names its family.
    palette = {BASS: (250, 60, 60), GUITAR: (60, 250, 60), VOCAL: (60, 60, 250)}
    labels = np.array([BASS] * 4 + [GUITAR] * 3 + [VOCAL] * 3)
    faces = np.stack([np.broadcast_to(np.float32(palette[f]), (6, 6, 3)) for f in labels])
    rgb = _rgb(plots.face_grid(faces, labels, tmp_path / "g.png", per_row=5, tile_size=None, label_width=40))
    rows = {family: row for row, (family, _) in enumerate(plots.family_table())}
    for family, colour in palette.items():
        row = rgb[rows[family] * 6 : (rows[family] + 1) * 6, 40:]
        tiles = [tuple(row[3, col * 6 + 3]) for col in range(5)]
        count = int(np.sum(labels == family))
        assert tiles == [colour] * count + [(0, 0, 0)] * (5 - count)


def test_face_grid_is_seeded_and_resizes_tiles(tmp_path):
    rng = np.random.default_rng(2)
    labels = np.full(40, GUITAR)
    faces = _solid_faces(rng, 40, height=24, width=20)
    first = _rgb(plots.face_grid(faces, labels, tmp_path / "a.png", per_row=6, seed=5, tile_size=12))
    again = _rgb(plots.face_grid(faces, labels, tmp_path / "b.png", per_row=6, seed=5, tile_size=12))
    other = _rgb(plots.face_grid(faces, labels, tmp_path / "c.png", per_row=6, seed=6, tile_size=12))
    assert first.shape == (10 * 12, 110 + 6 * 12, 3)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)  # 6 of 40 faces: another seed draws others


def test_face_grid_reads_paper_family_indices_when_told(tmp_path):
    labels = np.array([9, 9, 0])  # in PAPER_FAMILIES 9 is vocal, the last row
    faces = _solid_faces(np.random.default_rng(3), 3, 4, 4)
    with pytest.raises(ValueError, match="PAPER_FAMILIES"):
        plots.face_grid(faces, labels, tmp_path / "x.png", tile_size=None)
    rgb = _rgb(
        plots.face_grid(
            faces,
            labels,
            tmp_path / "y.png",
            per_row=3,
            tile_size=None,
            label_width=30,
            family_names=nsynth_families.PAPER_FAMILIES,
        )
    )
    last_row = rgb[9 * 4 :, 30:]
    assert [bool(last_row[:, c * 4 : (c + 1) * 4].min() >= 60) for c in range(3)] == [True, True, False]
    assert not os.path.exists(tmp_path / "x.png")


def test_face_grid_rejects_bad_input(tmp_path):
    faces = _solid_faces(np.random.default_rng(4), 3, 4, 4)
    with pytest.raises(ValueError, match="no images"):
        plots.face_grid(faces[:0], [], tmp_path / "a.png")
    with pytest.raises(ValueError, match=r"expected shape \(3,\)"):
        plots.face_grid(faces, [0, 1], tmp_path / "a.png")
    with pytest.raises(ValueError, match="not families"):
        plots.face_grid(faces, [0, 1, 42], tmp_path / "a.png")
    with pytest.raises(ValueError, match=r"\(n, H, W, 3\)"):
        plots.face_grid(faces[..., 0], [0, 1, 2], tmp_path / "a.png")
    assert os.listdir(tmp_path) == []  # nothing half-written


# ---------------------------------------------------------------- t-SNE


def test_tsne_audio_space_png(tmp_path):
    rng = np.random.default_rng(5)
    real, families = _clustered(rng, [BASS, GUITAR, VOCAL, 1, 5], per_family=14, dims=505)
    translated = real[rng.choice(len(real), 20)] + 0.1 * rng.normal(size=(20, 505))

    path = plots.tsne_audio_space(real, families, translated, tmp_path / "audio.png", seed=0)

    assert path == os.fspath(tmp_path / "audio.png")
    rgb = _rgb(path)
    assert rgb.shape == (700, 900, 3)
    assert _red_pixels(rgb) > 100  # the translations' red dots and their legend entry
    # A family colour is there too (bass blue, #1f77b4 drawn at alpha 0.7 on white).
    assert np.sum(np.abs(rgb.astype(int) - (98, 159, 203)).max(axis=-1) < 30) > 50
    assert os.listdir(tmp_path) == ["audio.png"]  # no temporary file left behind


def test_tsne_audio_space_without_translations_has_no_red(tmp_path):
    rng = np.random.default_rng(6)
    real, families = _clustered(rng, [BASS, GUITAR], per_family=10, dims=16)
    rgb = _rgb(plots.tsne_audio_space(real, families, np.zeros((0, 16)), tmp_path / "a.png"))
    assert _red_pixels(rgb) == 0


def test_tsne_face_space_png_with_max_points(tmp_path):
    rng = np.random.default_rng(7)
    faces, assigned = _clustered(rng, [BASS, GUITAR, VOCAL], per_family=40, dims=128)
    path = plots.tsne_face_space(faces, assigned, tmp_path / "faces.png", seed=1, max_points=50)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (900, 700)
    assert _red_pixels(_rgb(path)) == 0  # no translations in the face space plot


def test_tsne_handles_the_smallest_inputs(tmp_path):
    # 3 points: the perplexity (30) is capped below the point count.
    assert plots.effective_perplexity(30, 3) < 3
    path = plots.tsne_face_space(np.eye(3, 5), [BASS, GUITAR, VOCAL], tmp_path / "three.png")
    assert _rgb(path).shape == (700, 900, 3)
    path = plots.tsne_audio_space(np.eye(2, 5), [BASS, BASS], np.ones((1, 5)), tmp_path / "three_audio.png")
    assert _rgb(path).shape == (700, 900, 3)


def test_tsne_rejects_too_few_or_bad_points(tmp_path):
    with pytest.raises(ValueError, match="at least 3 faces, got 2"):
        plots.tsne_face_space(np.eye(2, 4), [BASS, GUITAR], tmp_path / "a.png")
    with pytest.raises(ValueError, match=r"at least 3 points \(real \+ translated\), got 2"):
        plots.tsne_audio_space(np.eye(1, 4), [BASS], np.ones((1, 4)), tmp_path / "a.png")
    with pytest.raises(ValueError, match="4 features per point, translated_features 5"):
        plots.tsne_audio_space(np.eye(4), [BASS] * 4, np.ones((2, 5)), tmp_path / "a.png")
    with pytest.raises(ValueError, match="NaN"):
        plots.tsne_face_space(np.full((5, 3), np.nan), [BASS] * 5, tmp_path / "a.png")
    with pytest.raises(ValueError, match="synth_lead"):
        plots.tsne_face_space(np.eye(4), [BASS, 9, 9, 9], tmp_path / "a.png")
    assert os.listdir(tmp_path) == []


def test_log_spectrogram_puts_a_full_scale_sine_at_0_db_in_its_bin():
    t = np.arange(8192) / 16000
    spectrum = log_spectrogram(np.sin(2 * np.pi * 1000 * t), frame_length=512, frame_step=128)
    assert spectrum.shape == (1 + (8192 - 512) // 128, 257)
    peak = spectrum.mean(axis=0).argmax()
    assert peak == 32  # 1000 Hz / (16000 Hz / 512)
    assert abs(spectrum[:, peak].mean()) < 0.1  # dB
    assert spectrum.min() >= -100


def test_spectrogram_pairs_is_an_image_and_a_png(tmp_path):
    assert midi_frequency(69) == 440.0 and round(float(midi_frequency(60)), 2) == 261.63
    rng = np.random.default_rng(0)
    real, generated = rng.normal(0, 0.1, (3, 8192)), rng.normal(0, 0.1, (3, 8192))
    image = spectrogram_pairs(real, generated, [40, 60, 80], tmp_path / "pairs.png")
    assert image.dtype == np.uint8 and image.shape[2] == 3 and image.shape[0] > image.shape[1] / 3
    assert image.shape[:2] == Image.open(tmp_path / "pairs.png").size[::-1]
    with pytest.raises(ValueError, match="one shape"):
        spectrogram_pairs(real, generated[:2], [40, 60, 80])
