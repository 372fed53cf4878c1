"""mini_nsynth: schema equal to TFDS nsynth, the GM table, splits, determinism, caching.

Everything here reads a real TFDS build of the `tiny` config (the session
fixture `mini_nsynth_tiny`); one test rebuilds it in a fresh Python process
and compares the bytes. The default config is only planned, never built.
The no-network build is in `test_tfds_utils.py`.
"""

import glob
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds

from tfxmodal.audio.soundfont import NoteRenderer
from tfxmodal.data import mini_nsynth, nsynth
from tfxmodal.data import nsynth_families as labels

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

NSYNTH_FAMILIES = [
    "bass", "brass", "flute", "guitar", "keyboard", "mallet",
    "organ", "reed", "string", "synth_lead", "vocal",
]  # fmt: skip


def tfrecord_bytes(version_dir):
    files = sorted(glob.glob(os.path.join(version_dir, "*.tfrecord*")))
    assert len(files) == 3, files
    return {os.path.basename(path): open(path, "rb").read() for path in files}


@pytest.mark.parametrize("real_name", ["nsynth/full", "nsynth/gansynth_subset"])
def test_features_equal_the_real_tfds_nsynth_schema(real_name, tmp_path, mini_nsynth_tiny):
    # The real builder is only instantiated: its schema needs no download.
    real = tfds.builder(real_name, data_dir=str(tmp_path))
    assert not real.is_prepared()
    built = mini_nsynth.builder("tiny", mini_nsynth_tiny["data_dir"])
    for mine in (built.info.features, mini_nsynth.nsynth_features()):
        assert mine.to_json() == real.info.features.to_json()
        assert repr(mine) == repr(real.info.features)
    assert list(real.info.features["instrument"]["family"].names) == NSYNTH_FAMILIES
    assert list(labels.FAMILIES) == NSYNTH_FAMILIES
    assert list(real.info.features["instrument"]["source"].names) == list(labels.SOURCES)
    assert sorted(real.info.features["qualities"].keys()) == sorted(labels.QUALITIES)


def test_gm_table_matches_the_soundfont_and_each_family_has_three_acoustic_presets():
    renderer = NoteRenderer()
    programs = [instrument.program for instrument in labels.GM_INSTRUMENTS]
    assert len(programs) == len(set(programs))
    for instrument in labels.GM_INSTRUMENTS:
        assert renderer.preset_name(instrument.program) == instrument.preset, instrument
    assert sorted({i.family for i in labels.GM_INSTRUMENTS}) == sorted(labels.PAPER_FAMILIES)
    for family in labels.PAPER_FAMILIES:
        acoustic = labels.family_instruments(family, "acoustic")
        assert len(acoustic) >= 3, family  # one each for train, valid, test
    assert labels.gm_instrument(33).source == "electronic"
    assert labels.gm_instrument(38).source == "synthetic"
    with pytest.raises(KeyError, match="program 120 has no NSynth family"):
        labels.gm_instrument(120)
    with pytest.raises(ValueError, match="unknown NSynth family 'kazoo'"):
        labels.family_index("kazoo")


def test_default_plan_splits_share_no_instrument_and_cover_pitches_and_families():
    plan = mini_nsynth.note_plan(mini_nsynth.MiniNsynth.builder_configs["default"])
    counts = {split: len(notes) for split, notes in plan.items()}
    assert counts == {"train": 964, "valid": 160, "test": 160}
    players = {split: {note.instrument.program for note in notes} for split, notes in plan.items()}
    assert not players["train"] & players["valid"]
    assert not players["train"] & players["test"]
    assert not players["valid"] & players["test"]
    for split, notes in plan.items():
        acoustic_families = {n.instrument.family for n in notes if n.instrument.source == "acoustic"}
        assert acoustic_families == set(labels.PAPER_FAMILIES), split
        assert {n.velocity for n in notes} == set(labels.NSYNTH_VELOCITIES), split
        for note in notes:
            low, high = labels.FAMILY_PITCH_RANGES[note.instrument.family]
            assert low <= note.pitch <= high
    assert {n.pitch for n in plan["train"]} == set(range(24, 85))
    acoustic_train = [n for n in plan["train"] if n.instrument.source == "acoustic"]
    assert {n.pitch for n in acoustic_train} == set(range(24, 85))
    assert len(players["train"]) >= 3 * len(labels.PAPER_FAMILIES)  # several presets a family
    # Seeded: the same plan every time, a different one for another seed.
    again = mini_nsynth.note_plan(mini_nsynth.MiniNsynth.builder_configs["default"])
    assert again == plan
    reseeded = mini_nsynth.MiniNsynthConfig(name="reseeded", seed=1)
    assert [n.velocity for n in mini_nsynth.note_plan(reseeded)["train"]] != [
        n.velocity for n in plan["train"]
    ]


