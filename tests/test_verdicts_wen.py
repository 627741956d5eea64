"""The registered verdict rules of WLM-I, WLM-II, WLM-III on synthetic inputs: each threshold (read from
``configs/wen_scenario_*.yaml``) is crossed from both sides and the exact verdict string checked;
and the bounded interval used for WLM-III's mean accuracy."""

from __future__ import annotations

import math

import pytest

from weakness_lib.engine import base
from weakness_lib.studies.wen import common as W
from weakness_lib.studies.wen import scenario_1 as S1
from weakness_lib.studies.wen import scenario_2 as S2
from weakness_lib.studies.wen import scenario_3 as S3
from weakness_lib.wen import constructions as C

R1 = base.rule("wen_scenario_1", "WLM-I")
R2 = base.rule("wen_scenario_2", "WLM-II")
R3 = base.rule("wen_scenario_3", "WLM-III")
T1, T2, T3 = R1["thresholds"], R2["thresholds"], R3["thresholds"]
SEEDS = [0, 1, 2]
D = 1e-3  # a step across a threshold, far above float rounding


def per_seed(value, n_changed: int, changed):
    """``value`` in every seed except the first ``n_changed`` seeds, which get ``changed``."""
    return [changed if s < n_changed else value for s in SEEDS]


# -- WLM-I ---------------------------------------------------------------------------------------


def w1(*, gd_acc=None, sam_acc=None, gd_trace=None, sam_trace=None, bn_acc=None, bn_ratio=None,
       rel_err=1e-12, z=0.5):
    gd_acc = gd_acc or [1.0] * 3
    sam_acc = sam_acc or [1.0] * 3
    gd_trace = gd_trace or [70.0] * 3
    sam_trace = sam_trace or [28.0] * 3
    bn_acc = bn_acc or [0.99] * 3
    bn_ratio = bn_ratio or [2.7] * 3
    rows = []
    for s in SEEDS:
        rows.append({"run": "gd_wd_nobias", "seed": s, "final_test_acc": gd_acc[s],
                     "final_trace": gd_trace[s]})
        rows.append({"run": "sam1_nobias", "seed": s, "final_test_acc": sam_acc[s],
                     "final_trace": sam_trace[s]})
        rows.append({"run": "sam1_simbn", "seed": s, "final_test_acc": bn_acc[s],
                     "final_trace": 12.0, "feature_ratio": bn_ratio[s]})
    cons = {"rel_err_dense": rel_err, "hutchinson_z": z, "closed_form_trace": 45.1,
            "dense_trace": 45.1}
    return S1.checks(R1, base.settings("wen_scenario_1", "smoke").replace(d=30, seeds=SEEDS), rows, cons)


def test_w1_all_conditions_hold():
    out = w1()
    assert out["verdict"] == "reproduced"
    assert out["our_value"] == 1.0 and out["ci95"] is None


@pytest.mark.parametrize("kw, verdict", [
    # (a) closed form vs dense Hessian
    ({"rel_err": T1["dense_rel_err"] * 0.5}, "reproduced"),
    ({"rel_err": T1["dense_rel_err"]}, "not_reproduced"),
    # (a) Hutchinson within z standard errors
    ({"z": T1["hutchinson_z"] - D}, "reproduced"),
    ({"z": T1["hutchinson_z"]}, "not_reproduced"),
    # (b) accuracy of 1-SAM and GD+WD in every seed; one failing seed with (d) holding is partial
    ({"sam_acc": per_seed(1.0, 3, T1["min_acc"])}, "reproduced"),
    ({"sam_acc": per_seed(1.0, 1, T1["min_acc"] - D)}, "partially_reproduced"),
    ({"gd_acc": per_seed(1.0, 1, T1["min_acc"] - D)}, "partially_reproduced"),
    ({"sam_acc": per_seed(1.0, 2, T1["min_acc"] - D)}, "not_reproduced"),
    # (c) trace ratio in every seed
    ({"sam_trace": per_seed(28.0, 3, T1["trace_ratio"] * 70.0 - D)}, "reproduced"),
    ({"sam_trace": per_seed(28.0, 1, T1["trace_ratio"] * 70.0 + D)}, "partially_reproduced"),
    ({"sam_trace": per_seed(28.0, 2, T1["trace_ratio"] * 70.0 + D)}, "not_reproduced"),
    # (d) Sim-BN accuracy and feature ratio in >= bn_min_seeds seeds; (a)-(c) alone is partial
    ({"bn_acc": per_seed(0.99, 3 - T1["bn_min_seeds"], T1["bn_acc"] - D)}, "reproduced"),
    ({"bn_acc": per_seed(0.99, 3, T1["bn_acc"])}, "reproduced"),
    ({"bn_acc": per_seed(0.99, 4 - T1["bn_min_seeds"], T1["bn_acc"] - D)},
     "partially_reproduced"),
    ({"bn_ratio": per_seed(2.7, 3, T1["bn_feature_ratio"])}, "reproduced"),
    ({"bn_ratio": per_seed(2.7, 4 - T1["bn_min_seeds"], T1["bn_feature_ratio"] - D)},
     "partially_reproduced"),
    # (b) fails in one seed and (d) fails: neither partial branch
    ({"sam_acc": per_seed(1.0, 1, 0.5), "bn_acc": per_seed(0.99, 3, 0.5)}, "not_reproduced"),
])
def test_w1_each_threshold_from_both_sides(kw, verdict):
    assert w1(**kw)["verdict"] == verdict


