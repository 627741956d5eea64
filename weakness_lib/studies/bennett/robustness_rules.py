"""Claim X5 beyond its verdict, the computation the study runs (its results are stored in the
claim or the summary; :mod:`weakness_lib.views.robustness` shows them):

* :func:`rule_per_variant` — the registered rule ("robustly predictive") for every weakness
  variant on each dataset: worst-case sign error strictly lower than every sharpness measure's and
  Ψ > 0 with the lower end of its 95 % CI > 0 (:func:`robustly_predictive` on one dataset);
* :func:`environment_counts` — the ordered environments (a, b) that kept a Hoeffding weight;
* :func:`psi_between_configurations` — Ψ without the same-configuration seed pairs
  (:func:`weakness_lib.bennett.robustness.psi_interval`), a sensitivity analysis;
* :func:`validation_reference` — the validation oracle scored as a measure beside the primary
  weakness estimator: a simple baseline, not part of the registered rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from weakness_lib.bennett import robustness


def robustly_predictive(score: pd.DataFrame, measure: str) -> dict[str, Any]:
    """The registered rule on one dataset: worst-case (max) sign error of ``measure`` strictly lower
    than that of every sharpness measure, and Ψ > 0 with its 95 % CI excluding 0."""
    row = score[score["measure"] == measure]
    if row.empty:
        return {"measure": measure, "holds": False, "note": "measure constant or missing"}
    r = row.iloc[0]
    sharp = score[score["family"] == "sharpness"]
    best_sharp = float(sharp["sign_error_max"].min()) if len(sharp) else float("inf")
    lower = bool(r["sign_error_max"] < best_sharp)
    psi_ok = bool(r["psi"] > 0 and r["psi_lo"] > 0)
    return {"measure": measure, "holds": lower and psi_ok, "sign_error_max": float(r["sign_error_max"]),
            "best_sharpness_sign_error_max": best_sharp, "psi": float(r["psi"]),
            "psi_ci": [float(r["psi_lo"]), float(r["psi_hi"])],
            "worst_case_lower_than_every_sharpness": lower, "psi_positive_ci_excludes_0": psi_ok}


def rule_per_variant(scores: Mapping[str, pd.DataFrame], datasets: Sequence[str],
                     target: str = "gap_acc") -> dict[str, dict[str, Any]]:
    """``{measure: {dataset: rule, …, "on_both": bool}}`` for every weakness-family measure scored
    on any dataset; ``on_both`` is true when the rule holds on every dataset of ``datasets``."""
    tables = {ds: scores[f"{ds}/{target}"] for ds in datasets if f"{ds}/{target}" in scores}
    measures = list(dict.fromkeys(m for t in tables.values()
                                  for m in t.loc[t["family"] == "weakness", "measure"]))
    out = {}
    for m in measures:
        per = {ds: robustly_predictive(t, m) for ds, t in tables.items()}
        out[m] = {**per, "on_both": len(per) == len(datasets) and all(v["holds"] for v in per.values())}
    return out


def environment_counts(frame: pd.DataFrame, hparams: Sequence[str], n_test: int,
                       target: str = "gap_acc") -> dict[str, dict[str, Any]]:
    """Per dataset: ``{"kept", "total", "per_hparam": {k: {"kept", "total"}}}``, the ordered
    environments whose Hoeffding weight Σ_{i∈a, j∈b} w_ij is > 0 (w depends on the gaps only, so
    the target stands in for the measure)."""
    out = {}
    for ds, part in frame.groupby("dataset", sort=False):
        env = robustness.sign_errors(part.reset_index(drop=True), target, target, list(hparams), n_test)
        kept = env["weight"] > 0
        out[str(ds)] = {"kept": int(kept.sum()), "total": len(env), "per_hparam": {
            h: {"kept": int(kept[env["varied"] == h].sum()), "total": int((env["varied"] == h).sum())}
            for h in hparams}}
    return out


def psi_between_configurations(frame: pd.DataFrame, signs: Mapping[str, int], hparams: Sequence[str],
                               n_boot: int, seed: int, target: str = "gap_acc") -> pd.DataFrame:
    """One row per measure of ``signs`` (μ = sign × column): Ψ over all pairs (as registered) and
    Ψ without the pairs of one configuration, with its 95 % CI over the registered resamples."""
    rows = []
    for m, sign in signs.items():
        full = robustness.granulated_psi(frame.assign(_mu=sign * frame[m]), "_mu", target, hparams)[0]
        between = robustness.psi_interval(frame, m, target, hparams, orientation=sign,
                                          same_config_pairs=False, n_boot=n_boot, seed=seed)
        rows.append({"measure": m, "psi": full, "psi_between": between["psi"],
                     "psi_between_lo": between["psi_lo"], "psi_between_hi": between["psi_hi"]})
    return pd.DataFrame(rows, columns=["measure", "psi", "psi_between", "psi_between_lo", "psi_between_hi"])


#: the validation oracle's column: accuracy on held-out images (scored as a complexity, −accuracy)
REFERENCE = "val_acc"


def validation_reference(score: pd.DataFrame, measure: str, reference: str = REFERENCE) -> dict[str, Any] | None:
    """The validation oracle beside ``measure`` on one dataset (``None`` if either is not scored):
    its Ψ (95 % CI) and worst-case sign error, and ``as_good``: Ψ(reference) ≥ Ψ(measure) and a
    worst-case sign error ≤ the measure's. A baseline reported beside the verdict; the registered
    rule compares weakness with the sharpness measures only."""
    rows = {m: score[score["measure"] == m] for m in (measure, reference)}
    if any(r.empty for r in rows.values()):
        return None
    m, ref = rows[measure].iloc[0], rows[reference].iloc[0]
    return {"measure": measure, "reference": reference,
            "psi": float(ref["psi"]), "psi_ci": [float(ref["psi_lo"]), float(ref["psi_hi"])],
            "sign_error_max": float(ref["sign_error_max"]),
            "measure_psi": float(m["psi"]), "measure_sign_error_max": float(m["sign_error_max"]),
            "as_good": bool(ref["psi"] >= m["psi"] and ref["sign_error_max"] <= m["sign_error_max"])}
