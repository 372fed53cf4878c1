"""Real image files for the tests: noise pictures, saved in any mode, truncated and corrupted copies."""

import os
import pathlib

import numpy as np
from PIL import Image


def noise(height=48, width=64, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    shape = (height, width) if channels == 1 else (height, width, channels)
    return rng.integers(0, 256, shape, dtype=np.uint8)


def save(path, array, mode=None, **kwargs):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array, mode).save(path, **kwargs)
    return str(path)


def truncated_copy(source, target, fraction=0.6):
    data = pathlib.Path(source).read_bytes()
    with open(target, "wb") as handle:
        handle.write(data[: int(len(data) * fraction)])
    return str(target)


def corrupt_entropy_copy(source, target, seed=0):
    """A JPEG whose entropy-coded data is overwritten with noise: header and end marker intact."""
    data = bytearray(pathlib.Path(source).read_bytes())
    start = data.find(b"\xff\xda") + 200
    data[start : start + 300] = np.random.default_rng(seed).integers(0, 255, 300, dtype=np.uint8).tobytes()
    with open(target, "wb") as handle:
        handle.write(bytes(data))
    return str(target)
