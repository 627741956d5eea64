"""The confirmatory studies of chapter 05b: replication / n = 60,000 (B6-R, B7-R, B6-60k) and the
robustness population (X5), at a tiny smoke scale (seconds), and their registered verdict rules on
both sides of every threshold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fixtures.helpers import numbers, tiny_configs

from weakness_lib.core.config import experiment_config
from weakness_lib.engine import base
from weakness_lib.studies.bennett import head_to_head as h2h
from weakness_lib.studies.bennett import replication as rep
from weakness_lib.studies.bennett import robustness_population as rp
from weakness_lib.studies.bennett.population_data import data_for

TINY = {"n_networks": 2, "n_train": 256, "n_probe": 128, "w2_probe": 32, "curvature_batch": 64,
        "hutchinson_probes": 2, "widths": [784, 16, 16, 10], "bootstrap_resamples": 50,
        "seed_base": 1000}
TINY_TRAIN = {"epochs": 2, "lr": 0.2, "batch_size": 32}
RULE = {"thresholds": {"p": 0.05}, "target": {"weakness": {"rho": 0.374}}}


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    return tiny_configs(tmp_path, monkeypatch,
                        {"head_to_head_mnist": TINY, "replication_mnist": TINY}, TINY_TRAIN)


# -- replication: the B6 recipe unchanged -------------------------------------------------------
def test_replication_unit_equals_the_head_to_head_unit_on_every_shared_column(tiny):
    """Same settings and seed ⇒ the replication network is the chapter 04 network, bit for bit."""
    a = numbers(h2h.compute_unit(experiment_config("head_to_head_mnist", "smoke"), "net001"))
    b = numbers(rep.compute_unit(experiment_config("replication_mnist", "smoke"), "net001"))
    shared = set(a) & set(b)
    assert {"weights_sha256", "w2", "w1_tau0.01", "lambda_max", "test_acc"} <= shared
    assert {k: a[k] for k in shared} == {k: b[k] for k in shared}
    extra = set(b) - set(a)
    assert {"val_acc", "mean_conf", "temperature", "w1_tau0.01_cal", "w1_tau0.01_alt",
            "pacbayes_mag_sigma"} <= extra


def test_replication_rejects_a_unit_outside_the_population(tiny):
    with pytest.raises(ValueError, match="not a unit"):
        rep.compute_unit(experiment_config("replication_mnist", "smoke"), "net002")


@pytest.mark.parametrize(("rho", "p", "verdict"), [
    (0.20, 0.049, "reproduced"), (0.20, 0.05, "partially_reproduced"),
    (0.01, 0.90, "partially_reproduced"), (0.0, 0.001, "not_reproduced"),
    (-0.3, 0.001, "not_reproduced"), (float("nan"), 1.0, "not_reproduced"),
])
def test_confirmatory_verdict_on_both_sides_of_each_threshold(rho, p, verdict):
    assert rep.confirmatory_verdict(rho, p, RULE) == verdict


def test_pooled_rho_is_one_for_a_perfect_measure_and_ignores_a_dataset_shift():
    rng = np.random.default_rng(0)
    a = pd.DataFrame({"m": rng.normal(size=60)})
    a["test_acc"] = 0.95 + 0.01 * a["m"]
    b = pd.DataFrame({"m": rng.normal(size=60)})
    b["test_acc"] = 0.85 + 0.01 * b["m"]
    perfect = rep.pooled_rho([a, b], "m", n_resamples=200)
    assert perfect["rho"] == pytest.approx(1.0) and perfect["ci_lo"] == pytest.approx(1.0)
    # within each population the measure is noise; across them it tracks the accuracy level
    a2 = a.assign(m=rng.normal(size=60) + 10.0)
    b2 = b.assign(m=rng.normal(size=60))
    naive = pd.concat([a2, b2])
    assert naive["m"].corr(naive["test_acc"], method="spearman") > 0.6
    stratified = rep.pooled_rho([a2, b2], "m", n_resamples=200)
    assert abs(stratified["rho"]) < 0.25 and stratified["ci_lo"] < 0 < stratified["ci_hi"]
    assert stratified["n"] == 120


# -- the two probe designs ------------------------------------------------------------------------
def test_test_split_design_keeps_probe_and_evaluation_disjoint_and_nests_training_sets():
    cfg = base.settings("robustness_population", "full")
    small = data_for(cfg, dataset_name="mnist", n_train=2000)
    big = data_for(cfg, dataset_name="mnist", n_train=10000)
    assert len(small.probe_x) == 5000 and len(small.Xt) == 5000
    # the two halves of the test set: no image in both (compared as exact rows)
    probe = {bytes(r.numpy().tobytes()) for r in small.probe_x}
    assert not any(bytes(r.numpy().tobytes()) in probe for r in small.Xt[:500])
    assert torch_equal(big.X[:0], small.X[:0])
    big_rows = {bytes(r.numpy().tobytes()) for r in big.X}
    assert all(bytes(r.numpy().tobytes()) in big_rows for r in small.X)   # nested subsets
    assert torch_equal(small.Xc, big.Xc) and torch_equal(small.yc, big.yc)  # shared curvature batch


def torch_equal(a, b) -> bool:
    return a.shape == b.shape and bool((a == b).all())


# -- robustness population ------------------------------------------------------------------------
def test_unit_keys_round_trip_and_bad_keys_get_one_line():
    key = rp.unit_key("fashion_mnist", 60000, 128, 3, 0.03, 5001)
    assert key == "fashion_mnist-n60000-w128-d3-lr0.03-s5001"
    assert rp.parse_key(key) == {"dataset": "fashion_mnist", "n_train": 60000, "width": 128,
                                 "depth": 3, "lr": 0.03, "seed": 5001}
    with pytest.raises(ValueError, match="not a population unit key"):
        rp.parse_key("net001")


def test_units_are_the_full_grid_cheapest_first():
    cfg = experiment_config("robustness_population", "full")
    keys = rp.units(cfg)[0]
    assert len(keys) == len(set(keys)) == 2 * 3 ** 4 * 2
    ns = [rp.parse_key(k)["n_train"] for k in keys]
    assert ns == sorted(ns)


def test_a_diverging_network_is_recorded_and_never_scored(tmp_path, monkeypatch):
    tiny_configs(tmp_path, monkeypatch, {"robustness_population": {
        "datasets": ["mnist"], "seeds": [5000],
        "grid": {"n_train": [300], "width": [16], "depth": [1], "lr": [1.0e6]}}})
    cfg = experiment_config("robustness_population", "smoke")
    (key,) = rp.units(cfg)[0]
    row = rp.compute_unit(cfg, key)
    assert row["stopped_by"] == "diverged" and "lower the learning rate" in row["diverged"]
    df = pd.DataFrame([row, {**row, "stopped_by": "cap"}])
    assert list(rp.trained(df)["stopped_by"]) == ["cap"]


def _score(measure, family, se_max, psi, lo, hi):
    return {"measure": measure, "family": family, "sign_error_max": se_max, "psi": psi,
            "psi_lo": lo, "psi_hi": hi}


@pytest.mark.parametrize(("w2_max", "psi", "lo", "holds"), [
    (0.40, 0.30, 0.10, True),     # lower worst case and Ψ CI above 0
    (0.50, 0.30, 0.10, False),    # ties the best sharpness measure: not strictly lower
    (0.60, 0.30, 0.10, False),    # worse worst case
    (0.40, 0.30, -0.01, False),   # Ψ CI reaches below 0
    (0.40, -0.10, -0.30, False),  # Ψ ≤ 0
])
def test_robustly_predictive_rule_on_both_sides(w2_max, psi, lo, holds):
    score = pd.DataFrame([
        _score("w2", "weakness", w2_max, psi, lo, 0.5),
        _score("lambda_max", "sharpness", 0.50, 0.0, -0.1, 0.1),
        _score("trace", "sharpness", 0.70, 0.0, -0.1, 0.1),
        _score("lzma_bytes", "simplicity", 0.10, 0.0, -0.1, 0.1),  # not a sharpness measure
    ])
    assert rp.robustly_predictive(score, "w2")["holds"] is holds


def test_x5_verdict_counts_datasets():
    yes, no = {"holds": True}, {"holds": False}
    assert rp.x5_verdict({"mnist": yes, "fashion_mnist": yes}) == "reproduced"
    assert rp.x5_verdict({"mnist": yes, "fashion_mnist": no}) == "partially_reproduced"
    assert rp.x5_verdict({"mnist": no, "fashion_mnist": no}) == "not_reproduced"
    assert rp.x5_verdict({}) == "not_reproduced"


def test_the_book_runs_and_renders_only_chapters_in_the_toc():
    """A study whose chapter is not yet in the toc (results incomplete) is not run by `make book`."""
    from weakness_lib.engine import registry
    from weakness_lib.publish import book

    published = book.toc_chapters()
    studies = book.published_studies()
    assert "head_to_head_mnist" in studies
    for name, s in registry.STUDIES.items():
        assert (name in studies) == (s.notebook in published)
    assert all(p.stem in published for p in book.chapter_notebooks())