def test_w1_value_is_the_minimum_accuracy():
    out = w1(sam_acc=[1.0, 0.97, 1.0], gd_acc=[0.99, 1.0, 1.0])
    assert out["our_value"] == 0.97
    assert out["per_seed"][1]["b"] is False and out["conditions"]["n_seeds_b"] == 2


# -- WLM-II --------------------------------------------------------------------------------------

BOUND2 = C.bias_trace_bound(30)


def cons_ok(**over):
    cons = {
        "memoriser": {"train_mse": 0.0, "rel_err_bound": 0.0, "frac_test_outputs_zero": 1.0,
                      "test_acc": 0.0, "trace": 22.27},
        "generaliser": {"train_mse": 0.0, "rel_err_bound": 0.0, "frac_test_outputs_zero": 0.0,
                        "test_acc": 1.0, "trace": 22.27},
    }
    for path, value in over.items():
        which, field = path.split(".")
        cons[which][field] = value
    return cons


def w2(*, sam_acc=None, peak=None, trace=None, gd_acc=None, ctrl_acc=None, cons=None):
    sam_acc = sam_acc or [0.7] * 3
    peak = peak or [0.8] * 3
    trace = trace or [BOUND2] * 3
    gd_acc = gd_acc or [1.0] * 3
    ctrl_acc = ctrl_acc or [1.0] * 3
    rows = []
    for s in SEEDS:
        rows.append({"run": "sam1_bias", "seed": s, "final_test_acc": sam_acc[s],
                     "peak_test_acc": peak[s], "final_trace": trace[s]})
        rows.append({"run": "gd_wd_bias", "seed": s, "final_test_acc": gd_acc[s],
                     "final_trace": 70.0})
        rows.append({"run": "sam1_nobias", "seed": s, "final_test_acc": ctrl_acc[s],
                     "final_trace": 28.0})
    return S2.checks(R2, base.settings("wen_scenario_2", "smoke").replace(d=30, seeds=SEEDS), rows,
                     cons or cons_ok())


def test_w2_all_conditions_hold():
    out = w2()
    assert out["verdict"] == "reproduced"
    assert out["our_value"] == pytest.approx(0.3)
    assert out["ci95"] == [pytest.approx(0.3), pytest.approx(0.3)]


FAIL2 = 4 - T2["min_seeds"]  # seeds that must fail for a condition to hold in < min_seeds
PASS2 = 3 - T2["min_seeds"]  # seeds that may fail while it still holds