def test_tiny_build_holds_the_rendered_notes(mini_nsynth_tiny):
    builder = mini_nsynth.builder("tiny", mini_nsynth_tiny["data_dir"])
    plan = mini_nsynth.note_plan(builder.builder_config)
    renderer = NoteRenderer()
    by_split = {}
    for split in mini_nsynth.SPLITS:
        examples = list(tfds.as_numpy(builder.as_dataset(split=split)))
        by_split[split] = examples
        planned = {labels.note_str(*note): note for note in plan[split]}
        assert sorted(e["id"].decode() for e in examples) == sorted(planned)
        for example in examples:
            note = planned[example["id"].decode()]
            program = int(example["instrument"]["label"])
            assert program == note.instrument.program
            assert NSYNTH_FAMILIES[example["instrument"]["family"]] == note.instrument.family
            assert labels.SOURCES[example["instrument"]["source"]] == note.instrument.source
            assert (example["pitch"], example["velocity"]) == (note.pitch, note.velocity)
            assert re.fullmatch(r"[a-z_]+_(acoustic|electronic|synthetic)_\d{3}-\d{3}-\d{3}",
                                example["id"].decode())
            assert not any(example["qualities"].values())
            audio = example["audio"]
            assert audio.shape == (64000,) and audio.dtype == np.float32
            assert np.isfinite(audio).all() and np.abs(audio).max() > 0.01
    # The stored audio is the renderer's NSynth note (3 s held, 1 s release), bit for bit.
    first = by_split["valid"][0]
    expected = renderer.render(
        int(first["instrument"]["label"]), int(first["pitch"]), int(first["velocity"]),
        hold_seconds=3.0, release_seconds=1.0,
    )  # fmt: skip
    assert first["audio"].tobytes() == expected.tobytes()
    summary = mini_nsynth_tiny["splits"]
    assert {s: summary[s]["examples"] for s in summary} == {"train": 20, "valid": 10, "test": 10}
    for split in mini_nsynth.SPLITS:
        assert set(summary[split]["families"]) == set(labels.PAPER_FAMILIES)


def test_second_prepare_reuses_the_build(mini_nsynth_tiny):
    version_dir = mini_nsynth_tiny["path"]
    files = sorted(glob.glob(os.path.join(version_dir, "*")))
    stamps = {path: os.stat(path).st_mtime_ns for path in files}
    again = mini_nsynth.prepare(mini_nsynth_tiny["data_dir"], "tiny")
    assert again["reused"] is True
    assert again["seconds"] < 2.0
    assert again["path"] == version_dir
    assert again["splits"] == mini_nsynth_tiny["splits"]
    assert again["bytes"] == mini_nsynth_tiny["bytes"] > 40 * 64000 * 4
    assert sorted(glob.glob(os.path.join(version_dir, "*"))) == files
    assert {path: os.stat(path).st_mtime_ns for path in files} == stamps
    # TFDS's empty downloads/ folder is not left in the data dir.
    assert sorted(os.listdir(mini_nsynth_tiny["data_dir"])) == ["mini_nsynth"]


def test_data_dir_none_honours_tfds_data_dir_set_after_import(mini_nsynth_tiny, monkeypatch):
    # TFDS reads TFDS_DATA_DIR once, at import; prepare and the reader read it at call time.
    monkeypatch.setenv("TFDS_DATA_DIR", mini_nsynth_tiny["data_dir"])
    # The builders first (they write nothing), so a regression never builds into ~.
    assert os.fspath(mini_nsynth.builder("tiny").data_dir) == mini_nsynth_tiny["path"]
    assert os.fspath(nsynth.tfds_builder("mini_nsynth/tiny").data_dir) == mini_nsynth_tiny["path"]
    again = mini_nsynth.prepare(None, "tiny")
    assert again["reused"] is True and again["path"] == mini_nsynth_tiny["path"]


@pytest.mark.slow  # spawns a Python process
def test_rebuild_in_a_fresh_process_is_byte_identical(mini_nsynth_tiny, tmp_path):
    # A separate interpreter, because the nondeterminism this guards against
    # (the order of tf.train.Example feature-map entries under the upb
    # protobuf runtime) is fixed within a process: an in-process rebuild
    # matches even when the bytes differ from process to process.
    result = subprocess.run(
        [sys.executable, "-m", "tfxmodal.data", "prepare", "mini_nsynth",
         "--config", "tiny", "--data-dir", str(tmp_path)],
        cwd=ROOT, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["reused"] is False
    assert summary["path"] != mini_nsynth_tiny["path"]
    assert summary["splits"] == mini_nsynth_tiny["splits"]
    assert tfrecord_bytes(summary["path"]) == tfrecord_bytes(mini_nsynth_tiny["path"])


def test_bad_config_and_pitch_spread():
    with pytest.raises(ValueError, match="unknown mini_nsynth config 'huge'"):
        mini_nsynth.builder("huge")
    assert mini_nsynth.spread_pitches(24, 84, 1) == [54]
    assert mini_nsynth.spread_pitches(24, 27, None) == [24, 25, 26, 27]
    assert len(set(mini_nsynth.spread_pitches(55, 84, 16))) == 16
    with pytest.raises(ValueError, match="31 pitches do not fit"):
        mini_nsynth.spread_pitches(55, 84, 31)
