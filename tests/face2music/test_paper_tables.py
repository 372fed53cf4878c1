"""Table 1 beside a run: the paper's values, rounding, direction."""

from tfxmodal.face2music.paper_tables import KIM_REAL_TEST, KIM_TABLE1, curve_table, face2music_table, rounded


def test_rounding_follows_the_paper():
    assert rounded("fid_pitch", 21.8449) == 21.84 and rounded("fid_family", 2345.6) == 2346
    assert rounded("is_pitch", 56.2712) == 56.27 and rounded("pc", 0.08987) == 0.09
    assert rounded("sv", -0.005123) == -0.0051 and rounded("pitch_accuracy", 0.2512) == "25.1 %"
    assert rounded("fid_pitch", None) is None


def test_a_run_is_set_beside_its_variants_row_and_the_real_test_split():
    metrics = {"fid_pitch": 123.456, "real_test_fid_pitch": 8.666, "is_pitch": 3.2, "pc": 0.9, "pitch_accuracy": 0.03}
    table = face2music_table(metrics, "aux")
    rows = {row["metric"]: row for row in table["rows"]}
    assert set(rows) == {"FID, pitch classifier", "IS, pitch classifier", "PC", "pitch accuracy"}
    fid = rows["FID, pitch classifier"]
    assert fid["this run"] == 123 and fid["real test split"] == 8.67
    assert (
        fid["paper (aux)"] == KIM_TABLE1["aux"]["fid_pitch"]
        and fid["paper, real test split"] == KIM_REAL_TEST["fid_pitch"]
    )
    assert fid["better"] == "lower" and rows["PC"]["better"] == "higher"
    assert rows["pitch accuracy"]["paper (aux)"] is None  # not in the paper


def test_the_curve_table_has_a_row_per_point():
    table = curve_table([{"step": 0, "fid_pitch": 500.0, "rms": 0.51234}, {"step": 500, "fid_pitch": 90.123}])
    assert table["rows"] == [{"step": 0, "fid_pitch": 500, "rms": 0.512}, {"step": 500, "fid_pitch": 90.12}]
