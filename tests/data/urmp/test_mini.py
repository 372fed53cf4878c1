"""mini_urmp: a real TFDS build of the `tiny` config (never `default`), its mapping and determinism.

The module fixture builds `mini_urmp/tiny` once (78 rendered notes, about a
second) with GCS lookups and sockets refused; one test rebuilds it in a
fresh Python process and compares the bytes.
"""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from tensorflow_datasets.core.utils import gcs_utils

from tfxmodal.audio.soundfont import NoteRenderer
from tfxmodal.data.urmp import mini as mini_urmp
from tfxmodal.data.urmp import pipeline as urmp_pipeline
from tfxmodal.data.urmp.layout import INSTRUMENTS, SPLITS
from tfxmodal.data.urmp.lms import to_example


def refuse(*args, **kwargs):
    raise AssertionError(f"network access attempted: {args[:2]}")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    data_dir = str(tmp_path_factory.mktemp("tfds_mini_urmp"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gcs_utils, "_is_gcs_disabled", False)
        patch.setattr(gcs_utils, "exists", refuse)
        patch.setattr(socket, "getaddrinfo", refuse)
        patch.setattr(socket.socket, "connect", refuse)
        summary = mini_urmp.prepare(data_dir, "tiny")
    return dict(summary, data_dir=data_dir)


def stored(tiny, split):
    builder = mini_urmp.builder(tiny["data_dir"], "tiny")
    return list(tfds.as_numpy(builder.as_dataset(split=split, shuffle_files=False)))


def test_prepare_summary_counts_per_split_and_class(tiny):
    assert json.loads(json.dumps({k: v for k, v in tiny.items() if k != "data_dir"}))
    assert tiny["built"] is True and tiny["config"] == "tiny"
    assert tiny["path"] == os.path.join(tiny["data_dir"], "mini_urmp", "tiny", "1.0.0")
    assert tiny["splits"]["train"]["examples"] == 52 and tiny["splits"]["test"]["examples"] == 26
    assert set(tiny["splits"]["train"]["per_instrument"].values()) == {4}
    assert set(tiny["splits"]["test"]["per_instrument"].values()) == {2}
    assert list(tiny["splits"]["train"]["per_instrument"]) == list(INSTRUMENTS)
    assert 0.5 < tiny["megabytes"] < 5 and tiny["seconds"] < 60
    assert sorted(os.listdir(tiny["data_dir"])) == ["mini_urmp"]  # no empty downloads/ left
    again = mini_urmp.prepare(tiny["data_dir"], "tiny")
    assert again["built"] is False and again["path"] == tiny["path"] and again["splits"] == tiny["splits"]


def test_data_dir_none_honours_tfds_data_dir(tiny, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", tiny["data_dir"])
    summary = mini_urmp.prepare(None, "tiny")
    assert summary["built"] is False and summary["path"] == tiny["path"]


@pytest.mark.slow  # spawns a Python process
def test_rebuild_in_a_fresh_process_is_byte_identical(tiny, tmp_path):
    code = f"from tfxmodal.data.urmp import mini as mini_urmp; mini_urmp.prepare({str(tmp_path)!r}, 'tiny')"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="12345")
    subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True, timeout=300)
    rebuilt = os.path.join(tmp_path, "mini_urmp", "tiny", "1.0.0")
    names = sorted(os.listdir(tiny["path"]))
    assert sorted(os.listdir(rebuilt)) == names
    assert sum(name.endswith(".tfrecord-00000-of-00001") for name in names) == 2
    for name in names:
        with open(os.path.join(tiny["path"], name), "rb") as a, open(os.path.join(rebuilt, name), "rb") as b:
            assert a.read() == b.read(), name


def test_stored_examples_are_the_planned_notes_rendered_and_drawn(tiny):
    renderer = NoteRenderer()
    planned = {n.key: n for n in mini_urmp.notes("tiny")}
    seen = {}
    for split in SPLITS:
        for example in stored(tiny, split):
            instrument = INSTRUMENTS[example["label"]]
            note = planned[f"{instrument}_{example['pitch']:03d}_{example['velocity']:03d}"]
            assert note.split == split and note.key not in seen
            seen[note.key] = example
            assert example["program"] == mini_urmp.PROGRAMS[instrument]
            np.testing.assert_array_equal(
                example["image"], mini_urmp.draw_note_image(instrument, note.pitch, note.velocity)
            )
            assert example["audio"].shape == (8000,) and example["audio"].dtype == np.int16
    assert len(seen) == 78
    # The audio is the renderer's note, 0.1-0.6 s after key-down, one per instrument checked.
    for instrument in INSTRUMENTS:
        key = next(k for k in seen if planned[k].instrument == instrument)
        note = planned[key]
        expected = mini_urmp.render_chunk(renderer, instrument, note.pitch, note.velocity)
        np.testing.assert_array_equal(seen[key]["audio"], expected)
        assert np.abs(expected).max() > 300  # audible, not silence


