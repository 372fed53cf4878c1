"""Session fixture of the task tests: a real tiny mini_nsynth build in a temp TFDS dir."""

import pytest


@pytest.fixture(scope="session")
def mini_nsynth_tiny_dir(tmp_path_factory):
    from tfxmodal.data import mini_nsynth

    data_dir = tmp_path_factory.mktemp("tfds_tiny")
    mini_nsynth.prepare(data_dir=str(data_dir), config="tiny")
    return str(data_dir)
