"""Every class of bad input, through the real CLIs in fresh processes: exit 2, the culprit named, no traceback,
no partial file.

One case per class of the fault list the project keeps (docs/runs.md, "Errors"): a malformed config, values no
stage could use, unusable output paths, weights files that are not weights, damaged data files (a bad
record anywhere in a TFRecord, not only the first), corrupt images, faces too small to embed, unusable model
and run directories, and `data describe` on each kind of damaged data (as strict as train). Each case writes
its own real files; the assertions are the same for all: the process exits 2, the first line of ours on
stderr names the file or the key (for describe, its JSON report does), there is no Python traceback, and
nothing is left half-written (no atomic-write temporary, no checkpoint, no WAV).
"""

import inspect
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import yaml
from PIL import Image
from skimage.data import lfw_subset

from tests.conftest import ROOT, subprocess_env
from tests.support.image_files import corrupt_entropy_copy
from tests.support.nsynth_records import magenta_example, write_records
from tfxmodal.audio.wav import write_wav
from tfxmodal.export.face2music import export_face2music
from tfxmodal.models import EigenfaceEmbedder, WaveGANGenerator

pytestmark = pytest.mark.slow  # one Python process per case


SMALL_RUN = {"batch_size": 4, "steps": 4, "checkpoint_every": 2}


def face2music_config(tmp, **sections):
    config = {"task": "face2music", "face_embedder": {"kind": "eigenfaces", "num_components": 4}, "train": SMALL_RUN}
    config.update(sections)
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def train(config, out):
    return ["tfxmodal.train", "--config", config, "--out", str(out)]


def face_tree(root, corrupt=None):
    rng = np.random.default_rng(0)
    for person in ("alice", "bob"):
        (root / person).mkdir(parents=True)
        for index in range(6):
            image = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
            Image.fromarray(image).save(root / person / f"{index}.jpg", quality=90)
    if corrupt:
        corrupt_entropy_copy(root / "bob" / "0.jpg", root / "bob" / corrupt)
    return root


def case_config_not_utf8(tmp):
    config = tmp / "latin1.yaml"
    config.write_bytes("task: face2music\n# caf\xe9\n".encode("latin-1"))
    return train(str(config), tmp / "run"), str(config)


def case_config_not_yaml(tmp):
    config = tmp / "broken.yaml"
    config.write_text("task: face2music\ntrain: [1, 2\n")
    return train(str(config), tmp / "run"), str(config)


def case_config_is_a_directory(tmp):
    folder = tmp / "configs"
    folder.mkdir()
    return train(str(folder), tmp / "run"), f"{folder}: a directory; expected a YAML config file"


def case_value_out_of_range(tmp):
    return train(face2music_config(tmp, train={**SMALL_RUN, "beta_1": 5}), tmp / "run"), "train.beta_1"


def case_unknown_key(tmp):
    return train(face2music_config(tmp, train={**SMALL_RUN, "bach_size": 4}), tmp / "run"), "train.bach_size"


def case_out_is_a_file(tmp):
    taken = tmp / "taken"
    taken.write_text("a file")
    return train(face2music_config(tmp), taken), str(taken)


def case_export_dir_is_a_file(tmp):
    taken = tmp / "taken"
    taken.write_text("a file")
    return train(face2music_config(tmp, export={"dir": str(taken)}), tmp / "run"), str(taken)


def case_face_weights_not_hdf5(tmp):
    weights = tmp / "rcmalli_vggface_tf_notop_resnet50.h5"
    weights.write_text("not weights")
    config = face2music_config(tmp, face_embedder={"kind": "vggface2_resnet50", "weights": str(weights)})
    return train(config, tmp / "run"), str(weights)


def case_truncated_tfrecord(tmp):
    records = tmp / "nsynth-train.tfrecord"
    write_records(records, [magenta_example(index, 0, 1, 40 + index, 50) for index in range(6)])
    with open(records, "r+b") as handle:
        handle.truncate(os.path.getsize(records) - 1000)
    config = face2music_config(tmp, audio={"source": "tfrecord", "files": [str(records)]})
    return train(config, tmp / "run"), str(records)


def case_empty_tfrecord(tmp):
    records = write_records(tmp / "nsynth-train.tfrecord", [])
    config = face2music_config(tmp, audio={"source": "tfrecord", "files": [records], "paper_filter": False})
    return train(config, tmp / "run"), f"{records}: empty file"  # not "0 notes after filtering"


