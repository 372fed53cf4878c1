"""Sample grids of CAR-GAN: one row per example, columns LMS | I′ | I″ | ground truth (Fig. 4-5)."""

import numpy as np
from PIL import Image, ImageDraw

from tfxmodal.utils.files import atomic_path

COLUMN_TITLES = {"lms": "LMS", "stage1": "I'", "stage2": "I''", "image": "GT"}
GRID_PAD = 2


def _uint8(images):
    return np.clip(np.round((np.asarray(images, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def _lms_rgb(lms):
    """Normalised LMS `(n, S, S, 1)` (≈ [−1, 1]) → grey uint8 `(n, S, S, 3)`; a 3-channel spectrogram picture as it is."""
    pixels = _uint8(lms)
    return pixels if pixels.shape[-1] == 3 else np.repeat(pixels, 3, axis=-1)


def grid_columns(cascade, examples):
    """`{column: uint8 (n, S, S, 3)}` of the grid: LMS, I′, [I″], ground truth."""
    outputs = cascade(examples["lms"], examples["label"], training=False)
    columns = {"lms": _lms_rgb(examples["lms"]), "stage1": _uint8(outputs["stage1"])}
    if "stage2" in outputs:
        columns["stage2"] = _uint8(outputs["stage2"])
    columns["image"] = _uint8(examples["image"])
    return columns


def sample_grid(cascade, examples, header=False):
    """One uint8 RGB picture `(H, W, 3)`: a row per example, columns LMS | I′ | I″ | GT.

    Args:
        cascade: `CARGenerator` (run in inference mode).
        examples: `{"lms": (n, S, S, 1 or 3), "image": (n, S, S, 3), "label": (n,)}`.
        header: draw the column titles above the first row.
    """
    columns = grid_columns(cascade, examples)
    count, size = len(examples["label"]), examples["lms"].shape[1]
    cell = size + GRID_PAD
    top = 14 if header else 0
    picture = np.full((top + count * cell + GRID_PAD, len(columns) * cell + GRID_PAD, 3), 255, np.uint8)
    for col, images in enumerate(columns.values()):
        for row in range(count):
            y, x = top + GRID_PAD + row * cell, GRID_PAD + col * cell
            picture[y : y + size, x : x + size] = images[row]
    if header:
        image = Image.fromarray(picture)
        draw = ImageDraw.Draw(image)
        for col, key in enumerate(columns):
            draw.text((GRID_PAD + col * cell + 1, 1), COLUMN_TITLES[key], fill=(0, 0, 0))
        picture = np.asarray(image)
    return picture


def save_png(path, picture):
    """Writes a uint8 RGB array as a PNG, atomically."""
    with atomic_path(path) as temp, open(temp, "wb") as handle:
        Image.fromarray(picture).save(handle, format="PNG")
