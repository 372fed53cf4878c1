"""urmp with `lms="image"`: the authors' layout of frames and colour-mapped spectrogram pictures, no WAVs.

The tree mirrors tuffr5/CAR-GAN's `sample_data/`: frames in
`img_256/<split>/<instrument>/<stem>.jpg` (PIL JPEGs), spectrograms in
`spectram/<split>/<instrument>/<stem>.png` written by matplotlib through
the jet colour map (RGBA PNGs, as `imsave` writes them). Each instrument's
spectrogram has its bright band at its own height, so a decoded example
shows whether frame, spectrogram and label belong together.
"""

import functools
import hashlib
import json
import os
import shutil

import matplotlib.image
import numpy as np
import pytest
from PIL import Image

from tests.support.image_files import save
from tests.support.urmp_spectrograms import (
    BANDS,
    FRAMES,
    LABELS,
    LAYOUT,
    TREE,
    independent_lms,
    spectrogram,
    write_spectrogram,
    write_tree,
)
from tests.support.urmp_trees import collect
from tfxmodal.car_gan.config import CARGANConfig
from tfxmodal.car_gan.networks import NUM_CLASSES, build_networks, make_classifier
from tfxmodal.car_gan.run import CLASSIFIER_CACHE_KEYS, classifier_cache_key
from tfxmodal.config import parse
from tfxmodal.data.urmp import pipeline as urmp_pipeline
from tfxmodal.data.urmp.dataset import sub_urmp
from tfxmodal.data.urmp.layout import INSTRUMENTS, _stem
from tfxmodal.data.urmp.layout import describe as describe_urmp
from tfxmodal.data.urmp.layout import index as index_urmp
from tfxmodal.data.urmp.lms import bytes_per_example, lms_channels
from tfxmodal.errors import ConfigError, DatasetLayoutError, ImageFileError


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return write_tree(tmp_path_factory.mktemp("authors_layout"))


@pytest.fixture
def broken(tmp_path, tree):
    root = tmp_path / "broken"
    shutil.copytree(tree, root)
    return root


def test_the_test_pictures_are_like_theirs(tree):
    with Image.open(tree / "spectram" / "train" / "cello" / "cello00_100.png") as image:
        assert (image.format, image.mode, image.size) == ("PNG", "RGBA", (FRAMES, BANDS))
    assert lms_channels("image") == 3 and lms_channels("audio") == 1
    with pytest.raises(ValueError, match=r"lms='wav': expected one of \('audio', 'image'\)"):
        lms_channels("wav")


def test_index_pairs_frames_with_spectrograms_by_stem(tree):
    index = index_urmp(tree, "train", **LAYOUT)
    assert index.lms == "image" and index.labels == LABELS
    assert index.wav_paths == [] and index.graph_decodable == [] and index.skipped == []
    assert len(index.spectrogram_paths) == len(index.image_paths) == 6
    for image, picture in zip(index.image_paths, index.spectrogram_paths):
        assert _stem(image) == _stem(picture)
        assert image.split(os.sep)[-4:-1] == ["img_256", "train", image.split(os.sep)[-2]]
        assert picture.split(os.sep)[-4:] == ["spectram", "train", image.split(os.sep)[-2], _stem(image) + ".png"]
    assert index.counts["flute"] == 2 and index.counts["bassoon"] == 0


def test_examples_are_the_frame_and_the_decoded_spectrogram(tree):
    size = 32
    index = index_urmp(tree, "train", **LAYOUT)
    examples = collect(sub_urmp(tree, "train", image_size=size, **LAYOUT))
    assert len(examples) == 6
    for example, picture_path in zip(examples, index.spectrogram_paths):
        assert set(example) == {"image", "lms", "label"}
        assert example["lms"].shape == (size, size, 3) and example["lms"].dtype == np.float32
        assert example["lms"].min() >= -1.0 and example["lms"].max() <= 1.0
        instrument = INSTRUMENTS[example["label"]]
        colour, row = TREE[instrument]
        pixel = (example["image"].reshape(-1, 3).mean(0) + 1.0) * 127.5
        assert np.abs(pixel - colour).max() < 3.0  # this instrument's frame
        # TF's antialiased bilinear and PIL's bilinear both weigh by a widened triangle: within 2 grey levels.
        np.testing.assert_allclose(example["lms"], independent_lms(picture_path, size), atol=2.0 / 127.5)
        # jet's warm end (red high, blue low) sits on the band: this instrument's spectrogram.
        redness = example["lms"][..., 0] - example["lms"][..., 2]
        assert abs(int(np.argmax(redness.mean(axis=1))) - row * size / BANDS) <= 2