def test_the_image_mapping_is_checkable(tiny):
    background = np.array(mini_urmp.BACKGROUND)
    areas = {}
    for example in stored(tiny, "train") + stored(tiny, "test"):
        geometry = mini_urmp.glyph_geometry(example["pitch"], example["velocity"])
        mask = np.any(example["image"] != background, axis=-1)
        rows, cols = np.nonzero(mask)
        # Placement: the glyph is centred where pitch puts it ...
        assert abs(rows.mean() - geometry["centre"][0]) < 1.5 and abs(cols.mean() - geometry["centre"][1]) < 1.5
        # ... never clipped by the border, and coloured by pitch and velocity.
        assert rows.min() > 0 and cols.min() > 0 and rows.max() < 127 and cols.max() < 127
        assert (example["image"][mask] == geometry["colour"]).all()
        areas[(int(example["label"]), int(example["pitch"]), int(example["velocity"]))] = mask.sum()
    for (label, pitch, velocity), area in areas.items():
        if velocity == 112:  # louder notes are drawn bigger: area ~ radius squared
            ratio = (
                mini_urmp.glyph_geometry(pitch, 112)["radius"] / mini_urmp.glyph_geometry(pitch, 48)["radius"]
            ) ** 2
            assert ratio > 1.9
            assert area / areas[(label, pitch, 48)] == pytest.approx(ratio, rel=0.25)  # rasterised thin strokes
    # The 13 glyphs are distinguishable at the same place and size.
    masks = [mini_urmp.glyph_mask(mini_urmp.GLYPHS[i], (64, 64), 20) for i in INSTRUMENTS]
    for i in range(13):
        for j in range(i + 1, 13):
            overlap = (masks[i] & masks[j]).sum() / (masks[i] | masks[j]).sum()
            assert overlap < 0.85, (INSTRUMENTS[i], INSTRUMENTS[j], overlap)
    assert len(set(mini_urmp.GLYPHS.values())) == 13


def test_loader_uses_the_shared_sub_urmp_conversion(tiny):
    raw = stored(tiny, "test")
    loaded = [{k: v.numpy() for k, v in e.items()} for e in mini_urmp.load("test", 32, tiny["data_dir"], "tiny")]
    assert len(loaded) == len(raw) == 26
    for example, source in zip(loaded, raw):
        expected = to_example(source["image"], source["audio"].astype(np.float32) / 32768.0, source["label"], 32)
        for key in ("image", "lms", "audio", "label"):
            np.testing.assert_allclose(example[key], expected[key].numpy(), atol=1e-6, err_msg=key)
        assert example["image"].shape == (32, 32, 3) and example["lms"].shape == (32, 32, 1)
        assert example["label"].dtype == np.int32 and -1.0 <= example["image"].min() <= example["image"].max() <= 1.0
    # Loudness survives the fixed LMS normalisation: velocity 112 above 48.
    by_note = {(int(s["label"]), int(s["pitch"]), int(s["velocity"])): e for s, e in zip(raw, loaded)}
    louder = [(k, v) for k, v in by_note.items() if k[2] == 112 and (k[0], k[1], 48) in by_note]
    for key, example in louder:
        assert example["lms"].mean() > by_note[(key[0], key[1], 48)]["lms"].mean()


def test_default_config_plan_without_building():
    notes = mini_urmp.notes("default")
    assert len(notes) == 2080 and len({n.key for n in notes}) == 2080
    for split, per_instrument in (("train", 128), ("test", 32)):
        chosen = [n for n in notes if n.split == split]
        assert len(chosen) == 13 * per_instrument
        assert {n.instrument: 0 for n in chosen}.keys() == set(INSTRUMENTS)
    test = [n for n in notes if n.split == "test"]
    assert {n.velocity for n in test} == set(mini_urmp.CONFIGS[0].velocities)  # spread over the grid
    for note in notes:
        low, high = mini_urmp.PITCH_RANGES[note.instrument]
        assert low <= note.pitch <= high
    with pytest.raises(ValueError, match="config='huge'"):
        mini_urmp.notes("huge")


def test_pipeline_under_a_strategy(tiny, two_cpu_strategy):
    distributed = two_cpu_strategy.distribute_datasets_from_function(
        lambda context: urmp_pipeline.mini_urmp_pipeline(
            batch_size=4,
            image_size=16,
            data_dir=tiny["data_dir"],
            config="tiny",
            input_context=context,
        )
    )
    batch = next(iter(distributed))
    parts = two_cpu_strategy.experimental_local_results(batch["lms"])
    assert [tuple(p.shape) for p in parts] == [(2, 16, 16, 1), (2, 16, 16, 1)]
    evaluation = list(
        urmp_pipeline.mini_urmp_pipeline(
            "test",
            batch_size=8,
            training=False,
            image_size=16,
            data_dir=tiny["data_dir"],
            config="tiny",
        )
    )
    assert [int(b["label"].shape[0]) for b in evaluation] == [8, 8, 8, 2]
    assert isinstance(evaluation[0]["audio"], tf.Tensor) and evaluation[0]["audio"].shape == (
        8,
        8000,
    )
