"""weakness_lib.views.bench reads the committed benchmark results and fails clearly without them."""

from __future__ import annotations

import pytest

from weakness_lib.views import bench as br


def test_missing_results_name_the_script(tmp_path, monkeypatch):
    monkeypatch.setattr(br, "results_dir", lambda: tmp_path)
    with pytest.raises(FileNotFoundError, match="bench_curvature.py"):
        br.load("curvature")
    assert br.load_optional("book") is None


@pytest.mark.skipif(not (br.results_dir() / "curvature.json").exists(), reason="not benchmarked yet")
def test_curvature_tables_are_consistent():
    curv = br.load("curvature")
    lam = br.lambda_table(curv)
    assert set(lam["dtype"]) == {"float32", "float64"}
    assert (lam["HVPs"] > 0).all()
    ref = curv["results"]["lambda_max"]["reference"]["lambda_max"]
    assert ref > 0
    # every Lanczos/ARPACK method met the 1e-3 accuracy it was asked for
    for r in curv["results"]["lambda_max"]["rows"]:
        if r["method"] in ("ours", "ours_fast", "ours_graph_arpack", "curvlinops"):
            assert r["rel_err"] <= 1e-3, r["method"]
    tr = br.trace_table(curv)
    hutch = tr[~tr["method"].str.contains("defaults")]
    assert (hutch["rel. s.e."] <= 0.01 + 1e-12).all()
    conv = br.convergence_frame(curv)
    assert set(conv["method"]) == {"Lanczos (ours, new)", "power iteration (PyHessian)"}


@pytest.mark.skipif(not (br.results_dir() / "training.json").exists(), reason="not benchmarked yet")
def test_training_table_counts_flops_consistently():
    train = br.load("training")
    table = br.training_table(train)
    per = train["results"]["flops_per_network_epoch"]
    assert per == pytest.approx(5000 * (2 * 268_800 * 2 + 2 * (65_536 + 2_560)) + 5000 * 2 * 268_800)
    ratio = table["GFLOP/s"] / table["networks·epochs / s"]
    assert ratio.round(6).nunique() == 1


def test_confirmatory_compute_record_matches_the_committed_tables():
    """The recorded per-study unit counts are the committed tables' (624 networks in all), training
    plus measuring never exceeds a study's summed unit time, and the budget flag follows the wall."""
    from weakness_lib.engine import base

    rec = br.load("confirmatory_compute")
    t = br.confirmatory_table(rec)
    assert list(t["study"]) == sorted(rec["results"]["per_study"])
    for _, r in t.iterrows():
        assert r["units"] == len(base.load_table(r["study"], "full").rows())
        assert r["training [min]"] + r["measuring [min]"] <= r["unit time, summed [min]"] + 1e-9
    assert t["units"].sum() == 624
    assert rec["results"]["within_budget"] == (rec["results"]["run_wall_min"] <= 90)