def test_a_picture_at_the_output_size_is_read_exactly_and_jpegs_are_spectrograms_too(broken):
    target = broken / "spectram" / "train" / "cello" / "cello00_100.png"
    rgb = (matplotlib.colormaps["jet"](spectrogram(40, 0)[:32, :32])[..., :3] * 255).round().astype(np.uint8)
    save(target, rgb)
    os.remove(broken / "spectram" / "train" / "flute" / "flute00_100.png")
    # 4:4:4: TF and PIL upsample subsampled chroma differently
    jpeg = save(broken / "spectram" / "train" / "flute" / "flute00_100.jpg", rgb, quality=90, subsampling=0)
    examples = collect(sub_urmp(broken, "train", image_size=32, **LAYOUT))
    np.testing.assert_allclose(examples[0]["lms"], rgb / 127.5 - 1.0, atol=1e-5)
    with Image.open(jpeg) as image:
        expected = np.asarray(image) / 127.5 - 1.0
    # TF decodes JPEGs with libjpeg's fast integer IDCT, PIL with the accurate one: a few levels apart.
    np.testing.assert_allclose(examples[2]["lms"], expected, atol=6.0 / 127.5)
    assert np.abs(examples[2]["lms"] - expected).mean() < 1.0 / 127.5


def expect_error(root, error, message, labels=LABELS, skipped=1):
    """`index` raises `error` matching `message`; with skip_bad_files, `skipped` things go."""
    with pytest.raises(error, match=message):
        index_urmp(root, "train", **LAYOUT)
    index = index_urmp(root, "train", skip_bad_files=True, **LAYOUT)
    assert len(index.skipped) == skipped, index.skipped
    assert index.labels == list(labels)
    assert [_stem(p) for p in index.image_paths] == [_stem(p) for p in index.spectrogram_paths]
    return index


def test_a_frame_without_its_spectrogram_and_a_spectrogram_without_its_frame(broken):
    os.remove(broken / "spectram" / "train" / "flute" / "flute00_600.png")
    index = expect_error(
        broken,
        DatasetLayoutError,
        r"flute00_600.jpg: unpaired image \(no spectram/train/flute/flute00_600.png or .jpg spectrogram\)",
        labels=[1, 1, 4, 12, 12],
    )
    assert index.skipped[0][0].endswith("flute00_600.jpg")
    write_spectrogram(broken / "spectram" / "train" / "flute" / "flute00_600.png", spectrogram(24, 1))
    write_spectrogram(broken / "spectram" / "train" / "violin" / "violin07_1.png", spectrogram(8, 2))
    expect_error(
        broken, DatasetLayoutError, r"violin07_1.png: unpaired spectrogram \(no img_256/train/violin/violin07_1.jpg\)"
    )


def test_a_spectrogram_that_is_no_image_names_the_file(broken):
    bad = broken / "spectram" / "train" / "violin" / "violin00_600.png"
    bad.write_text("not a picture")
    index = expect_error(
        broken, ImageFileError, r"violin00_600.png: not a readable JPEG, PNG or BMP image", [1, 1, 4, 4, 12]
    )
    assert index.skipped[0][0] == str(bad)  # the frame goes with it, unnamed: it is fine
    (broken / "spectram" / "train" / "violin" / "notes.txt").write_text("other files are ignored")
    assert describe_urmp(broken, **LAYOUT)["ignored_files"] == 1


def test_folders_without_spectrograms(broken):
    for path in (broken / "spectram" / "train" / "cello").iterdir():
        path.unlink()
    expect_error(
        broken,
        DatasetLayoutError,
        r"spectram/train/cello: no spectrogram pictures \(expected <stem>.png or .jpg for its 2 frames\)",
        labels=[4, 4, 12, 12],
        skipped=3,  # the folder and its two frames
    )
    shutil.rmtree(broken / "spectram" / "train")
    for skip in (False, True):  # a missing split folder is never skipped
        with pytest.raises(DatasetLayoutError, match=r"spectram/train: no such directory \(expected spectram/train/"):
            index_urmp(broken, "train", skip_bad_files=skip, **LAYOUT)
    with pytest.raises(DatasetLayoutError, match=r"img/test: no such directory \(expected img/test/<instrument>/\)"):
        index_urmp(broken, "test", lms="image")  # the frames' folder defaults to img/, as Sub-URMP's
    with pytest.raises(
        DatasetLayoutError, match=r"nowhere: no such directory \(expected img_256/ and spectram/ folders"
    ):
        index_urmp(broken / "nowhere", "test", **LAYOUT)


