"""Image files for every image loader: listing, validation, decoding, resizing.

Two halves, because an error raised inside a `tf.data` graph does not say
which file it came from:

* **Python-side validation while indexing** (`check_image`,
  `check_images`) opens each file with Pillow and raises `ImageFileError`
  naming the file and what was expected. Two depths:

  - ``"header"``: Pillow parses the header and runs `verify()` (for PNG
    this walks every chunk and checks its CRC), and a JPEG must end with its
    end-of-image marker (``FF D9``) within its last 4 KiB, which catches
    truncated downloads. About 0.1 ms a file: cheap enough for the 3.3 M
    images of VGGFace2.
  - ``"full"``: additionally decodes every pixel. Catches corrupt entropy
    data inside an intact-looking JPEG, at ~1 ms a file.
  - ``"auto"`` (the default everywhere): ``"full"`` for at most
    `FULL_DECODE_LIMIT` (10 000) files, ``"header"`` above that.

  Files are checked on a thread pool (Pillow releases the GIL while
  decoding).

* **In-graph decoding for speed** (`decode_image`, `read_image`) with
  `tf.io.decode_image`, always to 3-channel uint8 RGB. Documented
  conversions: grey (and grey + alpha) is replicated to RGB; an alpha
  channel is dropped (not composited over a background); palette PNGs are
  expanded; 16-bit PNGs are scaled to 8 bits; CMYK JPEGs are converted by
  libjpeg.

Accepted files: extensions `.jpg`, `.jpeg`, `.png`, `.bmp` (any case) whose
content Pillow identifies as JPEG, PNG or BMP (a `.jpg` holding PNG bytes is
fine: the decoder sniffs the content). Other files in a folder are ignored
and counted; hidden files (names starting with ``.``) are ignored.
"""

import concurrent.futures
import dataclasses
import os
import sys
import tempfile
import threading

import tensorflow as tf
from PIL import Image

from tfxmodal.errors import DatasetLayoutError, ImageFileError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
SUPPORTED_FORMATS = ("JPEG", "PNG", "BMP")
FULL_DECODE_LIMIT = 10_000
VALIDATION_MODES = ("auto", "header", "full")
# Decoded examples are cached in memory when the shard's estimated size is
# below this (see `fits_in_cache`).
CACHE_BUDGET_BYTES = 1 << 30
_JPEG_TAIL_BYTES = 4096


@dataclasses.dataclass(frozen=True)
class ImageInfo:
    """What validation learnt about one image file.

    Attributes:
        path: the file.
        format: Pillow's format name, one of `SUPPORTED_FORMATS`.
        mode: Pillow's pixel mode (``"RGB"``, ``"L"``, ``"RGBA"``, ``"P"``,
            ``"CMYK"``, ``"I;16"``, ...): all decode to RGB, see the module
            docstring.
        width, height: pixels.
    """

    path: str
    format: str
    mode: str
    width: int
    height: int


def is_image_name(name):
    """Whether a file name has an accepted image extension (and is not hidden)."""
    return not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)


