"""The numbers the papers report, and the evaluation tables that put a run beside them.

`KIM_TABLE1` is Table 1 of Kim et al. (2020) with the real test split's
scores of Sec. 3.3 ("the FID score computed on the NSynth's test samples
... is 1.25 (0.72) by the pitch (family) classification model. The IS score
computed on the NSynth's test set is 56.73 (6.78)"). `face2music_table`
turns a run's metrics into Table 1's layout: one row per metric with this
run, the real test split scored the same way, the paper's row for the
run's variant and the paper's real-data value, what the metric measures and
which direction is better, rounded as the paper rounds.
"""

from tfxmodal.domain import NUM_PITCHES

# Table 1 (Kim et al. 2020): FID / IS by the pitch and the family classifier, PC, SV.
KIM_TABLE1 = {
    "baseline": {
        "fid_pitch": 21.84,
        "is_pitch": 56.27,
        "fid_family": 51.02,
        "is_family": 4.59,
        "pc": 0.090,
        "sv": -0.0051,
    },
    "metric": {
        "fid_pitch": 46.69,
        "is_pitch": 53.18,
        "fid_family": 90.99,
        "is_family": 3.98,
        "pc": 0.683,
        "sv": 0.0112,
    },
    "aux": {"fid_pitch": 25.52, "is_pitch": 54.97, "fid_family": 53.98, "is_family": 5.89, "pc": 0.432, "sv": 0.0256},
    "aae": {"fid_pitch": 53.06, "is_pitch": 49.43, "fid_family": 94.07, "is_family": 4.18, "pc": 0.142, "sv": -0.0036},
}
KIM_REAL_TEST = {"fid_pitch": 1.25, "fid_family": 0.72, "is_pitch": 56.73, "is_family": 6.78}

# (label, what it measures, which way is better)
FACE2MUSIC_METRICS = {
    "fid_pitch": (
        "FID, pitch classifier",
        "distance of the translations' pitch-classifier features to real notes'",
        "lower",
    ),
    "is_pitch": ("IS, pitch classifier", f"confident and varied pitch predictions (max {NUM_PITCHES})", "higher"),
    "fid_family": (
        "FID, family classifier",
        "distance of the translations' family-classifier features to real notes'",
        "lower",
    ),
    "is_family": ("IS, family classifier", "confident and varied family predictions (max 10)", "higher"),
    "pc": ("PC", "Pearson correlation of face distances and φ distances of their translations", "higher"),
    "sv": ("SV", "silhouette of the faces grouped by their translations' nearest real family", "higher"),
    "pitch_accuracy": (
        "pitch accuracy",
        f"the pitch classifier hears the requested pitch (not in the paper; chance 1/{NUM_PITCHES})",
        "higher",
    ),
}


def rounded(key, value):
    """A metric value rounded as the paper prints it (FID 2 decimals below 100, IS 2, PC 3, SV 4; % for accuracy)."""
    if value is None:
        return None
    value = float(value)
    if key.startswith("fid"):
        return round(value, 2) if value < 100 else round(value)
    if key.startswith("is"):
        return round(value, 2)
    if key == "pc":
        return round(value, 3)
    if key == "sv":
        return round(value, 4)
    if key.endswith("accuracy"):
        return f"{100 * value:.1f} %"
    return round(value, 4)


def face2music_table(metrics, variant):
    """Table 1's layout for one run: `{"title", "columns", "rows", "caption"}` (see `report.write_report`)."""
    paper = KIM_TABLE1.get(variant, {})
    rows = []
    for key, (label, measures, better) in FACE2MUSIC_METRICS.items():
        if key not in metrics:
            continue
        rows.append(
            {
                "metric": label,
                "this run": rounded(key, metrics[key]),
                "real test split": rounded(key, metrics.get(f"real_test_{key}")),
                f"paper ({variant})": rounded(key, paper.get(key)),
                "paper, real test split": rounded(key, KIM_REAL_TEST.get(key)),
                "better": better,
                "measures": measures,
            }
        )
    return {
        "title": "Table 1 of Kim et al. (2020), this run beside the paper",
        "columns": [
            "metric",
            "this run",
            "real test split",
            f"paper ({variant})",
            "paper, real test split",
            "better",
            "measures",
        ],
        "rows": rows,
        "caption": (
            "FID and IS use this run's own pitch and family classifiers (Appendix 5.1.4), as the paper uses its own: "
            "values are comparable within a column of classifiers, and with the paper's only in trend."
        ),
    }


def curve_table(points, keys=("pitch_accuracy", "fid_pitch", "fid_family", "is_pitch", "pc", "rms")):
    """The learning curve as a table: one row per scored step, rounded."""
    rows = []
    for point in points:
        row = {"step": point["step"]}
        for key in keys:
            if key in point:
                row[key] = rounded(key, point[key]) if key != "rms" else round(float(point[key]), 3)
        rows.append(row)
    return {"title": "Learning curve (scored while training, fixed evaluation set)", "rows": rows}
