"""The HTML report: self-contained folder, escaping, atomic replacement, and a
real headless Chromium that must load every image and audio clip."""

import os
import shutil
import urllib.parse

import numpy as np
import pytest
from PIL import Image

from tests.support.report_pages import Page, load_status
from tfxmodal.audio.wav import write_wav
from tfxmodal.data.nsynth import families as nsynth_families
from tfxmodal.face2music import report

BASS, GUITAR, VOCAL = (nsynth_families.family_index(name) for name in ("bass", "guitar", "vocal"))


EVIL = '<script>alert("x")</script>'


# ---------------------------------------------------------------- inputs


def _tone(path, frequency, samples=8192):
    t = np.arange(samples) / 16000.0
    write_wav(path, 0.3 * np.sin(2 * np.pi * frequency * t), 16000)
    return os.fspath(path)


def _face(seed, size=24):
    return np.random.default_rng(seed).uniform(0, 255, size=(size, size, 3)).astype(np.float32)


@pytest.fixture
def inputs(tmp_path):
    """Real WAVs and a real plot PNG outside the report folder, and the samples list."""
    source = tmp_path / "inputs"
    source.mkdir()
    plot = source / "tsne audio space.png"  # a space, to exercise URL quoting
    Image.fromarray(np.full((30, 40, 3), 128, np.uint8)).save(plot)
    families = [BASS, BASS, GUITAR, VOCAL, VOCAL, GUITAR]
    pitches = [40, 36, 60, 72, 61, 48]
    samples = []
    for i, (family, pitch) in enumerate(zip(families, pitches)):
        samples.append(
            {
                # Sample 1 has no face: a run trained from precomputed embeddings.
                "face": None if i == 1 else _face(i),
                "wav": _tone(source / f"tone_{i}.wav", 220.0 + 30 * i),
                "family": family,
                "pitch": pitch,
                "label": f"face {i}" if i != 4 else EVIL,
            }
        )
    return {
        "title": "face2music <b>evaluation</b>",
        "metrics": {"fid_pitch": 21.8432, "pc": 0.68312, "sv": 0.025613, "translations": 20000, EVIL: None},
        "tables": [
            {
                "title": "Table 1 (ablation)",
                "rows": [
                    {"model": "baseline", "FID": 21.84, "PC": 0.090},
                    {"model": "w/ aux. discriminator", "FID": 25.52, "PC": 0.432, "note": EVIL},
                ],
            }
        ],
        "plots": {"Audio metric space (Fig. 2b)": os.fspath(plot)},
        "samples": samples,
        "notes": ["Faces: VGGFace2 test split.", EVIL],
    }


def _write(out_dir, inputs, **overrides):
    arguments = dict(inputs, **overrides)
    return report.write_report(out_dir, **arguments)


def _page(index):
    with open(index, encoding="utf-8") as handle:
        return Page(handle.read())


# ---------------------------------------------------------------- folder


def test_every_link_resolves_inside_the_folder(tmp_path, inputs):
    index = _write(tmp_path / "report", inputs)
    folder = os.path.realpath(tmp_path / "report")
    assert index == os.path.join(folder, "index.html")
    page = _page(index)
    ids = {attrs["id"] for _, attrs in page.tags if "id" in attrs}
    referenced = set()
    for _, attrs in page.tags:
        for key in ("src", "href"):
            if key not in attrs:
                continue
            url = urllib.parse.urlsplit(attrs[key])
            assert not url.scheme and not url.netloc, f"non-relative link {attrs[key]!r}"
            if not url.path:  # an in-page anchor
                assert url.fragment in ids, attrs[key]
                continue
            target = os.path.realpath(os.path.join(folder, urllib.parse.unquote(url.path)))
            assert target.startswith(folder + os.sep), f"{attrs[key]!r} leaves the report folder"
            assert os.path.isfile(target), f"{attrs[key]!r} does not exist"
            referenced.add(os.path.relpath(target, folder))
    # No external resources of any kind: scripts and styles are inline.
    assert all("src" not in attrs for attrs in page.find("script"))
    assert page.find("link") == []
    # Every file of the folder is used by the page (5 faces, 6 WAVs, 1 plot).
    files = {
        os.path.relpath(os.path.join(root, name), folder)
        for root, _, names in os.walk(folder)
        for name in names
        if name not in ("index.html", report.MARKER)
    }
    assert files == referenced
    assert len([f for f in files if f.endswith(".wav")]) == 6
    assert len([f for f in files if f.startswith("samples") and f.endswith(".png")]) == 5
    # The faces were written from the float arrays, pixel for pixel.
    with Image.open(os.path.join(folder, "samples", "0000.png")) as image:
        np.testing.assert_array_equal(np.asarray(image), np.rint(inputs["samples"][0]["face"]).astype(np.uint8))


