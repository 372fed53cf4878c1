"""images: validation that names the file, documented conversions, resizing, helpers.

Every file here is a real JPEG/PNG/BMP written with Pillow.
"""

import os
import pathlib

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tests.support.image_files import corrupt_entropy_copy, noise, save, truncated_copy
from tfxmodal.data import images, pipeline
from tfxmodal.data.images import check_image
from tfxmodal.errors import DatasetLayoutError, ImageFileError


def test_documented_conversions_decode_to_rgb_uint8(tmp_path):
    rgba = noise(channels=4)
    grey = noise(channels=1, seed=1)
    rgb = noise(seed=2)
    paths = {
        "rgba": save(tmp_path / "rgba.png", rgba, "RGBA"),
        "grey": save(tmp_path / "grey.png", grey, "L"),
        "grey_jpeg": save(tmp_path / "grey.jpg", grey, "L", quality=95),
        "palette": str(tmp_path / "palette.png"),
        "bmp": save(tmp_path / "x.bmp", rgb),
        "png_named_jpg": save(tmp_path / "really_png.jpg", rgb, format="PNG"),
    }
    Image.fromarray(rgb).convert("P").save(paths["palette"])
    decoded = {}
    for name, path in paths.items():
        info = images.check_image(path, full_decode=True)
        assert (info.width, info.height) == (64, 48)
        out = images.read_image(tf.constant(path)).numpy()
        assert out.shape == (48, 64, 3) and out.dtype == np.uint8, name
        decoded[name] = out
    # Alpha is dropped (not composited); grey is replicated to the 3 channels.
    np.testing.assert_array_equal(decoded["rgba"], rgba[..., :3])
    np.testing.assert_array_equal(decoded["grey"], np.repeat(grey[..., None], 3, axis=-1))
    assert (decoded["grey_jpeg"][..., 0] == decoded["grey_jpeg"][..., 2]).all()
    np.testing.assert_array_equal(decoded["palette"], np.asarray(Image.open(paths["palette"]).convert("RGB")))
    np.testing.assert_array_equal(decoded["bmp"], rgb)
    np.testing.assert_array_equal(decoded["png_named_jpg"], rgb)
    assert images.check_image(paths["rgba"]).mode == "RGBA"
    assert images.check_image(paths["grey"]).mode == "L"


@pytest.mark.parametrize("full_decode", [False, True])
def test_bad_files_raise_errors_naming_the_file(tmp_path, full_decode):
    good_jpeg = save(tmp_path / "good.jpg", noise(256, 256), quality=90)
    good_png = save(tmp_path / "good.png", noise(64, 64))
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(np.random.default_rng(0).bytes(2000))
    gif = save(tmp_path / "anim.png", noise(8, 8, channels=1), "L", format="GIF")
    cases = {
        str(tmp_path / "missing.jpg"): "no such image file",
        str(empty): "empty file, expected a JPEG, PNG or BMP",
        str(garbage): "not a readable JPEG, PNG or BMP",
        truncated_copy(good_jpeg, tmp_path / "cut.jpg"): "truncated|Truncated|not a readable",
        truncated_copy(good_png, tmp_path / "cut.png"): "not a readable",
        gif: "GIF image; expected JPEG, PNG or BMP",
    }
    for path, message in cases.items():
        with pytest.raises(ImageFileError, match=message) as caught:
            images.check_image(path, full_decode=full_decode)
        assert path in str(caught.value)
    # The truncated JPEG passes Pillow's header checks: only our end-of-image
    # check (or a full decode) finds it, and TF's decoder would fail on it
    # with an error that does not name the file.
    with Image.open(str(tmp_path / "cut.jpg")) as image:
        image.verify()
    with pytest.raises(tf.errors.InvalidArgumentError):
        images.read_image(tf.constant(str(tmp_path / "cut.jpg")))


def test_check_images_raises_on_the_first_bad_file_or_skips_and_counts(tmp_path):
    paths = [save(tmp_path / f"{i}.png", noise(8, 8, seed=i)) for i in range(70)]
    bad = tmp_path / "39.png"
    bad.write_bytes(b"not a png at all")
    with pytest.raises(ImageFileError, match=r"39.png"):
        images.check_images(paths)
    good, skipped = images.check_images(paths, validate="header", skip_bad_files=True)
    assert len(good) == 69 and str(bad) not in good
    assert good == [p for p in paths if p != str(bad)]  # order kept (70 > 64: thread pool)
    assert [path for path, _ in skipped] == [str(bad)]
    assert "not a readable" in skipped[0][1]


