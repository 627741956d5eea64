"""Chapter 09, claim WLM-III: Wen, Li & Ma (2023) Scenario III — Sim-LN: flattest memorisers exist,
yet 1-SAM generalises; and the side-by-side of the three scenarios.

Units (one store row each, see :mod:`weakness_lib.studies.wen.common`):

* ``constructions``: the Sim-LN memoriser and 4-neuron generaliser (Props 5.1–5.2, ε = 1e-4) on
  the seed-0 training set in width 500 — training MSE, Gauss–Newton trace (exact at
  interpolation) against 2, Hutchinson estimate, test accuracy, fraction of zero test outputs;
  dense float64 Hessian check on the first ``dense_check_points`` training points.
* ``<run>/seed<s>``: projected 1-SAM (paper Fig 6b schedule, ‖[W1, b1]‖_F = 10 after every
  step), plain SGD under the same projection, and unprojected 1-SAM from a ×0.01 first-layer
  initialisation (Fig 6a, shortened; descriptive). Every Sim-LN row also holds a first-layer
  scale sweep of its final model (f unchanged, trace → 2 as the scale grows).

The study protocol (:mod:`weakness_lib.engine.base`): :func:`units`, :func:`compute_unit`,
:func:`analyse` (which also reads the stored tables of Scenarios I and II for the side-by-side),
:func:`claims`; the WLM-III rule is :func:`checks` (thresholds from ``configs/wen_scenario_3.yaml``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from weakness_lib.core import ieee
from weakness_lib.studies.wen import common as W
from weakness_lib.studies.wen import scenario_1, scenario_2, settings
from weakness_lib.wen import constructions as C
from weakness_lib.wen import twolayer
from weakness_lib.wen.twolayer import TwoLayerSpec

EXPERIMENT = "wen_scenario_3"
SETTINGS = settings.Scenario3  # the typed settings of configs/<study>.yaml
NOTEBOOK = "09_wen_scenario_III.ipynb"
CLAIMS = ("WLM-III",)

LABELS = {
    "sam1_simln_projected": "1-SAM (Sim-LN, projected)",
    "sgd_simln_projected": "SGD (Sim-LN, projected)",
    "sam1_simln_standard": "1-SAM (Sim-LN, ×0.01 init, unprojected)",
}


def constructions_row(config: settings.Scenario3) -> dict[str, Any]:
    """The two flattest Sim-LN interpolators and their checks (module docstring)."""
    data = W.data_for(config, int(config.construction_seed))
    X, y = data.X_train, data.y_train
    d, eps = config.d, float(config.ln_eps)
    m = max(int(config.width), int(config.n_train))  # the memoriser needs m ≥ n
    spec = TwoLayerSpec("simln", d, width=m, ln_eps=eps)
    bound = C.simln_trace_bound()
    R = float(config.runs["sam1_simln_projected"].project_norm)
    row: dict[str, Any] = {"bound": bound, "ln_eps": eps, "width": m}
    for name, p in {
        "memoriser": C.simln_memoriser(spec, X, y),
        "generaliser": C.simln_generaliser(spec),
    }.items():
        out = twolayer.forward(spec, p, data.X_test)
        hutch = twolayer.hutchinson_trace(
            spec, p, X, y, n_probes=int(config.hutchinson_probes), seed=0
        )
        trace = twolayer.gauss_newton_trace(spec, p, X)
        row[name] = {
            "train_mse": float(twolayer.mse(spec, p, X, y)),
            "trace": trace,
            "rel_err_bound": abs(trace - bound) / bound,
            "hutchinson": hutch.mean,
            "hutchinson_se": hutch.stderr,
            "test_acc": twolayer.accuracy(out, data.y_test),
            "test_acc_random_ties": W.tie_broken_accuracy(out, data.y_test),
            "frac_test_outputs_zero": float((out == 0).double().mean()),
            "first_layer_norm": float(ieee.sqrt(p["W1"].pow(2).sum() + p["b1"].pow(2).sum())),
        }
        # the counter-example survives the projection: rescale its first layer to norm R
        q = C.scale_first_layer(p, R / row[name]["first_layer_norm"])
        row[name]["projected_norm"] = R
        row[name]["trace_at_projected_norm"] = twolayer.gauss_newton_trace(spec, q, X)
        row[name]["train_mse_at_projected_norm"] = float(twolayer.mse(spec, q, X, y))
        row[name]["max_abs_df_at_projected_norm"] = float(
            (twolayer.forward(spec, q, data.X_test) - out).abs().max()
        )
    k = int(config.dense_check_points)
    Xs, ys = X[:k], y[:k]
    for name, p in {
        "memoriser": C.simln_memoriser(TwoLayerSpec("simln", d, k, ln_eps=eps), Xs, ys),
        "generaliser": C.simln_generaliser(TwoLayerSpec("simln", d, 4, ln_eps=eps)),
    }.items():
        small = TwoLayerSpec("simln", d, width=p["W1"].shape[0], ln_eps=eps)
        row[name]["dense_trace_small"] = twolayer.dense_trace(small, p, Xs, ys)
    return row


def checks(rule: Mapping[str, Any], config: settings.Scenario3, rows: list[dict],
           cons: Mapping[str, Any]) -> dict[str, Any]:
    """The registered WLM-III rule (pure): conditions (a)–(c) per seed, (d) on the constructions.

    (a) projected 1-SAM reaches ``sam_acc``; (b) its final trace ≤ ``sam_trace_max``; (c)
    projected SGD's accuracy ≤ 1-SAM's − ``sgd_acc_gap`` and its trace ≥ ``sgd_trace_factor`` ×
    1-SAM's; (d) :func:`~weakness_lib.studies.wen.common.constructions_hold`. our_value: the mean
    final test accuracy of projected 1-SAM, with the bounded 95 % interval of
    :func:`~weakness_lib.studies.wen.common.accuracy_ci95`.
    """
    th = rule["thresholds"]
    sam1, sgd = W.by_seed(rows, "sam1_simln_projected"), W.by_seed(rows, "sgd_simln_projected")
    per_seed = {}
    for s in (int(s) for s in config.seeds):
        a, b = sam1[s], sgd[s]
        per_seed[s] = {
            "sam_acc": a["final_test_acc"],
            "sam_trace": a["final_trace"],
            "sam_trace_hutchinson": a["final_trace_hutchinson"],
            "sgd_acc": b["final_test_acc"],
            "sgd_trace": b["final_trace"],
            "a": a["final_test_acc"] >= th["sam_acc"],
            "b": a["final_trace"] <= th["sam_trace_max"],
            "c": b["final_test_acc"] <= a["final_test_acc"] - th["sgd_acc_gap"]
            and b["final_trace"] >= th["sgd_trace_factor"] * a["final_trace"],
        }
    d = W.constructions_hold(cons, th)
    counts = {c: sum(v[c] for v in per_seed.values()) for c in "abc"}
    mean, ci = W.accuracy_ci95((v["sam_acc"] for v in per_seed.values()), config.n_test)
    return {
        "verdict": W.verdict_from_counts(d, counts, "a", th["min_seeds"]),
        "our_value": mean,
        "ci95": ci,
        "per_seed": per_seed,
        "conditions": {"d_constructions": d, "seeds_passing": counts},
        "details": {
            "memoriser_trace": cons["memoriser"]["trace"],
            "generaliser_trace": cons["generaliser"]["trace"],
            "ci95_method": "Wilson score interval at the effective sample size p(1-p)/se^2 over "
            "seeds, Student-t quantile (seeds - 1 df); stays inside [0, 1]",
        },
    }


def bound(config: settings.Scenario3) -> float:
    """The minimal trace among Sim-LN interpolators, 2 (Thm 5.1)."""
    return C.simln_trace_bound()


def frames(config: settings.Scenario3, rows: list[dict], cons: Mapping[str, Any]) -> dict:
    """The constructions table and the first-layer scale sweeps of the final models."""
    sweeps = pd.DataFrame(
        [{"run": r["run"], "seed": r["seed"], **s} for r in rows for s in r.get("scale_sweep", [])]
    )
    return {**W.constructions_frames(config, rows, cons), "scale_sweep": sweeps}


SCENARIO = W.Scenario(
    study=EXPERIMENT,
    claim_id="WLM-III",
    labels=LABELS,
    constructions=constructions_row,
    checks=checks,
    bound=bound,
    frames=frames,
)
# the study protocol of weakness_lib.engine.base, implemented once in studies.wen.common.Scenario
units = W.units
compute_unit = SCENARIO.compute_unit
claims = SCENARIO.claims


def analyse(scale: str) -> dict[str, Any]:
    """The chapter's numbers and WLM-III checks from the stored table, plus ``side_by_side``: the three
    scenarios from the stored tables of Scenarios I and II (read, never recomputed)."""
    result = SCENARIO.analyse(scale)
    result["side_by_side"] = side_by_side(
        scenario_1.analyse(scale), scenario_2.analyse(scale), result
    )
    return result


#: (scenario, index of its analysed result, architecture, 1-SAM run, baseline run, whether the
#: line shows the scenario's constructions and its bound)
_SIDE_BY_SIDE = [
    ("I", 0, "no bias", "sam1_nobias", "gd_wd_nobias", False, True),
    ("I", 0, "Sim-BN", "sam1_simbn", None, False, False),
    ("II", 1, "first-layer bias", "sam1_bias", "gd_wd_bias", True, True),
    ("III", 2, "Sim-LN (projected)", "sam1_simln_projected", "sgd_simln_projected", True, True),
]
_FLATTEST_MEMORISER = {"no bias": "no (Thm 3.1)", "Sim-BN": "no (Thm 3.2, near-flattest)"}
_BASELINE = {
    "gd_wd_nobias": "GD+WD",
    "gd_wd_bias": "GD+WD",
    "sgd_simln_projected": "SGD (projected)",
}


def side_by_side(*results: Mapping[str, Any]) -> pd.DataFrame:
    """One line per scenario: theory (flattest-interpolator traces) and what 1-SAM found, from the
    analysed results of Scenarios I, II and III (in that order)."""

    def summary(res: Mapping[str, Any], run_name: str) -> tuple[float, float, float, float]:
        f = res["final"]
        f = f[f["run"] == run_name]
        return (
            f["final_test_acc"].mean(),
            f["final_test_acc"].min(),
            f["final_test_acc"].max(),
            f["final_trace"].mean(),
        )

    lines = []
    for scenario, i, arch, sam_run, base_run, show_cons, show_bound in _SIDE_BY_SIDE:
        res = results[i]
        acc, lo, hi, trace = summary(res, sam_run)
        base = summary(res, base_run) if base_run else (float("nan"),) * 4
        cons = res["constructions"]
        lines.append(
            {
                "scenario": scenario,
                "architecture": arch,
                "flattest memoriser exists": _FLATTEST_MEMORISER.get(arch, "yes"),
                "memoriser trace": cons["memoriser"]["trace"] if show_cons else None,
                "generaliser trace": cons["generaliser"]["trace"] if show_cons else None,
                "bound": res["bound"] if show_bound else None,
                "1-SAM test acc (mean)": acc,
                "1-SAM test acc (min–max)": f"{lo:.3f}–{hi:.3f}",
                "1-SAM final trace": trace,
                "baseline": _BASELINE.get(base_run, ""),
                "baseline test acc": base[0],
                "baseline final trace": base[3],
                "claim": res["claim_id"],
                "verdict": res["checks"]["verdict"],
            }
        )
    return pd.DataFrame(lines)
