"""The registered verdict rules of B1, B2 and B5 on synthetic results, on both sides of every threshold.

Thresholds and paper values are read from the registration YAML (``base.rule``), so each case sits
exactly at, or just beyond, the registered number.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from weakness_lib.engine import base
from weakness_lib.studies.bennett import batch_size as bs
from weakness_lib.studies.bennett import invariance_audit as audit
from weakness_lib.studies.bennett import reparameterisation as rp

B1 = base.rule("reparameterisation", "B1")
B2 = base.rule("invariance_audit", "B2")
B5 = base.rule("batch_size", "B5")


def below(x: float) -> float:
    return float(np.nextafter(float(x), -math.inf))


def above(x: float) -> float:
    return float(np.nextafter(float(x), math.inf))


def test_registrations_carry_structured_targets_and_thresholds():
    assert B1["target"] == {"hessian_inflation": 100, "predictions_changed": 0}
    assert B1["thresholds"] == {"max_predictions_changed": 0, "max_abs_dlogit": 1e-10,
                                "inflation_reproduced": 100, "inflation_partial": 10}
    assert B2["thresholds"] == {"entropy_rtol": 1e-9, "max_abs_dlogit": 1e-10, "change_factor": 10,
                                "reported_sharpness_factor": 100}
    assert B5["target"] == {"advantage_pp": {2000: 1.6, 60000: 0.02}}
    assert B5["thresholds"] == {"se_multiple": 2}
    for block in (B1, B2, B5):
        assert block["verdict_rule"].strip()  # the prose stays beside the numbers


# -- B1 -------------------------------------------------------------------------------------------
T1 = B1["thresholds"]


def b1(**kw):
    ev = {"predictions_changed": T1["max_predictions_changed"], "max_abs_dlogit": 0.0,
          "max_inflation": float(T1["inflation_reproduced"])}
    return {**ev, **kw}


@pytest.mark.parametrize(("evidence", "expected"), [
    # (b) inflation ≥ 100: reproduced; just below: partial
    (b1(max_inflation=float(T1["inflation_reproduced"])), "reproduced"),
    (b1(max_inflation=below(T1["inflation_reproduced"])), "partially_reproduced"),
    # partial band [10, 100): at 10 partial; just below 10: not
    (b1(max_inflation=float(T1["inflation_partial"])), "partially_reproduced"),
    (b1(max_inflation=below(T1["inflation_partial"])), "not_reproduced"),
    # (a) predictions: none changed vs one changed
    (b1(predictions_changed=T1["max_predictions_changed"] + 1), "not_reproduced"),
    (b1(predictions_changed=T1["max_predictions_changed"] + 1, max_inflation=1e6), "not_reproduced"),
    # (a) max |Δlogit| < 1e-10 (strict)
    (b1(max_abs_dlogit=below(T1["max_abs_dlogit"])), "reproduced"),
    (b1(max_abs_dlogit=float(T1["max_abs_dlogit"])), "not_reproduced"),
    (b1(max_abs_dlogit=below(T1["max_abs_dlogit"]), max_inflation=float(T1["inflation_partial"])),
     "partially_reproduced"),
    (b1(max_abs_dlogit=float(T1["max_abs_dlogit"]), max_inflation=float(T1["inflation_partial"])),
     "not_reproduced"),
])
def test_b1_verdict(evidence, expected):
    assert rp.verdict_b1(evidence) == expected


def test_b1_reads_its_thresholds_from_the_rule():
    rule = copy.deepcopy(B1)
    rule["thresholds"]["inflation_reproduced"] = 40
    assert rp.verdict_b1(b1(max_inflation=50.0)) == "partially_reproduced"
    assert rp.verdict_b1(b1(max_inflation=50.0), rule) == "reproduced"


# -- B2 -------------------------------------------------------------------------------------------
T2 = B2["thresholds"]
F = float(T2["change_factor"])


def b2(**kw):
    ev = {"not_exact": [], "max_entropy_rel_diff": 0.0, "max_dlogit": 0.0,
          "sharpness_changes": {"lambda_max": F, "trace": 1.0}, "simplicity_changes": {"l2_norm": F},
          "min_agreement": 1.0}
    return {**ev, **kw}


@pytest.mark.parametrize(("evidence", "expected"), [
    (b2(), "reproduced"),
    # (ii) change factor ≥ 10 in sharpness AND simplicity
    (b2(sharpness_changes={"lambda_max": below(F)}), "partially_reproduced"),
    (b2(simplicity_changes={"l2_norm": below(F), "path_norm": 1.0}), "partially_reproduced"),
    (b2(sharpness_changes={"lambda_max": below(F)}, simplicity_changes={"l2_norm": below(F)}),
     "not_reproduced"),
    (b2(sharpness_changes={}, simplicity_changes={}), "not_reproduced"),
    # (i) entropy agrees to relative 1e-9 (≤)
    (b2(max_entropy_rel_diff=float(T2["entropy_rtol"])), "reproduced"),
    (b2(max_entropy_rel_diff=above(T2["entropy_rtol"])), "not_reproduced"),
    (b2(max_entropy_rel_diff=None), "not_reproduced"),
    # (i) max |Δlogit| < 1e-10 (strict)
    (b2(max_dlogit=below(T2["max_abs_dlogit"])), "reproduced"),
    (b2(max_dlogit=float(T2["max_abs_dlogit"])), "not_reproduced"),
    (b2(max_dlogit=float(T2["max_abs_dlogit"]), sharpness_changes={"lambda_max": below(F)}),
     "not_reproduced"),
    # (i) bitwise identity of every discrete weakness estimator, test accuracy and prediction
    (b2(not_exact=["w1_tau0.01"]), "not_reproduced"),
    (b2(not_exact=["test arg-max predictions"]), "not_reproduced"),
])
def test_b2_verdict(evidence, expected):
    assert audit.verdict_b2(evidence) == expected


@pytest.mark.parametrize(("sharpness", "reported"), [
    (float(T2["reported_sharpness_factor"]), True),
    (below(T2["reported_sharpness_factor"]), False),
])
def test_b2_two_orders_of_magnitude_is_reported_not_decisive(sharpness, reported):
    ev = b2(sharpness_changes={"lambda_max": sharpness})
    assert audit.b2_checks(ev)["sharpness_ge_reported_factor"] is reported
    assert audit.verdict_b2(ev) == "reproduced"


# -- B5 -------------------------------------------------------------------------------------------
K = float(B5["thresholds"]["se_multiple"])
S0, S1 = 0.3, 0.1
SHRINK = K * math.sqrt(S0**2 + S1**2)


def b5(a0, a1, s0=S0, s1=S1):
    return {"A_small_n": a0, "se_small_n": s0, "A_large_n": a1, "se_large_n": s1}


@pytest.mark.parametrize(("facts", "expected"), [
    (b5(1.5, 0.0), "reproduced"),
    # A(2000) − 2·se(2000) > 0 (strict): a clear advantage at small n
    (b5(above(K * S0), 0.0), "reproduced"),
    (b5(K * S0, 0.0), "not_reproduced"),
    # A(60000) − 2·se(60000) ≤ 0: no advantage distinguishable from zero at large n
    (b5(1.5, K * S1), "reproduced"),
    (b5(1.5, above(K * S1)), "partially_reproduced"),  # shrinkage 1.3 > 2·√(se²+se²) ≈ 0.63
    # A(60000) < A(2000)
    (b5(1.0, below(1.0), s0=0.1, s1=1.0), "reproduced"),
    (b5(1.0, 1.0, s0=0.1, s1=1.0), "not_reproduced"),
    # partial: A(2000) − A(60000) > 2·√(se(2000)² + se(60000)²) while A(60000) > 2·se(60000)
    (b5(0.5 + SHRINK * (1 + 1e-6), 0.5), "partially_reproduced"),
    (b5(0.5 + SHRINK * (1 - 1e-6), 0.5), "not_reproduced"),
    (b5(1.5, 1.4), "not_reproduced"),
    # undefined standard errors (one seed)
    (b5(1.5, 0.0, s0=math.nan), "not_reproduced"),
    (b5(1.5, 0.0, s1=math.nan), "not_reproduced"),
])
def test_b5_verdict(facts, expected):
    assert bs.verdict_b5(facts) == expected


def test_b5_reads_the_se_multiple_and_paper_values_from_the_rule():
    rule = copy.deepcopy(B5)
    rule["thresholds"]["se_multiple"] = 6
    assert bs.verdict_b5(b5(1.5, 0.0)) == "reproduced"
    assert bs.verdict_b5(b5(1.5, 0.0), rule) == "not_reproduced"  # 1.5 − 6·0.3 < 0
    rule["target"]["advantage_pp"] = {2000: 9.0}
    assert bs.paper_advantage(rule) == {2000: 9.0}