def test_describe_counts_spectrograms_and_their_formats(tree, broken):
    report = describe_urmp(tree, **LAYOUT)
    assert report["ok"] and report["lms"] == "image" and report["problems"] == []
    assert report["totals"] == {"pairs": 12, "images": 12, "spectrograms": 12}
    assert report["splits"]["test"]["per_instrument"]["violin"] == {
        "pairs": 2,
        "images": 2,
        "spectrograms": 2,
        "unpaired_images": 0,
        "unpaired_spectrograms": 0,
    }
    assert report["spectrogram_formats"] == {f"PNG {FRAMES}x{BANDS} RGBA": 12}
    assert "wav_formats" not in report
    (broken / "spectram" / "test" / "cello" / "cello01_600.png").write_bytes(b"")
    report = describe_urmp(broken, **LAYOUT)
    assert not report["ok"] and report["problems"] == [
        f"{broken}/spectram/test/cello/cello01_600.png: empty file, expected a JPEG, PNG or BMP image"
    ]
    audio = describe_urmp(tree)  # the same tree read for WAVs: the layout's folders are named
    assert f"{tree}/img/train: no such directory (expected img/train/<instrument>/)" in audio["problems"]


def test_the_pipeline_batches_three_channel_lms(tree):
    batches = urmp_pipeline.pipeline(
        "sub_urmp", "test", batch_size=4, training=False, image_size=16, root=str(tree), cache=False, **LAYOUT
    )
    (first, second) = list(batches)
    assert first["lms"].shape == (4, 16, 16, 3) and second["lms"].shape == (2, 16, 16, 3)
    assert bytes_per_example(16, lms="image") == 16 * 16 * 6 * 4 + 4


def test_the_config_option(tree, tmp_path):
    def config(**data):
        return parse(CARGANConfig, {"task": "car_gan", "data": {"source": "sub_urmp", "root": str(tree), **data}})

    assert config(**LAYOUT).data.lms == "image"
    assert parse(CARGANConfig, {"task": "car_gan"}).data.lms == "audio"
    with pytest.raises(
        ConfigError, match=r"data.lms: 'image' reads spectrogram pictures .* data.source is 'mini_urmp'"
    ):
        parse(CARGANConfig, {"task": "car_gan", "data": {"lms": "image"}})
    with pytest.raises(ConfigError, match=rf"data.lms_dir: {tree}/spectrograms is not a directory"):
        config(lms_dir="spectrograms", **LAYOUT)
    with pytest.raises(ConfigError, match=rf"data.image_dir: {tree}/img is not a directory"):
        config(lms="image")
    with pytest.raises(ConfigError, match=r"data.lms"):
        config(lms="png")


def test_the_networks_take_three_channels_and_audio_runs_stay_as_they_were(tree, tmp_path):
    def networks(**data):
        config = parse(
            CARGANConfig,
            {
                "task": "car_gan",
                "data": {"image_size": 32, **data},
                "model": {"generator_filters": 2, "discriminator_filters": 2, "stage2_sees_lms": True},
            },
        )
        return config, build_networks(config, make_classifier(config))

    _pictures, (cascade, discriminator) = networks(source="sub_urmp", root=str(tree), **LAYOUT)
    assert cascade.g1.weights[0].shape[-2] == 3 + NUM_CLASSES
    assert cascade.g2.weights[0].shape[-2] == 3 + 3 + NUM_CLASSES
    assert discriminator.weights[0].shape[-2] == 3 + 3
    audio, (plain, plain_d) = networks()
    assert plain.g1.weights[0].shape[-2] == 1 + NUM_CLASSES and plain.g2.weights[0].shape[-2] == 3 + 1 + NUM_CLASSES
    assert plain_d.weights[0].shape[-2] == 1 + 3
    # C's cache: a C trained on the frames paired with WAVs is not reused for those paired with
    # spectrograms, nor for another frames folder; the keys of configs without the options stay as they were.
    for name in ("img", "img_256", "spectram", "pictures"):
        (tmp_path / name).mkdir()

    def key(**data):
        return classifier_cache_key(
            parse(CARGANConfig, {"task": "car_gan", "data": {"source": "sub_urmp", "root": str(tmp_path), **data}})
        )

    wavs = key()
    assert wavs == key(lms_dir="pictures")  # unused without lms: image
    assert len({wavs, key(image_dir="img_256"), key(lms="image"), key(lms="image", lms_dir="pictures")}) == 4
    # The hash as it was before these options: version 1 over CLASSIFIER_CACHE_KEYS only.
    before = {"version": 1, **{k: functools.reduce(getattr, k.split("."), audio) for k in CLASSIFIER_CACHE_KEYS}}
    digest = hashlib.sha256(json.dumps(before, sort_keys=True, default=list).encode()).hexdigest()[:16]
    assert classifier_cache_key(audio) == digest