def test_strings_are_escaped(tmp_path, inputs):
    page = _page(_write(tmp_path / "report", inputs))
    # The only script is the page's own load check; no caller string became markup.
    assert len(page.find("script")) == 1
    assert page.find("b") == []
    text = "".join(page.text)
    assert text.count(EVIL) >= 4  # metric name, table cell, note, sample label: shown as text
    assert "face2music <b>evaluation</b>" in text


def test_samples_grouped_by_family_with_pitch_and_placeholder(tmp_path, inputs):
    index = _write(tmp_path / "report", inputs)
    page = _page(index)
    headings = [attrs["id"] for name, attrs in page.tags if name == "h3" and attrs.get("id", "").startswith("family-")]
    assert headings == ["family-bass", "family-guitar", "family-vocal"]  # NSynth family order
    with open(index, encoding="utf-8") as handle:
        source = handle.read()
    # Within a family, by pitch: bass 36 (sample 1) before 40 (sample 0).
    assert source.index("samples/0001.wav") < source.index("samples/0000.wav")
    text = "".join(page.text)
    assert "pitch 60 (C4)" in text and "pitch 61 (C#4)" in text
    assert "no face image" in text  # sample 1
    assert not os.path.exists(tmp_path / "report" / "samples" / "0001.png")
    assert len(page.find("audio")) == 6
    assert all(a.get("preload") == "metadata" and "controls" in a for a in page.find("audio"))


def test_metrics_are_formatted():
    assert report.format_value(21.8432) == "21.84"
    assert report.format_value(0.68312) == "0.6831"
    assert report.format_value(0.025613) == "0.02561"
    assert report.format_value(np.float32(1.25)) == "1.25"
    assert report.format_value(20000) == "20000"
    assert report.format_value(12345.678) == "12345.7"
    assert report.format_value(2.5e-6) == "2.500e-06"
    assert report.format_value(float("nan")) == "NaN"
    assert report.format_value(None) == "\u2014"
    assert report.format_value({"pitch": 0.9, "family": 0.8125}) == "pitch: 0.9, family: 0.8125"
    assert report.pitch_name(60) == "C4" and report.pitch_name(24) == "C1" and report.pitch_name(61) == "C#4"


def test_rewriting_replaces_the_report_whole(tmp_path, inputs):
    out = tmp_path / "report"
    _write(out, inputs)
    _write(out, inputs, samples=inputs["samples"][:2], title="second")
    assert "second" in (out / "index.html").read_text(encoding="utf-8")
    assert sorted(os.listdir(out / "samples")) == ["0000.png", "0000.wav", "0001.wav"]
    assert sorted(os.listdir(tmp_path)) == ["inputs", "report"]  # no temporary or set-aside folders


def _snapshot(folder):
    """{relative path: bytes} of every file under `folder`."""
    contents = {}
    for root, _, names in os.walk(folder):
        for name in names:
            with open(os.path.join(root, name), "rb") as handle:
                contents[os.path.relpath(os.path.join(root, name), folder)] = handle.read()
    return contents


