"""`python -m tfxmodal.ablate`: variants trained and evaluated, Table 1-style output."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from tests.conftest import ROOT, subprocess_env
from tfxmodal import registry
from tfxmodal.face2music.task import ABLATIONS

pytestmark = pytest.mark.slow  # an ablation study as subprocesses


def test_table_has_a_row_per_variant_and_the_real_reference(tiny_ablation):
    out, stdout = tiny_ablation
    table = json.loads((out / "table.json").read_text())
    assert table["task"] == "face2music"
    assert [row["name"] for row in table["rows"]] == ["baseline", "aux", "real test split"]
    assert table["columns"] == [
        "fid_pitch",
        "is_pitch",
        "fid_family",
        "is_family",
        "pc",
        "pc_fixed_pitch",
        "sv",
        "pitch_accuracy",
    ]
    for row in table["rows"][:2]:
        assert row["fid_pitch"] >= 0 and row["fid_family"] >= 0
        assert 1.0 <= row["is_pitch"] <= 61 and 1.0 <= row["is_family"] <= 10
        assert -1.0 <= row["pc"] <= 1.0 and -1.0 <= row["sv"] <= 1.0
    markdown = (out / "table.md").read_text()
    assert markdown.startswith("| name | fid_pitch |") and "| real test split |" in markdown
    assert markdown in stdout


def test_each_variant_has_its_run_evaluation_and_report(tiny_ablation):
    out, _ = tiny_ablation
    for variant in ("baseline", "aux"):
        run = out / variant
        assert json.loads((run / "run_summary.json").read_text())["variant"] == variant
        assert (run / "saved_model" / "1" / "saved_model.pb").exists()  # not in saved_models/
        metrics = json.loads((run / "evaluation" / "metrics.json").read_text())
        assert metrics["variant"] == variant and metrics["seed"] == 0
        for name in ("tsne_audio_space.png", "tsne_face_space.png", "faces_by_family.png", "report/index.html"):
            assert (run / "evaluation" / name).exists(), name
    # Both variants were scored by the same classifiers, trained once.
    assert (out / "classifiers" / "classifiers.json").exists()
    assert (out / "classifiers" / "pitch_classifier.weights.h5").exists()


def test_every_row_is_scored_in_the_first_variants_audio_metric_space(tiny_ablation):
    """One φ for Table 1: aux loads baseline's ψ, so λ1, λ2, μ, σ are the same numbers."""
    out, _ = tiny_ablation
    shared = json.loads((out / "table.json").read_text())["shared"]
    psi = out / "baseline" / "audio_embedder.weights.h5"
    assert shared["audio_embedder_weights"] == str(psi.resolve()) and shared["trained_by"] == "baseline"
    assert yaml.safe_load((out / "aux" / "config.yaml").read_text())["audio_embedder"]["weights"] == str(psi.resolve())
    assert not (out / "aux" / "audio_embedder.weights.h5").exists()  # ψ is not trained again
    first = json.loads((out / "baseline" / "stats.json").read_text())
    later = json.loads((out / "aux" / "stats.json").read_text())
    assert shared["stats"] == first
    for key in ("psi_scale", "mfcc_scale", "target_mean", "target_std", "source_mean", "source_std"):
        assert later[key] == pytest.approx(first[key], rel=1e-5), key


def test_unknown_variant_is_rejected(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("task: face2music\n")
    result = subprocess.run(
        [sys.executable, "-m", "tfxmodal.ablate", "--config", str(config), "--variants", "gan"],
        cwd=ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "unknown ['gan']" in result.stderr


@pytest.mark.parametrize(
    "task, message",
    [("audio_embedder", "task 'audio_embedder' has no ablation study"), ("nonsense", "unknown task 'nonsense'")],
)
def test_task_without_ablation_is_rejected(tmp_path, task, message):
    config = tmp_path / "c.yaml"
    config.write_text(f"task: {task}\n")
    result = subprocess.run(
        [sys.executable, "-m", "tfxmodal.ablate", "--config", str(config)],
        cwd=ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and message in result.stderr
    assert not os.path.exists(os.path.join(ROOT, "runs", "ablation_c"))


def test_every_face2music_variant_of_the_hour_config_is_a_valid_config():
    """ablate's --set strings on a base config with the AC-GAN classifier: the aae variant turns it off."""
    for name, overrides in ABLATIONS.items():
        sets = [f"{key}={json.dumps(value)}" for key, value in overrides.items()]
        config = registry.parsed_config(os.path.join(ROOT, "configs", "face2music_cpu_hour.yaml"), sets)
        config.validate()
        assert config.model.variant == name
        assert config.model.pitch_classifier_weight == (0.0 if name == "aae" else 10.0), name
