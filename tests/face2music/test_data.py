"""The face2music task's target data: unreadable and empty sources are named before any training."""

import dataclasses
import os

import numpy as np
import pytest
import tensorflow as tf
import yaml

from tests.support.face_trees import uneven_tree
from tests.support.image_files import corrupt_entropy_copy, noise, save
from tests.support.nsynth_records import magenta_example, write_records
from tfxmodal.cli.train import main
from tfxmodal.config import parse
from tfxmodal.data.faces.index import index_identity_folders
from tfxmodal.errors import ConfigError, EmbeddingFileError, ImageFileError, NsynthDataError
from tfxmodal.face2music.config import AudioData, Face2MusicConfig, FaceData
from tfxmodal.face2music.data import (
    check_face_embeddings,
    check_target_notes,
    count_target_examples,
    face_batches,
    face_source,
    filter_description,
    manifest,
    split_files,
    target_examples,
)


def test_a_truncated_tfrecord_is_named(tmp_path):
    good = write_records(tmp_path / "a.tfrecord", [magenta_example(0, 0, 1, 40, 50)] * 3)
    bad = tmp_path / "b.tfrecord"
    write_records(bad, [magenta_example(3, 0, 2, 60, 100)] * 3)
    with open(bad, "r+b") as handle:
        handle.truncate(os.path.getsize(bad) - 1000)
    audio = AudioData(source="tfrecord", files=[str(good or tmp_path / "a.tfrecord"), str(bad)])
    try:
        count_target_examples(audio)
    except NsynthDataError as error:
        assert str(error).startswith(f"{bad}: truncated or corrupt TFRecord data"), error
    else:
        raise AssertionError("a truncated record was counted")


