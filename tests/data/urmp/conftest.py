"""Fixtures of the Sub-URMP tests: a tree written once per module, and a copy a test may break."""

import shutil

import pytest

from tests.support.urmp_trees import write_tree


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return write_tree(tmp_path_factory.mktemp("sub_urmp"))


@pytest.fixture
def broken(tmp_path, tree):
    root = tmp_path / "broken"
    shutil.copytree(tree, root)
    return root
