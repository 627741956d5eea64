"""Claim X5 beyond its verdict (issue 17): the registered rule for every weakness variant, the
environments that kept a Hoeffding weight, Ψ without same-configuration seed pairs, the stored
summary (format 2) and its refresh by the runner, and the chapter's tables."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from weakness_lib.bennett import robustness as R
from weakness_lib.core.store import ResultsStore
from weakness_lib.engine import base
from weakness_lib.engine.registry import Study
from weakness_lib.engine.runner import finalise_study, summary_current
from weakness_lib.studies.bennett import robustness_population as rp
from weakness_lib.studies.bennett import robustness_rules as rules_mod
from weakness_lib.views import robustness as rr

HP = list(rp.HPARAMS)
#: the population's smoke settings with both datasets, few resamples and the registered measures
CFG = base.settings("robustness_population", "smoke").replace(
    datasets=["mnist", "fashion_mnist"], n_eval=10_000, bootstrap_resamples=50, bootstrap_seed=0,
    primary_weakness="w2", secondary_weakness="w1_tau0.01")


def _population() -> pd.DataFrame:
    """2 datasets × 2⁴ configurations × 2 seeds; gaps far apart (every cross pair keeps weight).

    w2 = −gap (perfect: complexity −w2 = gap) on both datasets; w1_tau0.01 = −gap on MNIST and
    +gap on Fashion-MNIST (always wrong there); mean_A_tau0.01 = −λ_max (the same complexity as
    λ_max, so the same worst case: not *strictly* lower); λ_max random; w2_wrong_vflip a control.
    """
    rng = np.random.default_rng(0)
    rows = []
    for ds in CFG.datasets:
        for i, (n, w, d, lr) in enumerate(itertools.product([1, 2], repeat=4)):
            for s in (0, 1):
                gap = 0.05 * i + 0.02 * s
                rows.append({"dataset": ds, "n_train": n, "width": w, "depth": d, "lr": lr, "seed": s,
                             "stopped_by": "criterion", "gap_acc": gap, "test_err": gap,
                             "w2": -gap, "w1_tau0.01": -gap if ds == "mnist" else gap,
                             "lambda_max": rng.normal(), "w2_wrong_vflip": rng.normal()})
    df = pd.DataFrame(rows)
    df["mean_A_tau0.01"] = -df["lambda_max"]
    return df


@pytest.fixture(scope="module")
def population():
    df = _population()
    return df, rp.scores(CFG, df)


# ------------------------------------------------------------------ the rule for every variant
def test_rule_per_variant_on_both_sides(population):
    _, sc = population
    rules = rules_mod.rule_per_variant(sc, CFG.datasets)
    assert set(rules) == {"w2", "w1_tau0.01", "mean_A_tau0.01"}  # weakness family only (no control)
    for ds in CFG.datasets:
        w2 = rules["w2"][ds]
        assert w2["sign_error_max"] == 0.0 and w2["psi"] == pytest.approx(1.0)
        assert w2["best_sharpness_sign_error_max"] > 0 and w2["holds"]
        tie = rules["mean_A_tau0.01"][ds]  # equal worst case to λ_max: not strictly lower
        assert tie["sign_error_max"] == tie["best_sharpness_sign_error_max"]
        assert not tie["worst_case_lower_than_every_sharpness"] and not tie["holds"]
    assert rules["w2"]["on_both"]
    w1 = rules["w1_tau0.01"]
    assert w1["mnist"]["holds"] and not w1["fashion_mnist"]["holds"] and not w1["on_both"]
    assert w1["fashion_mnist"]["sign_error_max"] == 1.0 and w1["fashion_mnist"]["psi"] == pytest.approx(-1.0)
    # the verdict reads W2 only, whatever the variants do
    assert rp.x5_verdict({ds: rules_mod.robustly_predictive(sc[f"{ds}/gap_acc"], "w2")
                          for ds in CFG.datasets}) == "reproduced"


def test_a_variant_scored_on_one_dataset_only_is_not_robust_on_both():
    t = pd.DataFrame({"measure": ["w2", "lambda_max"], "family": ["weakness", "sharpness"],
                      "sign_error_max": [0.1, 0.5], "psi": [0.4, 0.0], "psi_lo": [0.2, -0.1],
                      "psi_hi": [0.6, 0.1]})
    rules = rules_mod.rule_per_variant({"mnist/gap_acc": t}, ["mnist", "fashion_mnist"])
    assert rules["w2"]["mnist"]["holds"] and not rules["w2"]["on_both"]


# ------------------------------------------------------------------ environments with weight
def test_environment_counts_on_a_grid_counted_by_hand():
    # a ∈ {0, 1, 2}, b ∈ {0, 1}, 2 seeds. Gaps 0.1·a (seeds 0.001 apart: below the noise of
    # 10,000 images), except (a = 2, b = 1), 0.05 higher. Varying a: 2 lines × 6 ordered pairs,
    # all kept; varying b: 3 × 2 ordered pairs, only the two between (2, 0) and (2, 1) kept.
    rows = [{"dataset": "toy", "a": a, "b": b, "seed": s,
             "gap_acc": 0.1 * a + 0.001 * s + (0.05 if (a, b) == (2, 1) else 0.0)}
            for a in range(3) for b in range(2) for s in range(2)]
    flat = [{**r, "dataset": "flat", "gap_acc": 0.3} for r in rows]  # equal gaps: nothing kept
    counts = rules_mod.environment_counts(pd.DataFrame(rows + flat), ["a", "b"], 10_000)
    assert counts["toy"] == {"kept": 14, "total": 18, "per_hparam": {"a": {"kept": 12, "total": 12},
                                                                      "b": {"kept": 2, "total": 6}}}
    assert counts["flat"]["kept"] == 0 and counts["flat"]["total"] == 18


def test_environment_counts_agree_with_the_score_tables(population):
    df, sc = population
    counts = rules_mod.environment_counts(df, HP, CFG.n_eval)
    for ds in CFG.datasets:
        assert counts[ds]["total"] == 16 * 4  # ordered: each configuration is first of 1 per hparam
        assert (sc[f"{ds}/gap_acc"]["n_environments"] == counts[ds]["kept"]).all()


# ------------------------------------------------------------------ Ψ without same-config pairs
def test_psi_without_same_configuration_pairs_hand_example():
    # one hyper-parameter, two seeds. Pairs (Δg, Δμ signs): seeds of a = 0: +·+; seeds of a = 1:
    # +·+; across: (00,10) +, (00,11) +, (01,10) −, (01,11) −. All six: 2/6; the four across: 0.
    df = pd.DataFrame({"a": [0, 0, 1, 1], "seed": [0, 1, 0, 1],
                       "gap": [1.0, 2.0, 3.0, 4.0], "mu": [2.0, 5.0, 3.0, 4.0]})
    assert R.granulated_psi(df, "mu", "gap", ["a"])[0] == pytest.approx(1 / 3)
    assert R.granulated_psi(df, "mu", "gap", ["a"], same_config_pairs=False)[0] == pytest.approx(0.0)


def _brute_psi_between(df: pd.DataFrame, measure: str, target: str, hparams: list[str]) -> float:
    """Ψ by loops over pairs of networks whose configurations differ (in k only)."""
    psis = []
    for k in hparams:
        others = [h for h in hparams if h != k]
        taus = []
        for _, grp in df.groupby(others):
            pairs = [(i, j) for i, j in itertools.combinations(range(len(grp)), 2)
                     if grp[k].iloc[i] != grp[k].iloc[j]]
            if pairs:
                mu, g = grp[measure].to_numpy(), grp[target].to_numpy()
                taus.append(np.mean([np.sign(mu[i] - mu[j]) * np.sign(g[i] - g[j]) for i, j in pairs]))
        psis.append(np.mean(taus))
    return float(np.mean(psis))


def test_psi_without_same_configuration_pairs_matches_loops_and_keeps_the_registered_psi():
    rng = np.random.default_rng(4)
    df = pd.DataFrame([{"a": a, "b": b, "seed": s} for a in range(3) for b in range(2) for s in range(2)])
    df["gap"], df["mu"] = rng.uniform(0, 0.3, len(df)), rng.integers(0, 4, len(df)).astype(float)
    between = R.granulated_psi(df, "mu", "gap", ["a", "b"], same_config_pairs=False)[0]
    assert between == pytest.approx(_brute_psi_between(df, "mu", "gap", ["a", "b"]), abs=1e-12)
    assert between != pytest.approx(R.granulated_psi(df, "mu", "gap", ["a", "b"])[0])
    # with the seed pairs kept, psi_interval draws the registered resamples: the same CI
    iv = R.psi_interval(df, "mu", "gap", ["a", "b"], n_boot=200, seed=3)
    ci = R.bootstrap_scores(df, "mu", "gap", ["a", "b"], 10_000, n_boot=200, seed=3)["psi"]
    assert (iv["psi_lo"], iv["psi_hi"]) == pytest.approx(ci, abs=1e-12)
    neg = R.psi_interval(df, "mu", "gap", ["a", "b"], orientation=-1, same_config_pairs=False)
    assert neg["psi"] == pytest.approx(-between)


def test_psi_between_table_orients_every_measure(population):
    df, sc = population
    part = rp.trained(df[df["dataset"] == "fashion_mnist"])
    t = rules_mod.psi_between_configurations(part, rp.complexity_signs(part), HP, 20, 0).set_index("measure")
    assert t.loc["w2", "psi_between"] == pytest.approx(1.0)
    assert t.loc["w1_tau0.01", "psi_between"] == pytest.approx(-1.0)
    assert t["psi"].to_dict() == pytest.approx(sc["fashion_mnist/gap_acc"].set_index("measure")["psi"].to_dict())


# ------------------------------------------------------------------ stored summary and its refresh
def test_summary_format_2_and_an_old_summary_still_reads(population, monkeypatch):
    df, _ = population
    s = rp.summarise(CFG, df.to_dict(orient="records"))
    assert s["format"] == rp.SUMMARY_FORMAT == 2 and set(s["psi_between"]) == set(CFG.datasets)
    table = SimpleNamespace(config=CFG.config, to_frame=lambda: df)
    monkeypatch.setattr(base, "summary", lambda t: {"format": 1, "scores": s["scores"]})
    scores, source = rp.stored_scores(table)
    assert source == "stored" and set(scores) == set(s["scores"])
    fresh = rp.stored_psi_between(table)  # an old summary has none: computed
    assert fresh["mnist"]["psi_between"].tolist() == pytest.approx(s["psi_between"]["mnist"]["psi_between"])
    stored = {**s, "psi_between": {"mnist": {**s["psi_between"]["mnist"], "psi_between": [9.0] * len(fresh["mnist"])}}}
    monkeypatch.setattr(base, "summary", lambda t: stored)
    assert (rp.stored_psi_between(table)["mnist"]["psi_between"] == 9.0).all()  # read, not recomputed


def test_summary_current_reads_the_declared_format():
    assert not summary_current(SimpleNamespace(SUMMARY_FORMAT=2), None)
    assert not summary_current(SimpleNamespace(SUMMARY_FORMAT=2), {"format": 1})
    assert summary_current(SimpleNamespace(SUMMARY_FORMAT=2), {"format": 2})
    assert summary_current(SimpleNamespace(), {"anything": 1})


def test_the_runner_refreshes_an_old_summary_without_computing_units(tmp_path, monkeypatch):
    monkeypatch.setenv("WEAKNESS_RESULTS", str(tmp_path))
    table = ResultsStore("smoke", root=tmp_path / "smoke").table("fake", {"x": 1})
    table.put("u0", {"v": 1.0})
    digest = base.rows_digest(table.rows())
    table.write_summary(digest, {"format": 1})
    calls = []
    module = SimpleNamespace(
        SUMMARY_FORMAT=2, summarise=lambda cfg, rows: calls.append(len(rows)) or {"format": 2},
        compute_unit=lambda *a, **k: pytest.fail("no unit may be computed"),
        analyse=lambda scale: {}, claims=lambda result: [])
    study = Study("fake", "unused", "none", ())
    monkeypatch.setattr(Study, "load", lambda self: module)
    monkeypatch.setattr(base, "typed", lambda config: config)  # a fake study has no typed settings
    finalise_study(study, "smoke", table)
    assert calls == [1] and table.summary(digest) == {"format": 2}
    finalise_study(study, "smoke", table)  # current now: not recomputed
    assert calls == [1]


# ------------------------------------------------------------------ the chapter's views
@pytest.fixture(scope="module")
def result(population):
    df, sc = population
    return {"config": CFG.config, "settings": CFG, "scores": sc, "per_variant": rules_mod.rule_per_variant(sc, CFG.datasets),
            "environments": rules_mod.environment_counts(df, HP, CFG.n_eval),
            "psi_between": rp.psi_between(CFG, df)}


def test_views_speak_readers_words(result):
    v = rr.variant_table(result)
    assert v["estimator"].iloc[0] == "W2 (transformation compatibility)"
    assert v["estimator"].iloc[2] == "W1 (τ = 0.01)"  # primary, then secondary
    assert set(v["estimator"]) == {"W2 (transformation compatibility)", "W1 (τ = 0.01)", "mean |A| (τ = 0.01)"}
    assert v["robustly predictive"].tolist() == [True, True, True, False, False, False]
    e = rr.environment_table(result)
    assert list(e.columns) == ["dataset", "all", "training images", "width", "depth", "learning rate"]
    assert e["all"].tolist() == ["64 of 64"] * 2
    p = rr.psi_sensitivity_table(result)
    assert set(p["estimator"]) == {"W2 (transformation compatibility)", "W1 (τ = 0.01)", "largest Hessian eigenvalue"}
    g = rr.glue_values(result)
    assert g["x5r_both"] == "W2 (transformation compatibility)" and g["x5r_mnist_robust"] == 2
    assert g["x5r_fmnist_none_kept"] == "none" and g["x5r_fmnist_w1_psi_between"] == pytest.approx(-1.0)


@pytest.mark.parametrize(("column", "label"), [
    ("w1_tau0.01", "W1 (τ = 0.01)"), ("w1_delta4", "W1 (δ = 4)"),
    ("w1_tau0.05_cal", "W1 (τ = 0.05), calibrated"), ("w1_tau0.01_alt", "W1 (τ = 0.01), other probe split"),
    ("frac_single_tau0.1", "fraction with |A| = 1 (τ = 0.1)"), ("mean_A_delta2", "mean |A| (δ = 2)"),
    ("sam", "SAM sharpness"), ("lambda_max", "largest Hessian eigenvalue"), ("unknown_col", "unknown_col"),
])
def test_measure_labels(column, label):  # the chapter's names are names.py's
    assert rr.label(column) == label
