"""The bootstrap summaries chapter 05b shows beside its registered tests, computed when the studies
derive their claims and stored in the claim files' ``details`` (a page only reads them; it never
resamples while it renders):

* :func:`pooled_replications` (claim B7-R, ``details["pooled_with_B6-R"]``): Spearman ρ of W2 and
  W1 (τ = 0.01) with test accuracy over both replication populations (200 networks), stratified by
  dataset, with the percentile bootstrap CI of :func:`replication.pooled_rho` (10,000 resamples);
* :func:`sensitivity_without_capped` (claim X5, ``details["sensitivity_without_capped"]``): the
  registered sensitivity analysis of the robustness population — Ψ and the robust sign error
  recomputed on the networks that reached the loss criterion only (hyper-parameters left with one
  level are dropped), with the registered bootstrap seed.

* :func:`oracle_beside` (claims B6-R, B7-R, B6-60k and their 60,000-image successors,
  ``details["oracle"]``): the validation oracle (accuracy on held-out labelled images) beside the
  confirmatory weakness estimator — its own ρ and p, and the paired-bootstrap difference
  ρ(weakness) − ρ(oracle) with its percentile 95 % CI (the registered bootstrap seed and resamples),
  so that a reader sees whether weakness does better than a plain validation set.

All are reported analyses; no verdict reads them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from weakness_lib.bennett import robustness
from weakness_lib.bennett.added_information import difference_with_ci, resample_indices
from weakness_lib.bennett.stats import spearman
from weakness_lib.bennett.weakness import column
from weakness_lib.engine import base
from weakness_lib.studies.bennett.settings import Population, Robustness

#: pooled estimators, in the chapter's order
POOLED: tuple[str, ...] = (column("w2"), column("w1", tau=0.01))
#: resamples of the pooled CI (as the chapter showed before it was stored)
POOLED_RESAMPLES = 10_000
#: measures of the registered sensitivity analysis without capped networks
SENSITIVITY: tuple[str, ...] = (column("w2"), column("w1", tau=0.01), "val_acc", "lambda_max",
                                "pacbayes_bound")
#: bootstrap resamples of the sensitivity analysis (as the chapter showed before it was stored)
SENSITIVITY_RESAMPLES = 200


def pooled_replications(result: Mapping[str, Any], pooled_rho: Callable[..., dict[str, float]]
                        ) -> dict[str, Any]:
    """ρ with test accuracy over both replication populations (MNIST's stored table, then this
    result's Fashion-MNIST frame), one record per estimator (``pooled_rho``: the replication
    study's stratified estimator, passed by the study so that this module imports no study)."""
    frames = [base.load_table("replication_mnist", result["scale"]).to_frame(), result["frame"]]
    rows = [{"measure": m, **pooled_rho(frames, m, n_resamples=POOLED_RESAMPLES)} for m in POOLED]
    return {"role": "reported; not part of any verdict",
            "method": f"within-population scaled mid-ranks, {POOLED_RESAMPLES:,} stratified "
                      "bootstrap resamples of networks (percentile CI, seed 0)",
            "rows": rows}


def sensitivity_without_capped(cfg: Robustness, df: pd.DataFrame, hparams: Sequence[str],
                               complexity_signs: Callable[[pd.DataFrame], dict[str, int]]
                               ) -> dict[str, Any]:
    """Ψ and robust sign error of :data:`SENSITIVITY` on the networks that reached the loss
    criterion, per dataset of ``cfg`` (``df``: the trained networks; ``hparams`` and
    ``complexity_signs``: the robustness study's, passed by it)."""
    rows = []
    for ds in cfg.datasets:
        part = df[(df["dataset"] == ds) & (df["stopped_by"] == "criterion")].reset_index(drop=True)
        hps = [h for h in hparams if part[h].nunique() > 1]
        signs = complexity_signs(part) if len(part) > 1 else {}
        measures = {m: signs[m] for m in SENSITIVITY if m in signs}
        if not hps or not measures:
            continue
        t = robustness.score_measures(part, measures, "gap_acc", hps, int(cfg.n_eval),
                                      n_boot=SENSITIVITY_RESAMPLES, seed=int(cfg.bootstrap_seed))
        for _, r in t.iterrows():
            rows.append({"dataset": ds, "networks": len(part), "varied": hps, "measure": r["measure"],
                         "psi": r["psi"], "psi_lo": r["psi_lo"], "psi_hi": r["psi_hi"],
                         "sign_error_max": r["sign_error_max"],
                         "n_environments": r["n_environments"]})
    return {"role": "registered sensitivity analysis, reported; no verdict changes with it",
            "method": f"networks with stopped_by == 'criterion' only; {SENSITIVITY_RESAMPLES} "
                      "bootstrap resamples, the registered bootstrap seed",
            "rows": rows}


#: the validation oracle's column (accuracy on the held-out labelled images of the study)
ORACLE = "val_acc"


def oracle_beside(cfg: Population, df: pd.DataFrame, measure: str,
                  target: str = "test_acc") -> dict[str, Any] | None:
    """The validation oracle beside ``measure``: ρ(oracle, target) with its two-sided p, and
    ρ(measure, target) − ρ(oracle, target) with a paired percentile 95 % CI over
    ``cfg.bootstrap_resamples`` resamples of networks (seed ``cfg.bootstrap_seed``); networks
    with a missing value are left out. ``None`` when the table has no oracle column."""
    if ORACLE not in df or measure not in df:
        return None
    part = df[[measure, ORACLE, target]].dropna()
    rho, p = spearman(part[ORACLE].to_numpy(float), part[target].to_numpy(float))
    idx = resample_indices(len(part), int(cfg.bootstrap_resamples), int(cfg.bootstrap_seed))
    diff = difference_with_ci(part[measure], part[ORACLE], part[target], idx)
    return {"role": "reported; not part of any verdict", "measure": measure, "oracle": ORACLE,
            "n": int(len(part)), "oracle_rho": float(rho), "oracle_p": float(p),
            "difference": diff["difference"], "difference_ci95": [diff["ci_lo"], diff["ci_hi"]],
            "weakness_better_than_oracle": bool(diff["ci_lo"] is not None and diff["ci_lo"] > 0)}
