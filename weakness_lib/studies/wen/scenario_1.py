"""Chapter 07, claim WLM-I: Wen, Li & Ma (2023) Scenario I — flattest minimisers generalise.

Units (one store row each, see :mod:`weakness_lib.studies.wen.common`):

* ``constructions``: the width-4 no-bias interpolator of App A.2.4 on the seed-0 training set —
  closed-form trace vs the dense float64 Hessian (width 4) and Hutchinson (width-500 embedding);
  the trace along the rescaling orbit (w_j, W2_j) → (w_j/c, c W2_j), which leaves f unchanged,
  and its minimum over per-neuron rescalings (the path-norm form of Lemma 3.1).
* ``<run>/seed<s>``: GD + weight decay and 1-SAM on the no-bias net, 1-SAM on Sim-BN; curves of
  test accuracy, test MSE, training loss and trace (exact closed form for the no-bias net,
  Gauss–Newton for Sim-BN) against epochs.

The study protocol (:mod:`weakness_lib.engine.base`): :func:`units`, :func:`compute_unit`,
:func:`analyse`, :func:`claims`; the WLM-I rule is :func:`checks` (thresholds from
``configs/wen_scenario_1.yaml``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from weakness_lib.core import ieee
from weakness_lib.studies.wen import common as W
from weakness_lib.studies.wen import settings
from weakness_lib.wen import constructions as C
from weakness_lib.wen import twolayer
from weakness_lib.wen.twolayer import TwoLayerSpec

EXPERIMENT = "wen_scenario_1"
SETTINGS = settings.Scenario1  # the typed settings of configs/<study>.yaml
NOTEBOOK = "07_wen_scenario_I.ipynb"
CLAIMS = ("WLM-I",)

LABELS = {
    "gd_wd_nobias": "GD + WD (no bias)",
    "sam1_nobias": "1-SAM (no bias)",
    "sam1_simbn": "1-SAM (Sim-BN)",
}


def constructions_row(config: settings.Scenario1) -> dict[str, Any]:
    """Trace checks of the no-bias width-4 interpolator (see module docstring)."""
    data = W.data_for(config, int(config.construction_seed))
    X, y, d = data.X_train, data.y_train, config.d
    eps = float(config.construction_eps)
    small = TwoLayerSpec("nobias", d, width=4)
    p4 = C.nobias_width4(small, eps)
    closed4 = twolayer.closed_form_trace(small, p4, X)
    dense4 = twolayer.dense_trace(small, p4, X, y)
    big = TwoLayerSpec("nobias", d, width=int(config.width))
    pbig = C.nobias_width4(big, eps)
    hutch = twolayer.hutchinson_trace(
        big, pbig, X, y, n_probes=int(config.hutchinson_probes), seed=0
    )
    orbit = []
    for c in config.rescale_grid:
        q = C.rescale_neurons(p4, float(c))
        orbit.append(
            {
                "c": float(c),
                "trace": twolayer.closed_form_trace(small, q, X),
                "max_abs_df": float(
                    (
                        twolayer.forward(small, q, data.X_test)
                        - twolayer.forward(small, p4, data.X_test)
                    )
                    .abs()
                    .max()
                ),
            }
        )
    # min over per-neuron c_j of (2/n) Σ_i [c_j² W2_j² a_ij ‖x_i‖² + h_ij²/c_j²]
    #   = (4/n) Σ_j |W2_j| (Σ_i a_ij ‖x_i‖²)^{1/2} (Σ_i h_ij²)^{1/2}
    Z = X @ p4["W1"].T
    A, H, q = (Z > 0).double(), torch.relu(Z), (X**2).sum(dim=1)
    per_neuron_min = float(
        4
        / X.shape[0]
        * (p4["W2"].abs() * ieee.sqrt((A * q[:, None]).sum(0) * (H**2).sum(0))).sum()
    )
    return {
        "eps": eps,
        "train_mse": float(twolayer.mse(small, p4, X, y)),
        "test_acc": twolayer.accuracy(twolayer.forward(small, p4, data.X_test), data.y_test),
        "closed_form_trace": closed4,
        "dense_trace": dense4,
        "rel_err_dense": abs(closed4 - dense4) / dense4,
        "closed_form_trace_width500": twolayer.closed_form_trace(big, pbig, X),
        "hutchinson_width500": hutch.mean,
        "hutchinson_width500_se": hutch.stderr,
        "hutchinson_z": abs(hutch.mean - closed4) / hutch.stderr,
        "rescale_orbit": orbit,
        "per_neuron_rescaled_min_trace": per_neuron_min,
        "nobias_bound": C.nobias_trace_bound(d),
        "path_norm": float((p4["W1"].norm(dim=1) * p4["W2"].abs()).sum()),
    }


def checks(rule: Mapping[str, Any], config: settings.Scenario1, rows: list[dict],
           cons: Mapping[str, Any]) -> dict[str, Any]:
    """The registered WLM-I rule (pure): conditions (a)–(d), per seed, and the verdict.

    (a) the construction's closed-form trace matches the dense Hessian and Hutchinson; (b) GD+WD
    and 1-SAM both reach ``min_acc``; (c) 1-SAM's final trace ≤ ``trace_ratio`` × GD+WD's; (d)
    Sim-BN 1-SAM reaches ``bn_acc`` with feature ratio ≥ ``bn_feature_ratio``. our_value: the
    minimum final test accuracy over GD+WD and 1-SAM on the no-bias net (no interval).
    """
    th = rule["thresholds"]
    gd, sam1, bn = (W.by_seed(rows, r) for r in ("gd_wd_nobias", "sam1_nobias", "sam1_simbn"))
    seeds = [int(s) for s in config.seeds]
    per_seed = {
        s: {
            "gd_acc": gd[s]["final_test_acc"],
            "sam_acc": sam1[s]["final_test_acc"],
            "gd_trace": gd[s]["final_trace"],
            "sam_trace": sam1[s]["final_trace"],
            "trace_ratio": sam1[s]["final_trace"] / gd[s]["final_trace"],
            "b": gd[s]["final_test_acc"] >= th["min_acc"]
            and sam1[s]["final_test_acc"] >= th["min_acc"],
            "c": sam1[s]["final_trace"] <= th["trace_ratio"] * gd[s]["final_trace"],
            "bn_acc": bn[s]["final_test_acc"],
            "bn_feature_ratio": bn[s]["feature_ratio"],
            "d": bn[s]["final_test_acc"] >= th["bn_acc"]
            and bn[s]["feature_ratio"] >= th["bn_feature_ratio"],
        }
        for s in seeds
    }
    a = bool(cons["rel_err_dense"] < th["dense_rel_err"]
             and cons["hutchinson_z"] < th["hutchinson_z"])
    n_b, n_c, n_d = (sum(v[c] for v in per_seed.values()) for c in "bcd")
    all_b, all_c, d_ok = n_b == len(seeds), n_c == len(seeds), n_d >= th["bn_min_seeds"]
    n_bc_fail = sum(not (v["b"] and v["c"]) for v in per_seed.values())
    if a and all_b and all_c and d_ok:
        verdict = "reproduced"
    elif (a and all_b and all_c) or (a and d_ok and n_bc_fail == th["partial_failing_seeds"]):
        verdict = "partially_reproduced"
    else:
        verdict = "not_reproduced"
    accs = [r["final_test_acc"] for r in rows if r["run"] in ("gd_wd_nobias", "sam1_nobias")]
    return {
        "verdict": verdict,
        "our_value": min(accs),
        "ci95": None,
        "per_seed": per_seed,
        "conditions": {"a": a, "n_seeds_b": n_b, "n_seeds_c": n_c, "n_seeds_d": n_d},
        "details": {
            "construction_closed_form_trace": cons["closed_form_trace"],
            "construction_dense_trace": cons["dense_trace"],
            "sam1_trace_mean": sum(r["final_trace"] for r in sam1.values()) / len(sam1),
            "nobias_bound_4sqrt_d": C.nobias_trace_bound(config.d),
        },
    }


def _frames(config: settings.Scenario1, rows: list[dict], cons: Mapping[str, Any]) -> dict:
    """The rescaling orbit, and the Sim-BN neurons and column norms (paper Fig 2b)."""
    import pandas as pd

    simbn = W.by_seed(rows, "sam1_simbn")
    return {
        "orbit": pd.DataFrame(cons["rescale_orbit"]),
        "simbn_neurons": pd.DataFrame(
            [{"seed": s, **n} for s, r in simbn.items() for n in r["top_neurons"]]
        ),
        "simbn_columns": pd.DataFrame(
            [
                {"seed": s, "column": k + 1, "norm": v}
                for s, r in simbn.items()
                for k, v in enumerate(r["column_norms"])
            ]
        ),
    }


def bound(config: settings.Scenario1) -> float:
    """The Cauchy–Schwarz bound 4√d drawn beside the no-bias traces (not claimed attained)."""
    return C.nobias_trace_bound(config.d)


SCENARIO = W.Scenario(
    study=EXPERIMENT,
    claim_id="WLM-I",
    labels=LABELS,
    constructions=constructions_row,
    checks=checks,
    bound=bound,
    frames=_frames,
)
# the study protocol of weakness_lib.engine.base, implemented once in studies.wen.common.Scenario
units = W.units
compute_unit = SCENARIO.compute_unit
analyse = SCENARIO.analyse
claims = SCENARIO.claims
