"""Chapter 08, claim WLM-II: Wen, Li & Ma (2023) Scenario II — the first-layer bias breaks 1-SAM.

Units (one store row each, see :mod:`weakness_lib.studies.wen.common`):

* ``constructions``: the memorising and the 4-neuron generalising bias nets (Thm 4.1,
  Props 4.1–4.2) on the seed-0 training set, embedded in width 500 — training MSE, closed-form
  trace against 4√(d+1), Hutchinson estimate, test accuracy (zero outputs count as errors, and
  with ties broken at random), fraction of test outputs that are exactly 0; and a dense float64
  Hessian check of both on the first ``dense_check_points`` training points.
* ``<run>/seed<s>``: GD + weight decay and 1-SAM on the bias net, and the no-bias net on the same
  1-SAM schedule (control), with curves (test accuracy, test MSE, training loss, exact trace,
  fraction of active neurons per test input) against epochs.

The study protocol (:mod:`weakness_lib.engine.base`): :func:`units`, :func:`compute_unit`,
:func:`analyse`, :func:`claims`; the WLM-II rule is :func:`checks` (thresholds from
``configs/wen_scenario_2.yaml``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from weakness_lib.studies.wen import common as W
from weakness_lib.studies.wen import settings
from weakness_lib.wen import constructions as C
from weakness_lib.wen import twolayer
from weakness_lib.wen.twolayer import TwoLayerSpec

EXPERIMENT = "wen_scenario_2"
SETTINGS = settings.Scenario2  # the typed settings of configs/<study>.yaml
NOTEBOOK = "08_wen_scenario_II.ipynb"
CLAIMS = ("WLM-II",)

LABELS = {
    "gd_wd_bias": "GD + WD (bias)",
    "sam1_bias": "1-SAM (bias)",
    "sam1_nobias": "1-SAM (no bias, control)",
}


def _describe(spec: TwoLayerSpec, p, data, n_probes: int) -> dict[str, Any]:
    X, y = data.X_train, data.y_train
    out = twolayer.forward(spec, p, data.X_test)
    hutch = twolayer.hutchinson_trace(spec, p, X, y, n_probes=n_probes, seed=0)
    return {
        "train_mse": float(twolayer.mse(spec, p, X, y)),
        "trace": twolayer.closed_form_trace(spec, p, X),
        "hutchinson": hutch.mean,
        "hutchinson_se": hutch.stderr,
        "test_acc": twolayer.accuracy(out, data.y_test),
        "test_acc_random_ties": W.tie_broken_accuracy(out, data.y_test),
        "frac_test_outputs_zero": float((out == 0).double().mean()),
        "active_neurons": int((p["W2"] != 0).sum()),
    }


def constructions_row(config: settings.Scenario2) -> dict[str, Any]:
    """The two flattest interpolators of the bias net and their checks (module docstring)."""
    data = W.data_for(config, int(config.construction_seed))
    d, m = config.d, max(int(config.width), int(config.n_train))  # memoriser: m ≥ n
    spec = TwoLayerSpec("bias", d, width=m)
    bound = C.bias_trace_bound(d)
    models = {
        "memoriser": C.bias_memoriser(spec, data.X_train, data.y_train),
        "generaliser": C.bias_generaliser(spec),
    }
    row: dict[str, Any] = {"bound": bound, "width": m}
    for name, p in models.items():
        row[name] = _describe(spec, p, data, int(config.hutchinson_probes))
        row[name]["rel_err_bound"] = abs(row[name]["trace"] - bound) / bound
    k = int(config.dense_check_points)
    Xs, ys = data.X_train[:k], data.y_train[:k]
    for name, p in {
        "memoriser": C.bias_memoriser(TwoLayerSpec("bias", d, width=k), Xs, ys),
        "generaliser": C.bias_generaliser(TwoLayerSpec("bias", d, width=4)),
    }.items():
        small = TwoLayerSpec("bias", d, width=p["W1"].shape[0])
        row[name]["dense_trace_small"] = twolayer.dense_trace(small, p, Xs, ys)
        row[name]["closed_form_trace_small"] = twolayer.closed_form_trace(small, p, Xs)
    return row


def checks(rule: Mapping[str, Any], config: settings.Scenario2, rows: list[dict],
           cons: Mapping[str, Any]) -> dict[str, Any]:
    """The registered WLM-II rule (pure): conditions (a)–(d) per seed, (e) on the constructions.

    (a) 1-SAM's final trace within ``trace_rel_band`` of 4√(d+1); (b) its accuracy ≤ GD+WD's −
    ``acc_gap``; (c) final ≤ peak accuracy − ``peak_drop``; (d) the no-bias control reaches
    ``control_acc``; (e) :func:`~weakness_lib.studies.wen.common.constructions_hold`. our_value:
    the mean GD+WD − 1-SAM accuracy gap with its Student-t 95 % interval over seeds.
    """
    th = rule["thresholds"]
    gd, sam1, ctrl = (W.by_seed(rows, r) for r in ("gd_wd_bias", "sam1_bias", "sam1_nobias"))
    bound = C.bias_trace_bound(config.d)
    per_seed = {}
    for s in (int(s) for s in config.seeds):
        r = sam1[s]
        per_seed[s] = {
            "sam_acc": r["final_test_acc"],
            "sam_peak_acc": r["peak_test_acc"],
            "sam_trace": r["final_trace"],
            "gd_acc": gd[s]["final_test_acc"],
            "gd_trace": gd[s]["final_trace"],
            "control_acc": ctrl[s]["final_test_acc"],
            "control_trace": ctrl[s]["final_trace"],
            "gap": gd[s]["final_test_acc"] - r["final_test_acc"],
            "a": abs(r["final_trace"] - bound) <= th["trace_rel_band"] * bound,
            "b": r["final_test_acc"] <= gd[s]["final_test_acc"] - th["acc_gap"],
            "c": r["final_test_acc"] <= r["peak_test_acc"] - th["peak_drop"],
            "d": ctrl[s]["final_test_acc"] >= th["control_acc"],
        }
    e = W.constructions_hold(cons, th)
    counts = {c: sum(v[c] for v in per_seed.values()) for c in "abcd"}
    mean, ci = W.mean_ci95(v["gap"] for v in per_seed.values())
    return {
        "verdict": W.verdict_from_counts(e, counts, "b", th["min_seeds"]),
        "our_value": mean,
        "ci95": ci,
        "per_seed": per_seed,
        "conditions": {"e_constructions": e, "seeds_passing": counts},
        "details": {
            "bound_4sqrt_d_plus_1": bound,
            "memoriser_trace": cons["memoriser"]["trace"],
            "generaliser_trace": cons["generaliser"]["trace"],
        },
    }


def bound(config: settings.Scenario2) -> float:
    """The minimal trace among interpolators, 4√(d+1) (Thm 4.1)."""
    return C.bias_trace_bound(config.d)


SCENARIO = W.Scenario(
    study=EXPERIMENT,
    claim_id="WLM-II",
    labels=LABELS,
    constructions=constructions_row,
    checks=checks,
    bound=bound,
    frames=W.constructions_frames,
)
# the study protocol of weakness_lib.engine.base, implemented once in studies.wen.common.Scenario
units = W.units
compute_unit = SCENARIO.compute_unit
analyse = SCENARIO.analyse
claims = SCENARIO.claims
