"""The verdicts of B3 (minimax: success depends only on |C|, monotonically) and B4 (PAC-Bayes tracks
weakness: the finite identity and, on the stored head-to-head networks, ρ between the PAC-Bayes
bound and each weakness estimator), as pure functions of stored numbers and the YAML claim blocks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from weakness_lib.bennett.stats import bootstrap_ci, holm, spearman
from weakness_lib.core.store import Table
from weakness_lib.engine import base
from weakness_lib.studies.bennett.networks import family_of, measure_families, orientation_of
from weakness_lib.studies.bennett.settings import Theory

MIN_FOR_CI = 10  # bootstrap CI of ρ(bound, weakness) only with at least this many networks


MIN_NETWORKS = 3  # fewer networks: no correlation at all


def b3_verdict(rows: Sequence[Mapping[str, Any]], rule: Mapping[str, Any]
               ) -> tuple[str, float, dict[str, Any]]:
    """The registered rule of B3 on the stored per-|U| rows: ``(verdict, our value, checks)``.

    Our value is the fraction of (|U|, law) pairs whose law is exchangeable and whose success
    depends on C only through |C| (spread ≤ tolerance) without decreasing (step ≥ −tolerance).
    """
    tol = float(rule["thresholds"]["tolerance"])
    need = float(rule["thresholds"]["monotone_fraction"])
    law_rows = [law for r in rows for law in r["laws"]]
    frac = float(np.mean([bool(law["exchangeable"]) and law["spread"] <= tol and law["min_step"] >= -tol
                          for law in law_rows]))
    a = frac >= need
    b = max(r["powerset_err"] for r in rows) <= tol
    c = all(r["maximiser_regret_max"] <= tol for r in rows) and all(
        r["nonmaximiser_regret_min"] is None or r["nonmaximiser_regret_min"] > tol for r in rows)
    d = any(r["biased_reversal"] is not None for r in rows)
    verdict = ("reproduced" if a and b and c and d else
               "partially_reproduced" if a and b and c else "not_reproduced")
    return verdict, frac, {"a_monotone_all": a, "b_powerset_formula": b, "c_minimax_regret": c,
                           "d_biased_control_reverses": d}


def weakness_variants(df: pd.DataFrame, primary: str) -> list[str]:
    """The weakness columns correlated with the bound: the primary first, then every estimator
    whose higher value means weaker (W1, mean |A|, entropy, W2), in table order; the fraction of
    singleton sets (reversed sign), the W2 fraction (W2 rescaled: same ranks) and the wrong-group
    control are left out."""
    extra = measure_families()
    cols = [c for c in df.columns
            if family_of(c, extra) == "weakness" and orientation_of(c, extra) > 0 and not _rescaled(c)]
    return list(dict.fromkeys([primary, *cols]))


def _rescaled(c: str) -> bool:
    """W2 is stored both as a count (``w2``) and as a fraction (``w2_frac``, same ranks)."""
    return c.endswith("_frac")


def trained_networks(cfg: Theory, tables: Mapping[str, Table]) -> dict[str, Any]:
    """ρ(PAC-Bayes bound, weakness) over the stored head-to-head networks, per dataset.

    ``tables`` maps each dataset of ``cfg.head_to_head_datasets`` to its complete stored
    head-to-head table (:func:`weakness_lib.engine.base.load_table`); the primary weakness is the
    one registered there. Percentile bootstrap CIs (seed ``cfg.seed``), Holm over the datasets.
    """
    out: dict[str, Any] = {"available": False, "datasets": {}}
    bound = cfg.bound_column
    for ds in cfg.head_to_head_datasets:
        t = tables[ds]
        df = t.to_frame()
        if len(df) < MIN_NETWORKS:
            out["datasets"][ds] = {"available": False,
                                   "reason": f"fewer than {MIN_NETWORKS} stored head-to-head networks"}
            continue
        primary = (base.typed(t.config).primary_weakness if cfg.weakness_column == "primary"
                   else cfg.weakness_column)
        if bound not in df.columns or primary not in df.columns:
            out["datasets"][ds] = {"available": False,
                                   "reason": f"columns {bound!r}/{primary!r} missing from the results"}
            continue
        rows = []
        for c in weakness_variants(df, primary):
            x, y = df[bound].to_numpy(float), df[c].to_numpy(float)
            if np.ptp(x) == 0 or np.ptp(y) == 0:
                rows.append({"weakness": c, "rho": float("nan"), "p": float("nan"), "constant": True})
                continue
            rho, p = spearman(x, y)
            ci = (bootstrap_ci(x, y, seed=cfg.seed, method="percentile") if len(df) >= MIN_FOR_CI
                  else (None, None))
            rows.append({"weakness": c, "rho": rho, "p": p, "ci_lo": ci[0], "ci_hi": ci[1], "constant": False})
        out["datasets"][ds] = {"available": True, "n": len(df), "primary": primary, "table": rows}
    avail = {ds: v for ds, v in out["datasets"].items() if v["available"]}
    out["available"] = bool(avail)
    prim = {ds: next(r for r in v["table"] if r["weakness"] == v["primary"]) for ds, v in avail.items()}
    finite = [ds for ds in prim if math.isfinite(prim[ds]["p"])]
    adjusted = dict(zip(finite, holm([prim[ds]["p"] for ds in finite]).tolist(), strict=True))
    for ds, r in prim.items():
        r["p_holm"] = adjusted.get(ds, float("nan"))
    out["primary"] = prim
    return out


def b4_verdict(finite: Sequence[Mapping[str, Any]], trained: Mapping[str, Any],
               datasets: Sequence[str], rule: Mapping[str, Any],
               labels: Mapping[str, str] | None = None,
               ) -> tuple[str, float, list[float] | None, dict[str, Any]]:
    """The registered rule of B4: ``(verdict, our value, CI, checks)``.

    (a) enumerated KL = ln(|L|/|A|) within ``thresholds.tolerance`` (and the exclusion-language
    closed form matches); (b) the bound strictly decreasing in |A| (spread within one |A| ≤
    tolerance); (c) per dataset, ρ(bound, primary weakness) has the sign ``target.rho_sign`` with
    Holm p < ``thresholds.p``. Our value: ρ on the first dataset (else the finite ρ)."""
    tol = float(rule["thresholds"]["tolerance"])
    alpha = float(rule["thresholds"]["p"])
    sign = float(rule["target"]["rho_sign"])
    a = all(r["kl_max_err"] <= tol for r in finite) and all(
        r.get("closed_form_matches", True) for r in finite)
    b = all(r["strictly_decreasing"] and r["bound_spread_within"] <= tol for r in finite)
    prim = trained.get("primary", {})
    c_each = {ds: bool(ds in prim and sign * prim[ds]["rho"] > 0 and prim[ds]["p_holm"] < alpha)
              for ds in datasets}
    c = all(c_each.values())
    verdict = ("reproduced" if a and b and c else
               "partially_reproduced" if a and b else "not_reproduced")
    first = datasets[0] if datasets else None
    if first in prim and math.isfinite(prim[first]["rho"]):
        label = (labels or {}).get(first, first)
        value, ci, source = prim[first]["rho"], None, f"trained {label} head-to-head networks"
        if prim[first].get("ci_lo") is not None:
            ci = [prim[first]["ci_lo"], prim[first]["ci_hi"]]
    else:
        rhos = [r["rho_bound_weakness"] for r in finite if math.isfinite(r["rho_bound_weakness"])]
        value, ci, source = float(max(rhos)), None, (
            "enumerated finite posteriors only (head-to-head results not available at this scale)")
    return verdict, value, ci, {"a_kl_identity": a, "b_bound_strictly_decreasing": b,
                                "c_trained_networks": c_each, "our_value_source": source}
