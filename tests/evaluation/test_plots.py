"""The learning-curve plot both papers draw."""

import pytest
from PIL import Image

from tfxmodal.evaluation.plots import learning_curve


def test_learning_curve_draws_the_metrics_that_exist(tmp_path):
    records = [{"step": 0, "fid": 500.0, "acc": 0.02}, {"step": 500, "fid": 80.0, "acc": 0.2}]
    path = learning_curve(
        records,
        tmp_path / "curve.png",
        [("fid", "FID", True), ("acc", "accuracy", False), ("x", "none", False)],
        {"fid": 9.0},
    )
    assert Image.open(path).size[0] == 2 * 330  # two panels in one row
    with pytest.raises(ValueError, match="none of"):
        learning_curve(records, tmp_path / "none.png", [("x", "none", False)])
