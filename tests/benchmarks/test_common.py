"""benchmarks.common.in_own_process: a real child process, its result and its own peak memory."""

import pytest

from tfxmodal.benchmarks.common import in_own_process


def test_a_function_runs_in_its_own_process_and_reports_that_process_peak():
    result = in_own_process("builtins", "dict", width=64, name="paper")
    assert {key: result[key] for key in ("width", "name")} == {"width": 64, "name": "paper"}
    # The child's own peak: a bare interpreter, not this test process, which holds TF (ru_maxrss would).
    assert 5 < result["peak_memory_mb"] < 200


def test_a_failing_child_raises_with_its_error():
    with pytest.raises(RuntimeError, match=r"exited with 1:(.|\n)*TypeError"):
        in_own_process("builtins", "int", base="not a number")