def case_too_few_notes_with_the_filter_on(tmp):
    # One acoustic note and five electronic ones: the paper's filter keeps one, and the message says it was on.
    notes = [magenta_example(0, 0, 1, 40, 50)] + [magenta_example(3, 1, 2, 41 + i, 50) for i in range(5)]
    records = write_records(tmp / "nsynth-train.tfrecord", notes)
    config = face2music_config(tmp, audio={"source": "tfrecord", "files": [records]})
    kept = "1 note(s) kept of 6 records, keeping acoustic notes of pitch 24-84 (audio.paper_filter on)"
    return train(config, tmp / "run"), kept


def records_with_a_later_bad_one(tmp, bad):
    """Two good notes, then `bad` (the first record, which the up-front check reads, is fine)."""
    notes = [magenta_example(0, 0, 1, 40, 50), magenta_example(8, 0, 7, 60, 75), bad]
    return write_records(tmp / "nsynth-train.tfrecord", notes)


def case_later_record_with_100_samples(tmp):
    records = records_with_a_later_bad_one(tmp, magenta_example(3, 0, 2, 50, 50, audio=np.zeros(100, np.float32)))
    config = face2music_config(tmp, audio={"source": "tfrecord", "files": [records]})
    return train(config, tmp / "run"), f"{records}: record 2, key 'audio' has 100 values"


def case_later_record_with_a_float_pitch(tmp):
    float_pitch = {"pitch": tf.train.Feature(float_list=tf.train.FloatList(value=[50.0]))}
    records = records_with_a_later_bad_one(tmp, magenta_example(3, 0, 2, 50, 50, override=float_pitch))
    config = face2music_config(tmp, audio={"source": "tfrecord", "files": [records]})
    return train(config, tmp / "run"), f"{records}: record 2, key 'pitch' holds float_list"


def describe_records(records):
    return ["tfxmodal.data", "describe", "nsynth-tfrecord", str(records)]


def case_describe_a_later_bad_record(tmp):
    records = records_with_a_later_bad_one(tmp, magenta_example(3, 0, 2, 50, 50, audio=np.zeros(100, np.float32)))
    return describe_records(records), f"{records}: record 2, key 'audio' has 100 values"


def case_describe_a_truncated_tfrecord(tmp):
    records = write_records(tmp / "nsynth-train.tfrecord", [magenta_example(0, 0, 1, 40 + i, 50) for i in range(3)])
    with open(records, "r+b") as handle:
        handle.truncate(os.path.getsize(records) - 1000)
    return describe_records(records), f"{records}: truncated or corrupt TFRecord data after record 1"


def case_describe_an_empty_tfrecord(tmp):
    records = write_records(tmp / "nsynth-train.tfrecord", [])
    return describe_records(records), f"{records}: empty file"


def sub_urmp_with_a_10_sample_chunk(tmp):
    """A Sub-URMP copy whose train chunk holds 10 samples (0.6 ms); the test split is fine."""
    root = tmp / "Sub-URMP"
    for split, samples in (("train", 10), ("test", 8000)):
        (root / "img" / split / "violin").mkdir(parents=True)
        (root / "chunk" / split / "violin").mkdir(parents=True)
        Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(root / "img" / split / "violin" / "violin00_1.jpg")
        write_wav(str(root / "chunk" / split / "violin" / "violin00_1.wav"), np.zeros(samples, np.float32), 16000)
    return root, str(root / "chunk" / "train" / "violin" / "violin00_1.wav")


def case_describe_a_sub_urmp_chunk_of_10_samples(tmp):
    root, chunk = sub_urmp_with_a_10_sample_chunk(tmp)
    return ["tfxmodal.data", "describe", "sub_urmp", str(root)], f"{chunk}: 10 samples at 16000 Hz"


def case_car_gan_on_a_sub_urmp_chunk_of_10_samples(tmp):
    root, chunk = sub_urmp_with_a_10_sample_chunk(tmp)
    config = tmp / "car_gan.yaml"
    config.write_text(yaml.safe_dump({"task": "car_gan", "data": {"source": "sub_urmp", "root": str(root)}}))
    return train(str(config), tmp / "run"), f"{chunk}: 10 samples at 16000 Hz"