@pytest.mark.parametrize("kw, verdict", [
    # (a) final trace within the relative band around 4 sqrt(d+1)
    ({"trace": per_seed(BOUND2, 3, BOUND2 * (1 + T2["trace_rel_band"]) - D)}, "reproduced"),
    ({"trace": per_seed(BOUND2, 3, BOUND2 * (1 - T2["trace_rel_band"]) + D)}, "reproduced"),
    ({"trace": per_seed(BOUND2, PASS2, 30.0)}, "reproduced"),
    ({"trace": per_seed(BOUND2, FAIL2, BOUND2 * (1 + T2["trace_rel_band"]) + D)},
     "partially_reproduced"),
    ({"trace": per_seed(BOUND2, FAIL2, BOUND2 * (1 - T2["trace_rel_band"]) - D)},
     "partially_reproduced"),
    # (b) the gap to GD+WD (the condition a partial verdict needs)
    ({"sam_acc": per_seed(0.7, 3, 1.0 - T2["acc_gap"] - D), "peak": [1.0] * 3}, "reproduced"),
    ({"sam_acc": per_seed(0.7, FAIL2, 1.0 - T2["acc_gap"] + D), "peak": [1.0] * 3},
     "not_reproduced"),
    # (c) the fall from the peak
    ({"peak": per_seed(0.8, 3, 0.7 + T2["peak_drop"] + D)}, "reproduced"),
    ({"peak": per_seed(0.8, FAIL2, 0.7 + T2["peak_drop"] - D)}, "partially_reproduced"),
    # (d) the no-bias control keeps generalising
    ({"ctrl_acc": per_seed(1.0, 3, T2["control_acc"])}, "reproduced"),
    ({"ctrl_acc": per_seed(1.0, FAIL2, T2["control_acc"] - D)}, "partially_reproduced"),
    # (e) the constructions, field by field
    ({"cons": cons_ok(**{"memoriser.train_mse": T2["construction_train_mse"] / 2})}, "reproduced"),
    ({"cons": cons_ok(**{"memoriser.train_mse": T2["construction_train_mse"]})}, "not_reproduced"),
    ({"cons": cons_ok(**{"generaliser.train_mse": T2["construction_train_mse"]})},
     "not_reproduced"),
    ({"cons": cons_ok(**{"generaliser.rel_err_bound": T2["construction_rel_err"] / 2})},
     "reproduced"),
    ({"cons": cons_ok(**{"generaliser.rel_err_bound": T2["construction_rel_err"]})},
     "not_reproduced"),
    ({"cons": cons_ok(**{"memoriser.rel_err_bound": T2["construction_rel_err"]})},
     "not_reproduced"),
    ({"cons": cons_ok(**{"memoriser.frac_test_outputs_zero": T2["memoriser_zero_frac"] - D})},
     "not_reproduced"),
    ({"cons": cons_ok(**{"generaliser.test_acc": T2["generaliser_acc"] - D})}, "not_reproduced"),
])
def test_w2_each_threshold_from_both_sides(kw, verdict):
    assert w2(**kw)["verdict"] == verdict


# -- WLM-III -------------------------------------------------------------------------------------


def w3(*, sam_acc=None, sam_trace=None, sgd_acc=None, sgd_trace=None, cons=None, n_test=4000):
    sam_acc = sam_acc or [0.97] * 3
    sam_trace = sam_trace or [2.05] * 3
    sgd_acc = sgd_acc or [0.64] * 3
    sgd_trace = sgd_trace or [17.5] * 3
    rows = []
    for s in SEEDS:
        rows.append({"run": "sam1_simln_projected", "seed": s, "final_test_acc": sam_acc[s],
                     "final_trace": sam_trace[s], "final_trace_hutchinson": 2.1})
        rows.append({"run": "sgd_simln_projected", "seed": s, "final_test_acc": sgd_acc[s],
                     "final_trace": sgd_trace[s]})
    return S3.checks(R3, base.settings("wen_scenario_3", "smoke").replace(seeds=SEEDS, n_test=n_test), rows,
                     cons or cons_ok())


def test_w3_all_conditions_hold():
    out = w3()
    assert out["verdict"] == "reproduced"
    assert out["our_value"] == pytest.approx(0.97)
    lo, hi = out["ci95"]
    assert 0.0 <= lo <= out["our_value"] <= hi <= 1.0


FAIL3 = 4 - T3["min_seeds"]


