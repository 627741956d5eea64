"""Verdict rules of B3, B4 (theory) and B6, B7 (head-to-head) on synthetic inputs, on both sides of
every threshold. Every paper value and threshold is read from the registered claim block
(``target:`` / ``thresholds:`` in configs/*.yaml, via ``base.rule``), never typed here."""

from __future__ import annotations

import copy
import math

import pytest

from weakness_lib.engine import base
from weakness_lib.studies.bennett import head_to_head as h2h
from weakness_lib.studies.bennett import theory as th

EPS = 1e-3  # a step across a threshold (all thresholds here are ≫ 1e-3 or compared exactly)


# =============================================================================================
# B6 / B7: primary weakness ρ with test accuracy
# =============================================================================================
@pytest.fixture(params=["head_to_head_mnist", "head_to_head_fmnist"])
def h2h_rule(request):
    return h2h.claim_rule(request.param)


def _paper(rule):
    return rule["target"]["weakness"]["rho"], rule["thresholds"]["p"]


def test_rules_are_registered_not_typed():
    b6, b7 = h2h.claim_rule("head_to_head_mnist"), h2h.claim_rule("head_to_head_fmnist")
    for rule in (b6, b7):
        assert set(rule["target"]["weakness"]) >= {"rho", "p", "text"}
        assert 0 < rule["thresholds"]["p"] < 1
        assert rule["verdict_rule"].strip()  # the prose stays beside the structured fields
    assert b6["target"]["weakness"]["rho"] != b7["target"]["weakness"]["rho"]
    assert "rho" in b6["target"]["sharpness"] and "rho" not in b7["target"]["sharpness"]
    assert b6["target"]["simplicity"]["predictive"] is False
    assert b7["target"]["simplicity"]["predictive"] is True


def test_b6_b7_rho_sign(h2h_rule):
    paper, alpha = _paper(h2h_rule)
    ci = (paper - 0.1, paper + 0.1)
    assert h2h.verdict_for(EPS, alpha / 10, ci, h2h_rule) == "reproduced"
    assert h2h.verdict_for(0.0, alpha / 10, ci, h2h_rule) == "not_reproduced"  # ρ > 0 is strict
    assert h2h.verdict_for(-EPS, alpha / 10, ci, h2h_rule) == "not_reproduced"
    assert h2h.verdict_for(float("nan"), alpha / 10, ci, h2h_rule) == "not_reproduced"


def test_b6_b7_p_against_threshold(h2h_rule):
    paper, alpha = _paper(h2h_rule)
    ci = (paper - 0.1, paper + 0.1)
    assert h2h.verdict_for(paper, alpha * (1 - EPS), ci, h2h_rule) == "reproduced"
    assert h2h.verdict_for(paper, alpha, ci, h2h_rule) == "partially_reproduced"  # p < α is strict
    assert h2h.verdict_for(paper, alpha * (1 + EPS), ci, h2h_rule) == "partially_reproduced"


def test_b6_b7_paper_rho_inside_or_outside_the_ci(h2h_rule):
    paper, alpha = _paper(h2h_rule)
    p = alpha / 10
    assert h2h.verdict_for(paper, p, (paper, paper + 0.2), h2h_rule) == "reproduced"  # closed interval
    assert h2h.verdict_for(paper, p, (paper - 0.2, paper), h2h_rule) == "reproduced"
    assert h2h.verdict_for(paper + 0.3, p, (paper + EPS, paper + 0.5), h2h_rule) == "partially_reproduced"
    assert h2h.verdict_for(paper - 0.2, p, (paper - 0.4, paper - EPS), h2h_rule) == "partially_reproduced"
    assert h2h.verdict_for(paper, p, (float("nan"), float("nan")), h2h_rule) == "partially_reproduced"


def test_b6_b7_rule_values_come_from_the_registration(h2h_rule):
    paper, alpha = _paper(h2h_rule)
    ci = (paper - 0.05, paper + 0.05)
    stricter = copy.deepcopy(h2h_rule)
    stricter["thresholds"]["p"] = alpha / 100
    assert h2h.verdict_for(paper, alpha / 10, ci, h2h_rule) == "reproduced"
    assert h2h.verdict_for(paper, alpha / 10, ci, stricter) == "partially_reproduced"
    moved = copy.deepcopy(h2h_rule)
    moved["target"]["weakness"]["rho"] = paper + 0.2
    assert h2h.verdict_for(paper, alpha / 10, ci, moved) == "partially_reproduced"


def _role(rho_raw, p, ci, sign=1):
    return {"rho_raw": rho_raw, "rho_oriented": sign * rho_raw, "p": p, "ci95_raw": list(ci)}


