"""The registered verdict of B6/B7 and the comparison with the paper, as pure functions of the
stored statistics and the claim block of the YAML (``target:`` paper values, ``thresholds:``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from weakness_lib.studies.bennett.head_to_head_stats import (
    PRIMARY_TARGET,
)
from weakness_lib.studies.bennett.settings import HeadToHead

#: the config keys naming the measures that the claim and the paper comparison report
ROLES: tuple[tuple[str, str], ...] = (
    ("weakness", "primary_weakness"), ("weakness (secondary)", "secondary_weakness"),
    ("sharpness", "primary_sharpness"), ("simplicity", "primary_simplicity"),
)


SIGN_CONVENTION = ("raw ρ = Spearman(measure, test_acc); oriented = sign·ρ with "
                   "flatness = −sharpness, simplicity = −complexity")


def _lookup(t: pd.DataFrame | None, measure: str) -> dict[str, Any] | None:
    if t is None:
        return None
    hit = t[t["measure"] == measure]
    return None if hit.empty else hit.iloc[0].to_dict()


def verdict_for(rho: float, p: float, ci: Sequence[float], rule: Mapping[str, Any]) -> str:
    """The pre-registered rule of B6/B7: ``not_reproduced`` unless ρ > 0; ``reproduced`` if also
    p < ``thresholds.p`` and the CI contains the paper's ρ (``target.weakness.rho``);
    ``partially_reproduced`` otherwise."""
    paper_rho = float(rule["target"]["weakness"]["rho"])
    alpha = float(rule["thresholds"]["p"])
    if not rho > 0:
        return "not_reproduced"
    if p < alpha and ci[0] <= paper_rho <= ci[1]:
        return "reproduced"
    return "partially_reproduced"


def sharpness_consistent(r: Mapping[str, Any], rule: Mapping[str, Any]) -> bool | None:
    """Secondary, reported: raw ρ has the sign of the paper's ρ and its CI contains it (``None``
    when the paper gives no sharpness ρ)."""
    paper = rule["target"].get("sharpness", {}).get("rho")
    if paper is None:
        return None
    lo, hi = r["ci95_raw"]
    return bool(np.sign(r["rho_raw"]) == np.sign(paper) and lo <= paper <= hi)


def simplicity_consistent(r: Mapping[str, Any], rule: Mapping[str, Any]) -> bool | None:
    """Secondary, reported: if the paper says simplicity is predictive, oriented ρ > 0 with
    p < ``thresholds.p``; if it says it predicts nothing, p ≥ ``thresholds.p``."""
    predictive = rule["target"].get("simplicity", {}).get("predictive")
    if predictive is None:
        return None
    alpha = float(rule["thresholds"]["p"])
    if predictive:
        return bool(r["rho_oriented"] > 0 and r["p"] < alpha)
    return bool(r["p"] >= alpha)


def _role_details(r: Mapping[str, Any], measure: str) -> dict[str, Any]:
    return {"measure": measure, "rho_raw": float(r["rho"]), "rho_oriented": float(r["rho_oriented"]),
            "p": float(r["p"]), "p_holm": float(r["p_holm"]),
            "ci95_raw": [float(r["ci_lo"]), float(r["ci_hi"])]}


def evaluate(cfg: HeadToHead, df: pd.DataFrame, stats: Mapping[str, Any],
             rule: Mapping[str, Any]) -> dict[str, Any]:
    """Apply the registered rule: ``verdict``, ``our_value`` (ρ of the primary weakness with test
    accuracy), ``p``, ``ci95`` (``None`` if degenerate) and ``details`` (secondary measures)."""
    acc = stats["tables"].get(PRIMARY_TARGET)
    primary = cfg.primary_weakness
    row = _lookup(acc, primary)
    details: dict[str, Any] = {
        "n_networks": len(df),
        "test_acc_mean": float(df["test_acc"].mean()),
        "test_acc_sd": float(df["test_acc"].std(ddof=1)) if len(df) > 1 else None,
        "train_acc_mean": float(df["train_acc"].mean()),
        "primary_weakness": primary,
        "constant_columns": list(stats["constant"]),
        "sign_convention": SIGN_CONVENTION,
    }
    if row is None:
        rho, p, ci = 0.0, 1.0, None
        details["note"] = f"{primary} constant across networks (or too few networks): ρ undefined"
        verdict = "not_reproduced"
    else:
        rho, p = float(row["rho"]), float(row["p"])
        ci = [float(row["ci_lo"]), float(row["ci_hi"])]
        verdict = verdict_for(rho, p, ci, rule)
        if not all(np.isfinite(ci)):  # degenerate bootstrap (tiny smoke runs): no interval
            ci = None
        details.update(primary_p_holm=float(row["p_holm"]), primary_kendall=float(row["kendall_tau"]),
                       primary_partial_rho=float(row.get("partial_rho", np.nan)))
    target = rule["target"]
    for _, key in ROLES[1:]:
        r = _lookup(acc, getattr(cfg, key))
        if r is not None:
            details[key] = _role_details(r, getattr(cfg, key))
    w2 = details.get("secondary_weakness")
    if w2 is not None:
        w2["rule_outcome"] = verdict_for(w2["rho_raw"], w2["p"], w2["ci95_raw"], rule)
    for key, check, fam in (("primary_sharpness", sharpness_consistent, "sharpness"),
                            ("primary_simplicity", simplicity_consistent, "simplicity")):
        r = details.get(key)
        outcome = None if r is None else check(r, rule)
        if outcome is not None:
            r["consistent_with_paper"] = outcome
            r["compared_with"] = " ".join(str(target[fam]["compared_with"]).split())
    return {"verdict": verdict, "our_value": rho, "rho": rho, "p": p, "ci95": ci, "details": details}


def paper_comparison(cfg: HeadToHead, stats: Mapping[str, Any],
                     rule: Mapping[str, Any]) -> pd.DataFrame:
    """Ours vs the paper, one row per family (primary measures), raw and oriented signs."""
    acc = stats["tables"].get(PRIMARY_TARGET)
    target = rule["target"]
    rows = []
    for fam, key in ROLES:
        m = getattr(cfg, key)
        r = _lookup(acc, m)
        paper = target.get(fam.split(" ")[0], {}).get("text", "")
        rows.append({
            "family": fam, "measure": m, "paper": paper,
            **{out: None if r is None else r[col] for out, col in (
                ("rho_raw", "rho"), ("rho_oriented", "rho_oriented"), ("p", "p"),
                ("p_holm", "p_holm"), ("ci_lo", "ci_lo"), ("ci_hi", "ci_hi"))},
        })
    return pd.DataFrame(rows)