def case_embeddings_with_eigenfaces(tmp):
    path = tmp / "embeddings.npy"
    np.save(path, np.eye(4, 512, dtype=np.float32))
    config = face2music_config(tmp, faces={"source": "embeddings", "path": str(path)})
    return train(config, tmp / "run"), "face_embedder.kind: eigenfaces are fitted on face images"


def case_face_folder_without_images(tmp):
    faces = tmp / "faces"
    (faces / "alice").mkdir(parents=True)
    (faces / "alice" / "notes.txt").write_text("not a face")
    config = face2music_config(tmp, faces={"source": "image_folder", "path": str(faces)})
    return train(config, tmp / "run"), str(faces)


def case_corrupt_jpeg_in_a_face_folder(tmp):
    faces = face_tree(tmp / "faces", corrupt="5.jpg")
    config = face2music_config(tmp, faces={"source": "image_folder", "path": str(faces)})
    return train(config, tmp / "run"), str(faces / "bob" / "5.jpg")


def case_vgg_face2_not_prepared(tmp):
    data_dir = tmp / "tfds"
    data_dir.mkdir()
    config = face2music_config(tmp, faces={"source": "vgg_face2_tfds", "data_dir": str(data_dir)})
    return train(config, tmp / "run"), "vgg_face2 is not prepared there"


def case_translate_without_a_model(tmp):
    faces = face_tree(tmp / "faces")
    missing = tmp / "no_export"
    return ["tfxmodal.translate", "--model", str(missing), str(faces / "alice" / "0.jpg"), "-o", str(tmp / "out")], str(
        missing
    )


def translate(model, image, out):
    return ["tfxmodal.translate", "--model", str(model), str(image), "-o", str(out)]


def a_face(tmp, size=(50, 40)):
    path = tmp / f"face_{size[0]}x{size[1]}.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (*size, 3), dtype=np.uint8)).save(path)
    return path


def case_translate_a_base_whose_only_version_is_empty(tmp):
    base = tmp / "export"
    (base / "1").mkdir(parents=True)  # an export that never finished
    return translate(base, a_face(tmp), tmp / "out"), str(base)


def case_translate_a_corrupt_saved_model(tmp, model):
    damaged = tmp / "model"
    shutil.copytree(model, damaged)
    pb = damaged / "saved_model.pb"
    pb.write_bytes(pb.read_bytes()[:300])
    return translate(damaged, a_face(tmp), tmp / "out"), str(damaged)


def case_translate_to_a_file(tmp, model):
    taken = tmp / "taken"
    taken.write_text("a file")
    return translate(model, a_face(tmp), taken), str(taken)


def case_translate_a_face_below_the_embedders_minimum(tmp, model):
    return translate(model, a_face(tmp, (1, 1)), tmp / "out"), str(tmp / "face_1x1.png")


def case_evaluate_a_directory_that_is_no_run(tmp):
    (tmp / "not_a_run").mkdir()
    return ["tfxmodal.evaluate", "--run", str(tmp / "not_a_run"), "--out", str(tmp / "eval")], str(tmp / "not_a_run")


def case_sub_urmp_with_an_unpaired_image(tmp):
    root = tmp / "Sub-URMP"
    (root / "img" / "train" / "violin").mkdir(parents=True)
    (root / "chunk" / "train" / "violin").mkdir(parents=True)
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(root / "img" / "train" / "violin" / "violin00_1.jpg")
    # describe's answer is its JSON report on stdout ("ok": false, the problems listed), and exit 2.
    return ["tfxmodal.data", "describe", "sub_urmp", str(root)], str(
        root / "img" / "train" / "violin" / "violin00_1.jpg"
    )


def case_car_gan_data_root_missing(tmp):
    config = tmp / "car_gan.yaml"
    missing = tmp / "Sub-URMP"
    config.write_text(yaml.safe_dump({"task": "car_gan", "data": {"source": "sub_urmp", "root": str(missing)}}))
    return train(str(config), tmp / "run"), "data.root"


CASES = {name[len("case_") :]: function for name, function in sorted(globals().items()) if name.startswith("case_")}


def everything_under(tmp):
    return {os.path.join(folder, name) for folder, folders, files in os.walk(tmp) for name in files + folders}


def leftovers(tmp, inputs=frozenset()):
    """Atomic-write temporaries, checkpoints and WAVs (translations) under `tmp` that are not among `inputs`."""
    found = []
    for path in sorted(everything_under(tmp) - set(inputs)):
        name = os.path.basename(path)
        if (name.startswith(".") and name.endswith(".tmp")) or name.startswith("ckpt-") or name.endswith(".wav"):
            found.append(path)
    return found