def test_b6_secondary_sharpness_sign_and_ci():
    rule = h2h.claim_rule("head_to_head_mnist")
    paper = rule["target"]["sharpness"]["rho"]  # compared with the RAW sign
    assert paper < 0
    assert h2h.sharpness_consistent(_role(paper, 0.01, (paper - 0.1, paper + 0.1), -1), rule) is True
    assert h2h.sharpness_consistent(_role(-paper, 0.01, (paper - 0.1, -paper + 0.1), -1), rule) is False
    assert h2h.sharpness_consistent(_role(paper, 0.01, (paper + EPS, 0.0), -1), rule) is False
    assert h2h.sharpness_consistent(_role(paper, 0.01, (paper, paper + 0.1), -1), rule) is True
    # B7: the paper gives no Fashion-MNIST sharpness value: nothing to be consistent with
    assert h2h.sharpness_consistent(_role(paper, 0.01, (-1, 1)), h2h.claim_rule("head_to_head_fmnist")) is None


def test_b6_secondary_simplicity_predicts_nothing():
    rule = h2h.claim_rule("head_to_head_mnist")
    alpha = rule["thresholds"]["p"]
    assert h2h.simplicity_consistent(_role(0.05, alpha, (-0.2, 0.3), -1), rule) is True  # p ≥ α
    assert h2h.simplicity_consistent(_role(0.05, alpha * (1 + EPS), (-0.2, 0.3), -1), rule) is True
    assert h2h.simplicity_consistent(_role(0.05, alpha * (1 - EPS), (-0.2, 0.3), -1), rule) is False


def test_b7_secondary_simplicity_somewhat_predictive():
    rule = h2h.claim_rule("head_to_head_fmnist")
    alpha = rule["thresholds"]["p"]
    # complexity column: oriented = −raw
    assert h2h.simplicity_consistent(_role(-0.3, alpha * (1 - EPS), (-0.5, -0.1), -1), rule) is True
    assert h2h.simplicity_consistent(_role(-0.3, alpha, (-0.5, -0.1), -1), rule) is False
    assert h2h.simplicity_consistent(_role(0.3, alpha / 10, (0.1, 0.5), -1), rule) is False  # wrong sign


def test_evaluate_writes_the_paper_comparison_from_the_registration():
    import pandas as pd

    for study in ("head_to_head_mnist", "head_to_head_fmnist"):
        cfg = base.settings(study, "smoke").replace(primary_weakness="a", secondary_weakness="b",
                                                    primary_sharpness="s", primary_simplicity="c")
        rule = h2h.claim_rule(study)
        paper, alpha = _paper(rule)
        table = pd.DataFrame([
            {"measure": "a", "rho": paper, "rho_oriented": paper, "p": alpha / 10, "p_holm": alpha / 5,
             "ci_lo": paper - 0.1, "ci_hi": paper + 0.1, "kendall_tau": 0.2},
            {"measure": "b", "rho": -0.2, "rho_oriented": -0.2, "p": 0.3, "p_holm": 0.6,
             "ci_lo": -0.4, "ci_hi": 0.0, "kendall_tau": -0.1},
            {"measure": "s", "rho": -0.2, "rho_oriented": 0.2, "p": 0.04, "p_holm": 0.5,
             "ci_lo": -0.4, "ci_hi": -0.01, "kendall_tau": -0.1},
            {"measure": "c", "rho": 0.1, "rho_oriented": -0.1, "p": 0.5, "p_holm": 1.0,
             "ci_lo": -0.1, "ci_hi": 0.3, "kendall_tau": 0.05},
        ])
        df = pd.DataFrame({"test_acc": [0.9, 0.91, 0.92], "train_acc": [1.0, 1.0, 0.99]})
        out = h2h.evaluate(cfg, df, {"tables": {"test_acc": table}, "constant": []}, rule)
        assert out["verdict"] == "reproduced" and out["our_value"] == paper
        d = out["details"]
        assert d["secondary_weakness"]["rule_outcome"] == "not_reproduced"
        if "rho" in rule["target"]["sharpness"]:
            assert d["primary_sharpness"]["compared_with"] == rule["target"]["sharpness"]["compared_with"]
        else:
            assert "consistent_with_paper" not in d["primary_sharpness"]
        assert d["primary_simplicity"]["compared_with"] == rule["target"]["simplicity"]["compared_with"]
        assert d["primary_simplicity"]["consistent_with_paper"] is (not rule["target"]["simplicity"]["predictive"])
        comp = h2h.paper_comparison(cfg, {"tables": {"test_acc": table}}, rule)
        assert comp.loc[0, "paper"] == rule["target"]["weakness"]["text"]
        assert comp.loc[2, "paper"] == rule["target"]["sharpness"]["text"]
        # a constant primary: no ρ, not reproduced, no CI
        out = h2h.evaluate(cfg, df, {"tables": {"test_acc": table.iloc[1:]}, "constant": ["a"]}, rule)
        assert (out["verdict"], out["ci95"], out["our_value"]) == ("not_reproduced", None, 0.0)


