"""Sub-URMP trees whose LMS are the authors' spectrogram pictures (`data.lms: image`), for the tests."""

import os

import matplotlib.image
import numpy as np
from PIL import Image

from tests.support.image_files import save
from tests.support.urmp_trees import frame

BANDS, FRAMES = 48, 64  # the pictures' height and width: not square, and not S, so resizing is tested


# instrument -> (frame colour, row of the spectrogram's bright band, 0 = top)
TREE = {"cello": ((200, 40, 40), 40), "flute": ((40, 200, 40), 24), "violin": ((40, 40, 200), 8)}


STEMS = {"train": ["00_100", "00_600"], "test": ["01_100", "01_600"]}


LABELS = [1, 1, 4, 4, 12, 12]  # train: cello, flute, violin in CAR-GAN's label order


def spectrogram(row, seed):
    """A log-mel-like `(BANDS, FRAMES)` array: noise floor plus a bright band at `row`, varying in time."""
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.0, 0.2, (BANDS, FRAMES))
    values[row - 2 : row + 3] += np.linspace(0.5, 0.8, FRAMES)
    return values


def write_spectrogram(path, values):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    matplotlib.image.imsave(str(path), values, cmap="jet", vmin=0.0, vmax=1.0)
    return str(path)


def write_tree(root):
    for split, stems in STEMS.items():
        for instrument, (colour, row) in TREE.items():
            for number, stem in enumerate(stems):
                name = f"{instrument}{stem}"
                save(root / "img_256" / split / instrument / f"{name}.jpg", frame(colour), quality=95)
                write_spectrogram(root / "spectram" / split / instrument / f"{name}.png", spectrogram(row, number))
    return root


def independent_lms(path, size):
    """PIL's decode (alpha dropped, as the authors' `convert('RGB')`) and bilinear resize, scaled to [-1, 1]."""
    with Image.open(path) as image:
        picture = image.convert("RGB").resize((size, size), Image.BILINEAR)
    return np.asarray(picture, np.float32) / 127.5 - 1.0


LAYOUT = {"lms": "image", "image_dir": "img_256"}