def test_missing_wav_raises_and_leaves_the_old_report_intact(tmp_path, inputs):
    out = tmp_path / "report"
    _write(out, inputs)
    before = _snapshot(out)
    samples = [dict(sample) for sample in inputs["samples"]]
    # The last sample fails after the others were already copied into the
    # temporary folder, so the clean-up of a half-built report is exercised.
    samples[-1]["wav"] = os.fspath(tmp_path / "inputs" / "gone.wav")
    with pytest.raises(FileNotFoundError, match=r"gone.wav"):
        _write(out, inputs, samples=samples, title="never shown")
    after = _snapshot(out)
    assert after == before
    assert sorted(os.listdir(tmp_path)) == ["inputs", "report"]
    # Same for a first write: no folder at all.
    with pytest.raises(FileNotFoundError, match=r"gone.wav"):
        _write(tmp_path / "fresh", inputs, samples=samples)
    assert sorted(os.listdir(tmp_path)) == ["inputs", "report"]


def test_bad_inputs_are_named(tmp_path, inputs):
    not_a_wav = tmp_path / "inputs" / "not_a.wav"
    not_a_wav.write_bytes(b"RIFF....garbage")
    cases = [
        ({"wav": os.fspath(not_a_wav)}, report.ReportError, "not_a.wav"),
        ({"pitch": 200}, report.ReportError, r"samples\[0\]: pitch"),
        ({"family": 9}, ValueError, "synth_lead"),
        ({"face": np.zeros((4, 4))}, report.ReportError, r"samples\[0\]: face"),
    ]
    for change, error, message in cases:
        samples = [dict(inputs["samples"][0], **change)]
        with pytest.raises(error, match=message):
            _write(tmp_path / "report", inputs, samples=samples)
    with pytest.raises(FileNotFoundError, match=r"missing_plot.png"):
        _write(tmp_path / "report", inputs, plots=[os.fspath(tmp_path / "missing_plot.png")])
    assert sorted(os.listdir(tmp_path)) == ["inputs"]


def test_refuses_to_replace_a_folder_that_is_not_a_report(tmp_path, inputs):
    precious = tmp_path / "runs"
    precious.mkdir()
    (precious / "model.weights.h5").write_bytes(b"weights")
    with pytest.raises(FileExistsError, match="not a tfxmodal report"):
        _write(precious, inputs)
    assert os.listdir(precious) == ["model.weights.h5"]


def test_paper_family_indices_are_read_with_their_names(tmp_path, inputs):
    # The evaluation code labels families 0-9 in PAPER_FAMILIES order (9 = vocal).
    samples = [dict(inputs["samples"][0], family=9)]
    index = _write(tmp_path / "report", inputs, samples=samples, family_names=nsynth_families.PAPER_FAMILIES)
    assert "vocal, pitch 40 (E2)" in "".join(_page(index).text)


def _counts(status):
    keys = ("data-images-ok", "data-images-total", "data-audio-ok", "data-audio-total")
    return tuple(int(status[key]) for key in keys)


@pytest.mark.slow
def test_chromium_loads_every_image_and_audio_clip(tmp_path, inputs, chromium):
    index = _write(tmp_path / "report", inputs)
    status = load_status(chromium, index, tmp_path / "profile")
    # 1 plot + 5 faces; 6 translations.
    assert _counts(status) == (6, 6, 6, 6), status
    assert status["data-ok"] == "true" and status["data-failed"] == ""


@pytest.mark.slow
def test_chromium_check_fails_for_missing_and_broken_files(tmp_path, inputs, chromium):
    index = _write(tmp_path / "report", inputs)
    broken = tmp_path / "broken"
    shutil.copytree(tmp_path / "report", broken)
    os.remove(broken / "samples" / "0002.wav")
    os.remove(broken / "samples" / "0003.png")
    (broken / "samples" / "0005.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot audio")
    status = load_status(chromium, broken / "index.html", tmp_path / "profile")
    assert _counts(status) == (5, 6, 4, 6), status
    assert status["data-ok"] == "false"
    assert sorted(status["data-failed"].split()) == ["samples/0002.wav", "samples/0003.png", "samples/0005.wav"]
    assert status["data-audio-timed-out"] == "0"  # each failure was reported by the browser, not guessed
    # The intact original still passes in the same browser profile.
    assert _counts(load_status(chromium, index, tmp_path / "profile")) == (6, 6, 6, 6)