# =============================================================================================
# B3: minimax optimality on synthetic per-|U| rows
# =============================================================================================
@pytest.fixture
def b3_rule():
    return base.rule("theory", "B3")


def _b3_rows(tol, *, spread=0.0, min_step=0.1, exchangeable=True, powerset_err=0.0,
             max_regret=0.0, min_non=0.5, reversal=(3, 1)):
    law = {"law": "x", "exchangeable": exchangeable, "spread": spread, "min_step": min_step}
    ok = {"law": "y", "exchangeable": True, "spread": 0.0, "min_step": 0.1}
    return [
        {"n": 2, "laws": [ok, ok], "powerset_err": 0.0, "maximiser_regret_max": 0.0,
         "nonmaximiser_regret_min": None, "biased_reversal": None},
        {"n": 3, "laws": [ok, law], "powerset_err": powerset_err, "maximiser_regret_max": max_regret,
         "nonmaximiser_regret_min": min_non, "biased_reversal": None if reversal is None else list(reversal)},
    ]


def test_b3_all_checks_pass(b3_rule):
    tol = b3_rule["thresholds"]["tolerance"]
    verdict, value, checks = th.b3_verdict(_b3_rows(tol), b3_rule)
    assert (verdict, value) == ("reproduced", 1.0)
    assert all(checks.values())


@pytest.mark.parametrize("side", ["at", "beyond"])
def test_b3_a_spread_and_step(b3_rule, side):
    tol = b3_rule["thresholds"]["tolerance"]
    at = side == "at"
    spread = tol if at else tol * 2
    assert th.b3_verdict(_b3_rows(tol, spread=spread), b3_rule)[0] == ("reproduced" if at else "not_reproduced")
    step = -tol if at else -tol * 2
    verdict, value, checks = th.b3_verdict(_b3_rows(tol, min_step=step), b3_rule)
    assert verdict == ("reproduced" if at else "not_reproduced")
    assert checks["a_monotone_all"] is at and value == (1.0 if at else 0.75)


def test_b3_a_non_exchangeable_law_fails(b3_rule):
    tol = b3_rule["thresholds"]["tolerance"]
    verdict, value, checks = th.b3_verdict(_b3_rows(tol, exchangeable=False), b3_rule)
    assert verdict == "not_reproduced" and value == 0.75 and not checks["a_monotone_all"]


def test_b3_a_required_fraction_is_registered(b3_rule):
    tol = b3_rule["thresholds"]["tolerance"]
    lenient = copy.deepcopy(b3_rule)
    lenient["thresholds"]["monotone_fraction"] = 0.75
    assert th.b3_verdict(_b3_rows(tol, spread=1.0), lenient)[0] == "reproduced"
    lenient["thresholds"]["monotone_fraction"] = 0.75 + EPS
    assert th.b3_verdict(_b3_rows(tol, spread=1.0), lenient)[0] == "not_reproduced"


def test_b3_b_powerset_formula(b3_rule):
    tol = b3_rule["thresholds"]["tolerance"]
    assert th.b3_verdict(_b3_rows(tol, powerset_err=tol), b3_rule)[0] == "reproduced"
    verdict, _, checks = th.b3_verdict(_b3_rows(tol, powerset_err=tol * 2), b3_rule)
    assert verdict == "not_reproduced" and not checks["b_powerset_formula"]


def test_b3_c_minimax_regret(b3_rule):
    tol = b3_rule["thresholds"]["tolerance"]
    assert th.b3_verdict(_b3_rows(tol, max_regret=tol), b3_rule)[0] == "reproduced"
    assert th.b3_verdict(_b3_rows(tol, max_regret=tol * 2), b3_rule)[0] == "not_reproduced"
    assert th.b3_verdict(_b3_rows(tol, min_non=tol * 2), b3_rule)[0] == "reproduced"
    verdict, _, checks = th.b3_verdict(_b3_rows(tol, min_non=tol), b3_rule)  # must be > tol
    assert verdict == "not_reproduced" and not checks["c_minimax_regret"]


def test_b3_d_biased_control(b3_rule):
    tol = b3_rule["thresholds"]["tolerance"]
    verdict, _, checks = th.b3_verdict(_b3_rows(tol, reversal=None), b3_rule)
    assert verdict == "partially_reproduced" and not checks["d_biased_control_reverses"]
    assert th.b3_verdict(_b3_rows(tol, reversal=None, spread=1.0), b3_rule)[0] == "not_reproduced"


# =============================================================================================
# B4: finite identity + trained networks
# =============================================================================================
@pytest.fixture
def b4_rule():
    return base.rule("theory", "B4")


DATASETS = ["mnist", "fashion_mnist"]


