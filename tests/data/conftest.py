"""Session fixtures of the audio-data tests: one real tiny mini_nsynth build."""

import pytest


@pytest.fixture(scope="session")
def mini_nsynth_tiny(tmp_path_factory):
    """`prepare()` summary of a real `mini_nsynth/tiny` build in a session temp data dir.

    Built once (40 rendered notes, ~10 MB, a few seconds); `data_dir` is added
    to the summary. Tests must not write into it.
    """
    from tfxmodal.data import mini_nsynth

    data_dir = tmp_path_factory.mktemp("tfds_data")
    summary = mini_nsynth.prepare(data_dir=str(data_dir), config="tiny")
    assert not summary["reused"]
    return dict(summary, data_dir=str(data_dir))