@pytest.fixture(scope="module")
def face2music_model(tmp_path_factory):
    """A real face2music SavedModel (a version directory): small and untrained, which translate does not mind."""
    faces = (lfw_subset()[:40, ..., None].repeat(3, -1) * 255).astype("uint8")
    embedder = EigenfaceEmbedder(num_components=8)
    embedder.build()
    embedder.fit_faces(faces)
    generator = WaveGANGenerator(2)
    generator.build((None, 512))
    return export_face2music(embedder, generator, str(tmp_path_factory.mktemp("face2music") / "export"))


def run_cli(argv):
    return subprocess.run(
        [sys.executable, "-m", *argv], cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_exits_2_naming_the_culprit_without_a_traceback_or_a_partial_file(name, tmp_path, request):
    case = CASES[name]
    if "model" in inspect.signature(case).parameters:
        argv, culprit = case(tmp_path, request.getfixturevalue("face2music_model"))
    else:
        argv, culprit = case(tmp_path)
    inputs = everything_under(tmp_path)
    result = run_cli(argv)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    if argv[1] == "describe":
        report = json.loads(result.stdout)
        assert report["ok"] is False and any(culprit in problem for problem in report["problems"]), report
    else:
        prefixes = ("input error:", "config error:", "evaluate:", "translate:")
        ours = [line for line in result.stderr.splitlines() if line.startswith(prefixes)]
        assert ours and culprit in ours[0], result.stderr[-3000:]
    assert leftovers(tmp_path, inputs) == []


def test_translate_passes_over_an_empty_version_and_says_so(tmp_path, face2music_model):
    base = tmp_path / "export"
    shutil.copytree(face2music_model, base / "1")
    (base / "2").mkdir()  # the highest version, empty: an export that never finished
    result = run_cli(translate(base, a_face(tmp_path), tmp_path / "out"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"translate: {base / '2'}: no saved_model.pb (empty or unfinished); using {base / '1'}" in result.stderr
    assert os.listdir(tmp_path / "out") == ["face_50x40_pitch60.wav"]


@pytest.mark.parametrize("name", ["config_is_a_directory", "config_not_utf8", "config_not_yaml"])
def test_a_config_file_error_is_one_line(name, tmp_path):
    """The README's promise: one line on stderr (PyYAML's own message spans four)."""
    argv, culprit = CASES[name](tmp_path)
    result = run_cli(argv)
    lines = result.stderr.splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("config error: ") and culprit in lines[0]


def test_skip_bad_records_trains_on_the_rest_and_lists_what_it_left_out(tmp_path):
    float_pitch = {"pitch": tf.train.Feature(float_list=tf.train.FloatList(value=[50.0]))}
    notes = [magenta_example(family, 0, family, 40 + 3 * index, 50) for index, family in enumerate([0, 0, 3, 3, 8, 8])]
    notes.insert(2, magenta_example(3, 0, 2, 50, 50, override=float_pitch))
    notes.append(magenta_example(3, 0, 2, 51, 50, audio=np.zeros(100, np.float32)))  # the last record
    records = write_records(tmp_path / "nsynth-train.tfrecord", notes)
    valid = write_records(tmp_path / "nsynth-valid.tfrecord", [magenta_example(f, 0, f, 60, 50) for f in (0, 3, 8)])
    config = tmp_path / "psi.yaml"
    audio = {"source": "tfrecord", "files": [records, valid], "skip_bad_records": True}
    spec = {"steps": 2, "batch_size": 4, "width": 2}
    config.write_text(
        yaml.safe_dump({"task": "audio_embedder", "audio": audio, "audio_embedder": spec, "evaluation_examples": 3})
    )
    result = run_cli(train(str(config), tmp_path / "run"))
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((tmp_path / "run" / "audio_manifest.json").read_text())
    assert manifest["records"] == 8 and manifest["notes"] == 6 and manifest["skipped_count"] == 2
    assert [entry[:2] for entry in manifest["skipped"]] == [[records, 2], [records, 7]]
    assert "key 'pitch' holds float_list" in manifest["skipped"][0][2]
    assert "key 'audio' has 100 values" in manifest["skipped"][1][2]