def _finite(tol, *, kl_err=0.0, within=0.0, decreasing=True, closed=True):
    return [
        {"kl_max_err": 0.0, "strictly_decreasing": True, "bound_spread_within": 0.0,
         "rho_bound_weakness": -1.0},
        {"kl_max_err": kl_err, "strictly_decreasing": decreasing, "bound_spread_within": within,
         "rho_bound_weakness": -0.9, "closed_form_matches": closed},
    ]


def _trained(rule, *, rho=None, p_holm=None, missing=()):
    sign, alpha = rule["target"]["rho_sign"], rule["thresholds"]["p"]
    rho = sign * 0.4 if rho is None else rho
    p_holm = alpha / 10 if p_holm is None else p_holm
    prim = {ds: {"rho": rho, "p": p_holm / 2, "p_holm": p_holm, "ci_lo": rho - 0.1, "ci_hi": rho + 0.1}
            for ds in DATASETS if ds not in missing}
    return {"available": bool(prim), "primary": prim}


def test_b4_all_checks_pass(b4_rule):
    tol = b4_rule["thresholds"]["tolerance"]
    verdict, value, ci, checks = th.b4_verdict(_finite(tol), _trained(b4_rule), DATASETS, b4_rule,
                                               h2h.DATASET_LABELS)
    assert verdict == "reproduced"
    assert value == b4_rule["target"]["rho_sign"] * 0.4 and ci == [value - 0.1, value + 0.1]
    assert checks["our_value_source"] == "trained MNIST head-to-head networks"


def test_b4_a_kl_identity(b4_rule):
    tol = b4_rule["thresholds"]["tolerance"]
    assert th.b4_verdict(_finite(tol, kl_err=tol), _trained(b4_rule), DATASETS, b4_rule)[0] == "reproduced"
    verdict, *_, checks = th.b4_verdict(_finite(tol, kl_err=tol * 2), _trained(b4_rule), DATASETS, b4_rule)
    assert verdict == "not_reproduced" and not checks["a_kl_identity"]
    assert th.b4_verdict(_finite(tol, closed=False), _trained(b4_rule), DATASETS, b4_rule)[0] == "not_reproduced"


def test_b4_b_bound_strictly_decreasing(b4_rule):
    tol = b4_rule["thresholds"]["tolerance"]
    assert th.b4_verdict(_finite(tol, within=tol), _trained(b4_rule), DATASETS, b4_rule)[0] == "reproduced"
    assert th.b4_verdict(_finite(tol, within=tol * 2), _trained(b4_rule), DATASETS, b4_rule)[0] == "not_reproduced"
    verdict, *_, checks = th.b4_verdict(_finite(tol, decreasing=False), _trained(b4_rule), DATASETS, b4_rule)
    assert verdict == "not_reproduced" and not checks["b_bound_strictly_decreasing"]


def test_b4_c_sign_of_rho(b4_rule):
    tol, sign = b4_rule["thresholds"]["tolerance"], b4_rule["target"]["rho_sign"]
    for rho, expected in ((sign * EPS, "reproduced"), (0.0, "partially_reproduced"),
                          (-sign * EPS, "partially_reproduced"), (float("nan"), "partially_reproduced")):
        verdict, value, _, checks = th.b4_verdict(_finite(tol), _trained(b4_rule, rho=rho), DATASETS, b4_rule)
        assert verdict == expected, rho
        assert checks["c_trained_networks"] == dict.fromkeys(DATASETS, expected == "reproduced")
    # a NaN ρ on the first dataset: the value falls back to the finite enumeration
    assert value == -0.9


def test_b4_c_holm_p_against_threshold(b4_rule):
    tol, alpha = b4_rule["thresholds"]["tolerance"], b4_rule["thresholds"]["p"]
    for p, expected in ((alpha * (1 - EPS), "reproduced"), (alpha, "partially_reproduced"),
                        (alpha * (1 + EPS), "partially_reproduced")):
        assert th.b4_verdict(_finite(tol), _trained(b4_rule, p_holm=p), DATASETS, b4_rule)[0] == expected


def test_b4_c_needs_every_dataset(b4_rule):
    tol = b4_rule["thresholds"]["tolerance"]
    verdict, value, ci, checks = th.b4_verdict(
        _finite(tol), _trained(b4_rule, missing=("fashion_mnist",)), DATASETS, b4_rule)
    assert verdict == "partially_reproduced"
    assert checks["c_trained_networks"] == {"mnist": True, "fashion_mnist": False}
    verdict, value, ci, checks = th.b4_verdict(
        _finite(tol), _trained(b4_rule, missing=tuple(DATASETS)), DATASETS, b4_rule)
    assert (verdict, value, ci) == ("partially_reproduced", -0.9, None)
    assert checks["our_value_source"].startswith("enumerated finite posteriors only")
    assert not math.isnan(value)
