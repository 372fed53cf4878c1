"""`python -m tfxmodal.bench`, run as a real subprocess (a benchmark: no speed is asserted)."""

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT, subprocess_env

SECTIONS = ("mfcc", "translate_latency", "car_gan_step")


def positive(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


@pytest.mark.slow
def test_quick_bench_prints_one_json_report(tmp_path):
    output = tmp_path / "bench.json"
    command = [sys.executable, "-m", "tfxmodal.bench", "--quick", "--only", *SECTIONS, "--output", str(output)]
    result = subprocess.run(command, cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    report = json.loads(result.stdout)  # stdout is the JSON object and nothing else
    assert json.loads(output.read_text()) == report

    environment = report["environment"]
    assert environment["tensorflow"].startswith("2.")
    assert environment["devices"] and all(isinstance(name, str) for name in environment["devices"])
    assert environment["gpus"] >= 0
    assert positive(environment["cpu_count"])
    for key in ("intra_op_threads", "inter_op_threads"):
        assert isinstance(environment[key], int)
    assert report["quick"] is True and report["xla"] is False

    # Only the sections asked for, and --quick leaves out the paper sizes.
    assert not {"face2music_step", "data"} & set(report)
    assert set(report["car_gan_step"]) == {"demo_size"}
    demo = report["car_gan_step"]["demo_size"]
    assert (demo["image_size"], demo["generator_filters"], demo["discriminator_filters"], demo["batch_size"]) == (
        32,
        16,
        16,
        16,
    )
    for key in (
        "seconds_per_iteration",
        "seconds_per_iteration_min",
        "first_call_seconds",
        "generator_params",
        "discriminator_params",
        "classifier_params",
    ):
        assert positive(demo[key]), key

    assert positive(report["mfcc"]["clips_per_second"])

    latency = report["translate_latency"]
    assert set(k for k in latency if k.startswith("width_")) == {"width_8"}
    for batch in ("batch_1", "batch_64"):
        timing = latency["width_8"][batch]
        for key in ("ms_per_call", "ms_per_face", "ms_per_call_min", "calls"):
            assert positive(timing[key]), (batch, key)
    batch_64 = latency["width_8"]["batch_64"]
    assert batch_64["ms_per_face"] == pytest.approx(batch_64["ms_per_call"] / 64, abs=1e-3)

    assert positive(report["peak_memory_mb"])
    after = report["peak_memory_mb_after_section"]
    # Task sections in registry order, then the generic ones.
    assert list(after) == ["car_gan_step", "translate_latency", "mfcc"]
    assert all(positive(value) for value in after.values())
    assert list(after.values()) == sorted(after.values())  # ru_maxrss never decreases
    assert after["mfcc"] <= report["peak_memory_mb"]


def test_unknown_section_is_refused():
    result = subprocess.run(
        [sys.executable, "-m", "tfxmodal.bench", "--only", "nonsense"],
        cwd=ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "invalid choice: 'nonsense'" in result.stderr
