import os

import pytest

from tfxmodal.utils.files import atomic_path


def test_file_appears_only_on_success(tmp_path):
    final = tmp_path / "out.txt"
    with atomic_path(final) as temp:
        with open(temp, "w") as handle:
            handle.write("done")
        assert not final.exists()
    assert final.read_text() == "done"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_failure_keeps_previous_file_and_removes_temp(tmp_path):
    final = tmp_path / "out.txt"
    final.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(final) as temp:
            with open(temp, "w") as handle:
                handle.write("half")
            raise RuntimeError("killed")
    assert final.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_directory_is_replaced_whole(tmp_path):
    final = tmp_path / "model"
    for content in ("v1", "v2"):
        with atomic_path(final, directory=True) as temp:
            with open(os.path.join(temp, "file"), "w") as handle:
                handle.write(content)
    assert (final / "file").read_text() == "v2"
    assert sorted(os.listdir(tmp_path)) == ["model"]
