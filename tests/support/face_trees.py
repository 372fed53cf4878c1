"""Face image trees for the tests: identity folders drawn in solid colours, uneven trees of noise JPEGs."""

import numpy as np

from tests.support.image_files import noise, save

# Identity folder name -> the solid colour its images are drawn in, so every
# decoded example shows which folder it came from.
COLOURS = {"alice": (220, 30, 30), "bob": (30, 220, 30), "carol": (30, 30, 220)}


def solid(colour, height=40, width=30):
    image = np.zeros((height, width, 3), np.uint8)
    image[:] = colour
    return image


def colour_identity(image):
    """The identity whose colour an [0, 255] RGB image shows (bob's grey PNG: grey)."""
    mean = image.reshape(-1, 3).mean(axis=0)
    if np.ptp(mean) < 1.0:  # grey replicated to RGB
        return 1
    return int(np.argmax(mean))  # red alice 0, green bob 1, blue carol 2


def collect(dataset):
    return [{k: v.numpy() for k, v in example.items()} for example in dataset]


def uneven_tree(root, sizes):
    """Identity folders `id00`, `id01`, … holding `sizes[i]` small JPEGs each."""
    for identity, size in enumerate(sizes):
        folder = root / f"id{identity:02d}"
        folder.mkdir(parents=True)
        for index in range(size):
            save(folder / f"{index:03d}.jpg", noise(16, 16, seed=identity * 100 + index))
    return root
