import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tfxmodal.utils.files import atomic_path, read_json, save_json, save_npz, save_text


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
    with pytest.raises(RuntimeError), atomic_path(final) as temp:
        with open(temp, "w") as handle:
            handle.write("half")
        raise RuntimeError("killed")
    assert final.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_directory_is_replaced_whole(tmp_path):
    final = tmp_path / "model"
    for content in ("v1", "v2"):
        with atomic_path(final, directory=True) as temp, open(os.path.join(temp, "file"), "w") as handle:
            handle.write(content)
    assert (final / "file").read_text() == "v2"
    assert sorted(os.listdir(tmp_path)) == ["model"]


def test_json_and_text_round_trip_and_an_unserializable_payload_keeps_the_old_file(tmp_path):
    path = tmp_path / "metrics.json"
    save_json(path, {"fid": 1.5, "rows": [1, 2]})
    assert read_json(path) == {"fid": 1.5, "rows": [1, 2]}
    assert path.read_text() == json.dumps({"fid": 1.5, "rows": [1, 2]}, indent=1)
    with pytest.raises(TypeError):
        save_json(path, {"bad": object()})
    assert read_json(path) == {"fid": 1.5, "rows": [1, 2]}
    save_json(path, {"when": object}, default=lambda value: "type")
    assert read_json(path) == {"when": "type"}
    save_text(tmp_path / "table.md", "| a |\n")
    assert (tmp_path / "table.md").read_text() == "| a |\n"
    assert sorted(os.listdir(tmp_path)) == ["metrics.json", "table.md"]


def test_results_get_the_umasks_permissions_not_the_temporaries_private_ones(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "model", directory=True) as temp:
            open(os.path.join(temp, "saved_model.pb"), "w").close()
        with atomic_path(tmp_path / "config.yaml") as temp:
            open(temp, "w").close()
    finally:
        os.umask(old)
    assert oct((tmp_path / "model").stat().st_mode & 0o777) == oct(0o755)  # readable by a TF Serving user
    assert oct((tmp_path / "config.yaml").stat().st_mode & 0o777) == oct(0o644)


def test_temporaries_of_a_killed_writer_are_removed_by_the_next_write(tmp_path):
    # A writer that dies (SIGKILL) while its temporary directory exists.
    code = (
        "import os, sys\n"
        "from tfxmodal.utils.files import atomic_path\n"
        "with atomic_path(sys.argv[1], directory=True) as temp:\n"
        "    open(os.path.join(temp, 'part'), 'w').close()\n"
        "    os.kill(os.getpid(), 9)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "1")], check=False)
    assert [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]
    with atomic_path(tmp_path / "1", directory=True) as temp:
        open(os.path.join(temp, "saved_model.pb"), "w").close()
    assert os.listdir(tmp_path) == ["1"]


def test_save_npz_writes_atomically_and_takes_any_array_name(tmp_path):
    save_npz(tmp_path / "a.npz", path=np.array(["x.jpg"]), embedding=np.ones((1, 2), np.float32))
    with np.load(tmp_path / "a.npz") as stored:
        assert list(stored["path"]) == ["x.jpg"] and stored["embedding"].shape == (1, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz"]
