"""The side-by-side λ_max timing of benchmarks/results/curvature.json, as the report reads it."""

from __future__ import annotations

import pytest

from weakness_lib.views import bench as br


@pytest.mark.skipif(not (br.results_dir() / "curvature.json").exists(), reason="not benchmarked yet")
def test_time_to_accuracy_is_read_consistently():
    curv = br.load("curvature")
    table = br.time_to_accuracy_table(curv)
    if table.empty:
        pytest.skip("curvature.json predates the side-by-side λ_max timing")
    assert set(table["dtype"]) == {"float32", "float64"}
    assert (table["repeats"] >= 3).all()
    # ours is certified to 1e-3 and PyHessian was stopped once truly within 1e-3: both accurate
    assert (table["ours rel. error"] <= 1e-3).all() and (table["PyHessian rel. error"] <= 1e-3).all()
    ratio = table["ours wall s (median)"] / table["PyHessian wall s (median)"]
    assert ratio.round(12).tolist() == table["ratio (medians)"].round(12).tolist()
    assert table["meets ≤ ½"].tolist() == (table["ratio (medians)"] <= 0.5).tolist()
    lam = br.lambda_table(curv)
    assert "PyHessian power iteration, stopped when truly within 1e-3" in set(lam["method"])