@pytest.mark.parametrize("kw, verdict", [
    # (a) projected 1-SAM generalises (the condition a partial verdict needs)
    ({"sam_acc": per_seed(0.97, 3, T3["sam_acc"])}, "reproduced"),
    ({"sam_acc": per_seed(0.97, FAIL3, T3["sam_acc"] - D)}, "not_reproduced"),
    # (b) its trace near the bound 2
    ({"sam_trace": per_seed(2.05, 3, T3["sam_trace_max"])}, "reproduced"),
    ({"sam_trace": per_seed(2.05, FAIL3, T3["sam_trace_max"] + D)}, "partially_reproduced"),
    # (c) projected SGD: lower accuracy ...
    ({"sgd_acc": per_seed(0.64, 3, 0.97 - T3["sgd_acc_gap"] - D)}, "reproduced"),
    ({"sgd_acc": per_seed(0.64, FAIL3, 0.97 - T3["sgd_acc_gap"] + D)}, "partially_reproduced"),
    # ... and a larger trace
    ({"sgd_trace": per_seed(17.5, 3, T3["sgd_trace_factor"] * 2.05 + D)}, "reproduced"),
    ({"sgd_trace": per_seed(17.5, FAIL3, T3["sgd_trace_factor"] * 2.05 - D)},
     "partially_reproduced"),
    # (d) the Sim-LN constructions
    ({"cons": cons_ok(**{"memoriser.train_mse": T3["construction_train_mse"]})}, "not_reproduced"),
    ({"cons": cons_ok(**{"generaliser.rel_err_bound": T3["construction_rel_err"]})},
     "not_reproduced"),
    ({"cons": cons_ok(**{"memoriser.frac_test_outputs_zero": T3["memoriser_zero_frac"] - D})},
     "not_reproduced"),
    ({"cons": cons_ok(**{"generaliser.test_acc": T3["generaliser_acc"] - D})}, "not_reproduced"),
    ({"cons": cons_ok(**{"generaliser.rel_err_bound": T3["construction_rel_err"] / 2})},
     "reproduced"),
])
def test_w3_each_threshold_from_both_sides(kw, verdict):
    assert w3(**kw)["verdict"] == verdict


# -- registration and the bounded interval -------------------------------------------------------


def test_registered_targets_match_the_theory():
    assert R2["target"]["trace_bound"] == round(C.bias_trace_bound(30), 2)
    assert R3["target"]["trace_bound"] == C.simln_trace_bound()
    for rule in (R1, R2, R3):
        assert rule["verdict_rule"].strip() and rule["deviations"].strip()


def test_accuracy_interval_stays_in_the_unit_interval():
    # the committed WLM-III seeds: mean ± t·se gave [0.912, 1.054]
    accs = [0.95, 0.99925, 1.0]
    mean, (lo, hi) = W.accuracy_ci95(accs, n_test=4000)
    assert mean == pytest.approx(0.9830833333333334)
    assert 0.0 <= lo < mean < hi <= 1.0
    assert W.mean_ci95(accs)[1][1] > 1.0  # the symmetric t-interval does leave [0, 1]
    # all seeds perfect: no spread, the cap (all test predictions) keeps the interval open below
    mean, (lo, hi) = W.accuracy_ci95([1.0, 1.0, 1.0], n_test=4000)
    assert mean == 1.0 and hi == pytest.approx(1.0, abs=1e-12) and 0.99 < lo < 1.0
    mean, (lo, hi) = W.accuracy_ci95([0.0, 0.0], n_test=100)
    assert mean == 0.0 and lo == pytest.approx(0.0, abs=1e-12) and 0.0 < hi < 1.0
    assert W.accuracy_ci95([0.9], n_test=100) == (0.9, None)


def test_accuracy_interval_is_the_wilson_interval_at_the_effective_size():
    accs = [0.4, 0.5, 0.6]
    mean, (lo, hi) = W.accuracy_ci95(accs, n_test=10_000)
    assert mean == pytest.approx(0.5)
    assert (lo + hi) / 2 == pytest.approx(0.5)  # Wilson is centred at 1/2 for p̂ = 1/2
    t = 4.302652729749464  # Student t, 2 df, 97.5 %
    n_eff = 0.25 / (0.01 / 3)
    half = t / (1 + t * t / n_eff) * math.sqrt(0.25 / n_eff + t * t / (4 * n_eff**2))
    assert hi - 0.5 == pytest.approx(half, rel=1e-9)