def check_image(path, full_decode=False):
    """Validates one image file in Python; returns its `ImageInfo`.

    Args:
        path: file path.
        full_decode: decode every pixel (``"full"`` validation) instead of
            the header checks only (``"header"``); see the module docstring.

    Raises:
        ImageFileError: missing or empty file, not an image, an unsupported
            format, zero-sized, truncated or corrupt; the message names the
            file and what was expected.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ImageFileError(f"{path}: no such image file")
    size = os.path.getsize(path)
    if size == 0:
        raise ImageFileError(f"{path}: empty file, expected a JPEG, PNG or BMP image")
    try:
        with Image.open(path) as image:
            info = ImageInfo(path, image.format, image.mode, image.width, image.height)
            if info.format not in SUPPORTED_FORMATS:
                raise ImageFileError(f"{path}: {info.format} image; expected JPEG, PNG or BMP (convert it first)")
            image.verify()
        if full_decode:
            # verify() leaves the image unusable, so decode from a fresh open.
            with Image.open(path) as image:
                image.load()
    except ImageFileError:
        raise
    except Exception as error:  # Pillow raises many types for bad files
        raise ImageFileError(
            f"{path}: not a readable JPEG, PNG or BMP image ({type(error).__name__}: {error})"
        ) from None
    if info.width == 0 or info.height == 0:
        raise ImageFileError(f"{path}: image is {info.width}x{info.height} pixels")
    if full_decode and info.format == "JPEG":
        warnings = jpeg_decoder_warnings(path)
        if "Corrupt JPEG data" in warnings:
            message = " ".join(line for line in warnings.splitlines() if "Corrupt JPEG data" in line)
            raise ImageFileError(
                f"{path}: {message.strip()}; the picture would decode to noise (re-encode or remove it)"
            )
    # Checked after a full decode too: Pillow decodes truncated JPEGs without
    # complaint when a library has set ImageFile.LOAD_TRUNCATED_IMAGES.
    if info.format == "JPEG":
        with open(path, "rb") as handle:
            handle.seek(max(0, size - _JPEG_TAIL_BYTES))
            if b"\xff\xd9" not in handle.read():
                raise ImageFileError(
                    f"{path}: truncated JPEG (no end-of-image marker); re-download or re-encode the file"
                )
    return info


_STDERR_LOCK = threading.Lock()


def jpeg_decoder_warnings(path):
    """What libjpeg prints while TensorFlow decodes the JPEG at `path` (e.g. "Corrupt JPEG data: ...").

    Pillow decodes a JPEG with corrupt entropy-coded data without a word and
    TensorFlow only prints libjpeg's warning to the process's stderr, so the
    file descriptor is captured around one decode (one decode at a time).
    """
    with open(path, "rb") as handle:
        data = handle.read()
    with _STDERR_LOCK, tempfile.TemporaryFile() as capture:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(capture.fileno(), 2)
        try:
            tf.io.decode_jpeg(data)
        except tf.errors.InvalidArgumentError as error:
            return f"Corrupt JPEG data: {error.message}"
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        capture.seek(0)
        return capture.read().decode("utf-8", errors="replace")


def resolve_validation(validate, num_files):
    """``"auto"`` → ``"full"`` up to `FULL_DECODE_LIMIT` files, else ``"header"``."""
    if validate not in VALIDATION_MODES:
        raise ValueError(f"validate={validate!r}: expected one of {VALIDATION_MODES}")
    if validate == "auto":
        return "full" if num_files <= FULL_DECODE_LIMIT else "header"
    return validate


def check_images(paths, validate="auto", skip_bad_files=False, num_threads=None):
    """Validates many image files on a thread pool.

    Args:
        paths: file paths.
        validate: ``"auto"``, ``"header"`` or ``"full"`` (module docstring).
        skip_bad_files: report bad files instead of raising.
        num_threads: worker threads (default: the CPU count).

    Returns:
        `(good, skipped)`: the paths that passed, in input order, and a list
        of `(path, reason)` for those that did not (empty unless
        `skip_bad_files`).

    Raises:
        ImageFileError: the first bad file in input order, unless
            `skip_bad_files`.
    """
    paths = [os.fspath(path) for path in paths]
    full = resolve_validation(validate, len(paths)) == "full"

    def check(path):
        try:
            check_image(path, full_decode=full)
            return None
        except ImageFileError as error:
            return str(error)

    workers = num_threads or os.cpu_count() or 1
    if len(paths) < 64 or workers == 1:
        problems = [check(path) for path in paths]
    else:
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            problems = list(pool.map(check, paths))
    good, skipped = [], []
    for path, problem in zip(paths, problems):
        if problem is None:
            good.append(path)
        elif skip_bad_files:
            skipped.append((path, problem))
        else:
            raise ImageFileError(problem)
    return good, skipped


def list_images(directory, recursive=True):
    """Image files under `directory`, sorted by path.

    Returns:
        `(paths, ignored)`: accepted image paths (module docstring) and the
        number of other, non-hidden files seen.

    Raises:
        DatasetLayoutError: `directory` does not exist.
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise DatasetLayoutError(f"{directory}: no such directory")
    paths, ignored = [], 0
    if recursive:
        walker = os.walk(directory)
    else:
        names = sorted(os.listdir(directory))
        walker = [(directory, [], [n for n in names if os.path.isfile(os.path.join(directory, n))])]
    for folder, subfolders, names in walker:
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        for name in names:
            if is_image_name(name):
                paths.append(os.path.join(folder, name))
            elif not name.startswith("."):
                ignored += 1
    return sorted(paths), ignored


def decode_image(contents):
    """Decodes JPEG/PNG/BMP bytes in-graph to RGB.

    Args:
        contents: scalar string tensor, the encoded file.

    Returns:
        uint8 tensor `(height, width, 3)`; conversions as in the module
        docstring.
    """
    image = tf.io.decode_image(contents, channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return image


def read_image(path):
    """Reads and decodes one image file in-graph: uint8 `(height, width, 3)`."""
    return decode_image(tf.io.read_file(path))


def resize_image(image, size, crop=True):
    """Resizes an image to a `size` × `size` square (bilinear, antialiased).

    Args:
        image: `(height, width, channels)` tensor, any real dtype; values
            keep their range.
        size: output side in pixels.
        crop: keep the aspect ratio (scale the shorter side to `size`, then
            take the central square); otherwise stretch to the square.

    Returns:
        float32 tensor `(size, size, channels)`. Antialiased bilinear
        weights are non-negative and sum to one, so values stay within the
        input's range (up to float rounding).
    """
    image = tf.cast(image, tf.float32)
    if crop:
        shape = tf.shape(image)
        height = tf.cast(shape[0], tf.float32)
        width = tf.cast(shape[1], tf.float32)
        scale = float(size) / tf.minimum(height, width)
        target = tf.cast(tf.math.ceil(tf.stack([height * scale, width * scale]) - 1e-3), tf.int32)
        target = tf.maximum(target, size)
        image = tf.image.resize(image, target, method="bilinear", antialias=True)
        top = (target[0] - size) // 2
        left = (target[1] - size) // 2
        image = image[top : top + size, left : left + size]
    else:
        image = tf.image.resize(image, [size, size], method="bilinear", antialias=True)
    return tf.ensure_shape(image, [size, size, None])


def fits_in_cache(num_examples, bytes_per_example, input_context=None, budget=CACHE_BUDGET_BYTES):
    """Whether one input pipeline's decoded examples fit the memory budget."""
    pipelines = 1 if input_context is None else max(1, input_context.num_input_pipelines)
    return num_examples * bytes_per_example / pipelines <= budget