def test_an_empty_target_set_stops_the_run_before_any_training(tmp_path, capsys):
    empty = tmp_path / "empty.tfrecord"
    with tf.io.TFRecordWriter(str(empty)):
        pass
    config = {
        "task": "face2music",
        "audio": {"source": "tfrecord", "files": [str(empty)]},
        "face_embedder": {"kind": "eigenfaces", "num_components": 8},
        "train": {"batch_size": 4, "steps": 4, "checkpoint_every": 2},
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["--config", str(path), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert f"input error: {empty}: empty file (0 bytes, no records)" in err  # not "0 notes after filtering"
    assert not (tmp_path / "run" / "audio_embedder.weights.h5").exists()  # psi never trained


def test_bad_records_are_named_or_skipped_and_listed(tmp_path):
    bad_pitch = {"pitch": tf.train.Feature(float_list=tf.train.FloatList(value=[60.0]))}
    notes = [magenta_example(0, 0, 1, 40 + i, 50) for i in range(5)]
    notes[3] = magenta_example(0, 0, 1, 43, 50, override=bad_pitch)
    path = write_records(tmp_path / "nsynth-train.tfrecord", notes)
    empty = write_records(tmp_path / "nsynth-train.tfrecord-00001", [])
    audio = AudioData(source="tfrecord", files=[path, empty])
    try:
        check_target_notes(audio)
    except NsynthDataError as error:
        first_line = str(error).splitlines()[0]
        assert first_line.startswith(f"{path}: record 3, key 'pitch' holds float_list"), first_line
        assert "(split train of audio.files: 1 bad record(s), 1 empty or damaged file(s); " in first_line
        assert first_line.endswith("audio.skip_bad_records: true leaves them out)")
    else:
        raise AssertionError("a bad record was counted")
    manifest = check_target_notes(dataclasses.replace(audio, skip_bad_records=True))
    assert manifest["notes"] == 4 and manifest["records"] == 5 and manifest["skipped_count"] == 2
    assert [entry[:2] for entry in manifest["skipped"]] == [[path, 3], [empty, None]]
    assert "holds float_list" in manifest["skipped"][0][2] and "empty file" in manifest["skipped"][1][2]
    # The pipeline leaves out what the manifest lists: 4 notes, none of them the bad one.
    pitches = sorted(int(e["pitch"]) for e in target_examples(dataclasses.replace(audio, skip_bad_records=True)))
    assert pitches == [40 - 24, 41 - 24, 42 - 24, 44 - 24]


def test_too_few_notes_name_the_filter_as_it_is_set(tmp_path):
    # Two notes, one of them electronic: the paper's filter keeps 1, no filter keeps both.
    path = write_records(
        tmp_path / "nsynth-train.tfrecord", [magenta_example(0, 0, 1, 40, 50), magenta_example(3, 1, 2, 60, 50)]
    )
    audio = AudioData(source="tfrecord", files=[path])
    assert check_target_notes(audio)["notes"] == 1
    assert check_target_notes(dataclasses.replace(audio, paper_filter=False))["notes"] == 2
    assert filter_description(audio).endswith("(audio.paper_filter on)")
    assert filter_description(dataclasses.replace(audio, paper_filter=False)).endswith("(audio.paper_filter off)")


def test_the_faces_drawn_are_a_seeded_sample_and_the_manifest_names_them(tmp_path):
    """max_faces draws uniformly over the tree (not the first folders); the manifest lists what was drawn."""
    root = uneven_tree(tmp_path / "faces", [12] + [1] * 12)
    faces = FaceData(source="vggface2_dir", path=str(root), max_faces=8)
    drawn = manifest(face_source(faces).sample(faces.max_faces, 4))
    index = index_identity_folders(root)
    assert drawn["paths"] == index.sample(8, 4).paths and drawn["drawn"] == 8 and drawn["of"] == 24
    assert drawn["identities"] == len({path.split("/")[-2] for path in drawn["paths"]}) > 1
    source = face_source(faces)
    images = np.concatenate([b.numpy() for b in face_batches(source.sample(8, 4), 16, batch_size=3)])
    by_path = {p: i for i, p in enumerate(index.paths)}
    everything = np.concatenate([b.numpy() for b in face_batches(source.sample(None), 16)])
    np.testing.assert_array_equal(images, everything[[by_path[p] for p in drawn["paths"]]])
    balanced = manifest(face_source(FaceData(source="vggface2_dir", path=str(root))).sample(13, 0, True))
    assert balanced["identities"] == 13


def test_precomputed_source_embeddings_must_be_unit_rows_of_512(tmp_path):
    rows = np.random.default_rng(1).normal(size=(5, 512))
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    check_face_embeddings(rows, "ok.npy")
    with pytest.raises(EmbeddingFileError, match=r"narrow.npy: embeddings of width 128, expected 512"):
        check_face_embeddings(rows[:, :128], "narrow.npy")
    rows[2] *= 0.5
    with pytest.raises(EmbeddingFileError, match=r"scaled.npy: row 2: norm 0.5, expected unit-norm rows .*1 of 5"):
        check_face_embeddings(rows, "scaled.npy")


def test_a_corrupt_jpeg_in_a_large_tree_is_skipped_and_counted_when_asked(tmp_path):
    """faces.validation: full catches corrupt entropy data at any tree size; skip_bad_files counts it in the manifest."""
    root = uneven_tree(tmp_path / "faces", [4, 4, 4])
    source = save(tmp_path / "big.jpg", noise(64, 64), quality=90)  # enough entropy data to corrupt
    bad = corrupt_entropy_copy(source, root / "id01" / "zzz.jpg")
    strict = FaceData(source="vggface2_dir", path=str(root), validation="full")
    with pytest.raises(ImageFileError, match=f"{bad}: Corrupt JPEG data"):
        face_source(strict)
    lenient = FaceData(source="vggface2_dir", path=str(root), validation="full", skip_bad_files=True, max_faces=20)
    assert len(face_source(lenient).sample(20, 0)) == 12
    drawn = manifest(face_source(lenient).sample(20, 0))
    assert drawn["drawn"] == 12 and bad not in drawn["paths"]
    assert [path for path, _ in drawn["skipped"]] == [bad] and "Corrupt JPEG data" in drawn["skipped"][0][1]


def test_magenta_named_files_are_taken_by_split(tmp_path):
    for name in (
        "nsynth-train.tfrecord-00000-of-00002",
        "nsynth-train.tfrecord-00001-of-00002",
        "nsynth-valid.tfrecord",
    ):
        (tmp_path / name).write_bytes(b"")
    train = split_files([str(tmp_path)], "train")
    assert [p.split("/")[-1][-14:] for p in train] == ["00000-of-00002", "00001-of-00002"]
    assert split_files([str(tmp_path / "nsynth-*")], "valid") == [str(tmp_path / "nsynth-valid.tfrecord")]
    with pytest.raises(
        NsynthDataError, match=r"no nsynth-test.tfrecord\* among 3 file\(s\) \(splits found: \['train', 'valid'\]\)"
    ):
        split_files([str(tmp_path)], "test")
    (tmp_path / "mine.tfrecord").write_bytes(b"")
    assert split_files([str(tmp_path / "mine.tfrecord")], "test") == [str(tmp_path / "mine.tfrecord")]  # no split names


def test_skip_bad_records_is_for_raw_records_only():
    config = {"task": "face2music", "face_embedder": {"kind": "eigenfaces"}, "audio": {"skip_bad_records": True}}
    with pytest.raises(ConfigError, match=r"audio.skip_bad_records: only used with audio.source 'tfrecord'"):
        parse(Face2MusicConfig, config)