def test_validation_modes():
    assert images.resolve_validation("auto", images.FULL_DECODE_LIMIT) == "full"
    assert images.resolve_validation("auto", images.FULL_DECODE_LIMIT + 1) == "header"
    assert images.resolve_validation("header", 1) == "header"
    with pytest.raises(ValueError, match="validate='fast'"):
        images.resolve_validation("fast", 1)


def test_list_images_sorts_recurses_and_counts_ignored_files(tmp_path):
    save(tmp_path / "b" / "2.JPG", noise(8, 8))
    save(tmp_path / "a.png", noise(8, 8))
    save(tmp_path / "b" / "c" / "1.jpeg", noise(8, 8))
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / ".DS_Store").write_text("x")
    save(tmp_path / ".hidden" / "x.png", noise(8, 8))
    paths, ignored = images.list_images(tmp_path)
    rel = [os.path.relpath(p, tmp_path) for p in paths]
    assert rel == ["a.png", os.path.join("b", "2.JPG"), os.path.join("b", "c", "1.jpeg")]
    assert ignored == 1
    flat, _ = images.list_images(tmp_path, recursive=False)
    assert [os.path.basename(p) for p in flat] == ["a.png"]
    with pytest.raises(DatasetLayoutError, match="nowhere: no such directory"):
        images.list_images(tmp_path / "nowhere")


def test_resize_crops_to_the_central_square_or_stretches():
    # 40 x 80: left quarter black, middle half grey, right quarter white.
    image = np.full((40, 80, 3), 128, np.uint8)
    image[:, :20] = 0
    image[:, 60:] = 255
    cropped = images.resize_image(image, 20, crop=True).numpy()
    assert cropped.shape == (20, 20, 3) and cropped.dtype == np.float32
    # Only the grey middle survives (the antialiasing kernel blends the
    # outermost columns with their cropped-away neighbours).
    np.testing.assert_allclose(cropped[:, 1:-1], 128.0, atol=1e-3)
    assert cropped[:, 0].min() > 100 and cropped[:, -1].max() < 160
    stretched = images.resize_image(image, 20, crop=False).numpy()
    assert stretched.shape == (20, 20, 3)
    assert stretched[:, 0].max() < 1.0 and stretched[:, -1].min() > 254.0
    assert stretched.min() >= 0.0 and stretched.max() <= 255.0 + 1e-3  # float rounding only
    tall = images.resize_image(np.zeros((81, 40, 1), np.float32), 17).numpy()
    assert tall.shape == (17, 17, 1)


def test_fits_in_cache_and_measure_throughput():
    assert images.fits_in_cache(1000, 1000)
    assert not images.fits_in_cache(2000, 1 << 20)
    context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=0)
    assert images.fits_in_cache(2000, 1 << 20, context, budget=1000 << 20)
    dataset = tf.data.Dataset.range(100).batch(8)
    result = pipeline.measure_throughput(dataset, num_batches=5, warmup_batches=2)
    assert result["batches"] == 5 and result["examples"] == 40
    assert result["examples_per_second"] > 0
    ended = pipeline.measure_throughput(dataset, num_batches=50, warmup_batches=2)
    assert ended["batches"] == 11 and ended["examples"] == 100 - 16


def test_a_jpeg_with_corrupt_entropy_data_is_invalid_when_fully_decoded(tmp_path):
    good = save(tmp_path / "good.jpg", noise(64, 64), quality=90)
    bad = corrupt_entropy_copy(good, tmp_path / "bad.jpg")
    assert pathlib.Path(bad).read_bytes()[-2:] == b"\xff\xd9"  # the end marker is still there
    assert Image.open(bad).size == (64, 64)  # Pillow opens and decodes it without a word
    check_image(good, full_decode=True)
    check_image(bad)  # the header checks cannot see it
    with pytest.raises(ImageFileError, match=f"{bad}: Corrupt JPEG data: .*decode to noise"):
        check_image(bad, full_decode=True)
