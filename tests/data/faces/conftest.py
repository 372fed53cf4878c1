"""Fixtures of the face loader tests."""

import numpy as np
import pytest

from tests.support.face_trees import COLOURS, solid
from tests.support.image_files import save


@pytest.fixture(scope="module")
def identity_tree(tmp_path_factory):
    """<root>/<identity>/<image>: alice 3 JPEGs, bob a grey and an RGBA PNG, carol 2 nested PNGs."""
    root = tmp_path_factory.mktemp("identities")
    for i in range(3):
        save(root / "alice" / f"{i}.jpg", solid(COLOURS["alice"]), quality=95)
    bob = COLOURS["bob"]
    save(root / "bob" / "grey.png", np.full((30, 40), bob[1], np.uint8), "L")
    rgba = np.zeros((30, 30, 4), np.uint8)
    rgba[..., :3] = bob
    rgba[..., 3] = 0  # fully transparent: dropping alpha must keep the colour
    save(root / "bob" / "alpha.png", rgba, "RGBA")
    for i in range(2):
        save(root / "carol" / "session1" / f"{i}.png", solid(COLOURS["carol"], 50, 80))
    (root / "carol" / "README.txt").write_text("not an image")
    return root
