"""Chapter 05b, claims B6-R, B7-R and B6-60k: does the MNIST W2 result replicate on networks nobody
has looked at, and at the paper's likely n = 60,000?

Three registered studies share this module (registry ``params={"claim": ...}``), each with its
pre-registration ``configs/<study>.yaml``:

``replication_mnist`` / ``replication_fmnist`` (B6-R / B7-R)
    the B6/B7 recipe unchanged (784-256-256-10, SGD 0.05/0.9, batch 64, 15 epochs, n = 5,000,
    same probe and curvature protocol) on 100 fresh seeds per dataset;
``scale_60k_mnist`` (B6-60k)
    the same recipe on all 60,000 MNIST training images; the probe set is the held-out half of
    the test images and test accuracy is measured on the other half
    (:mod:`weakness_lib.studies.bennett.population_data`, ``probe_source: test``).

Network i (unit ``net<iii>``) is trained with seed ``seed_base`` + i exactly as in
:func:`weakness_lib.studies.bennett.head_to_head.compute_unit` (same functions, same order, so the shared
columns equal the head-to-head's for equal settings), plus :func:`population_data.extra_measures`.

Confirmatory hypothesis (one registered test per study): the W2 estimator has Spearman ρ > 0 with
test accuracy at two-sided p < ``thresholds.p``. W1 (τ = 0.01) is re-tested with B6's registered
rule; every other measure is reported with Holm-adjusted p.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from weakness_lib.core.claims import Claim
from weakness_lib.engine import base, registry
from weakness_lib.studies.bennett import settings
from weakness_lib.studies.bennett.common import LAMBDA_MAX_VERIFY
from weakness_lib.studies.bennett.head_to_head import (  # noqa: F401  (units: one per network, as there)
    population_unit,
    units,
)
from weakness_lib.studies.bennett.head_to_head_stats import (  # noqa: F401  (the runner's summary hook)
    PRIMARY_TARGET,
    stored_statistics,
    summarise,
)
from weakness_lib.studies.bennett.head_to_head_verdicts import evaluate, paper_comparison
from weakness_lib.studies.bennett.networks import (
    wall_time,
)
from weakness_lib.studies.bennett.population_data import data_for, extra_measures

DEVICES: tuple[str, ...] = ("cpu",)
VERIFY = LAMBDA_MAX_VERIFY  # λ_max within lanczos_tol, its solver diagnostics reported
SETTINGS = settings.Replication  # the typed settings of configs/<study>.yaml



def compute_unit(cfg: settings.Replication | Mapping[str, Any], key: str,
                 device: str = "cpu") -> dict[str, Any]:
    """Train network ``key`` with seed ``seed_base`` + i and measure it, the head-to-head's
    measures then the population's extra ones (pure, bitwise on the CPU)."""
    cfg = base.typed(cfg)
    d = data_for(cfg)
    return population_unit(cfg, key, d, device,
                           extra=lambda model: extra_measures(model, d, cfg.taus, cfg))


# ---------------------------------------------------------------------------------------------
# The confirmatory verdict
# ---------------------------------------------------------------------------------------------
def confirmatory_verdict(rho: float, p: float, rule: Mapping[str, Any]) -> str:
    """Registered rule of B6-R/B7-R/B6-60k: ``reproduced`` (hypothesis confirmed) if ρ > 0 and
    p < ``thresholds.p``; ``partially_reproduced`` if ρ > 0 and p ≥ ``thresholds.p`` (right sign,
    not significant: not confirmed); ``not_reproduced`` if ρ ≤ 0 (or undefined)."""
    alpha = float(rule["thresholds"]["p"])
    if not rho > 0:
        return "not_reproduced"
    return "reproduced" if p < alpha else "partially_reproduced"


def outcome(cfg: settings.Replication, df: pd.DataFrame, stats: Mapping[str, Any],
            rule: Mapping[str, Any]) -> dict[str, Any]:
    """The confirmatory estimator's ρ, p, CI and verdict; W1 under B6's rule in the details."""
    b6 = evaluate(cfg, df, stats, rule)  # W1 (primary_weakness) under the B6/B7 rule
    measure = cfg.confirmatory_weakness
    t = stats["tables"].get(PRIMARY_TARGET)
    hit = None if t is None else t[t["measure"] == measure]
    details = dict(b6["details"])
    details["w1_rule_outcome"] = b6["verdict"]
    details["w1"] = {"measure": cfg.primary_weakness, "rho": b6["rho"], "p": b6["p"],
                     "ci95": b6["ci95"]}
    details["confirmatory_weakness"] = measure
    if hit is None or hit.empty:
        details["note"] = f"{measure} constant across networks (or too few networks): ρ undefined"
        return {"verdict": "not_reproduced", "our_value": 0.0, "rho": 0.0, "p": 1.0, "ci95": None,
                "details": details}
    r = hit.iloc[0]
    rho, p = float(r["rho"]), float(r["p"])
    ci = [float(r["ci_lo"]), float(r["ci_hi"])]
    paper = float(rule["target"]["weakness"]["rho"])
    details.update(confirmatory_p=p, confirmatory_p_holm=float(r["p_holm"]),
                   confirmatory_kendall=float(r["kendall_tau"]),
                   ci_contains_paper=bool(ci[0] <= paper <= ci[1]) if np.all(np.isfinite(ci)) else None)
    return {"verdict": confirmatory_verdict(rho, p, rule), "our_value": rho, "rho": rho, "p": p,
            "ci95": ci if np.all(np.isfinite(ci)) else None, "details": details}


# ---------------------------------------------------------------------------------------------
# Pooling the two replication populations
# ---------------------------------------------------------------------------------------------
def pooled_rho(frames: Sequence[pd.DataFrame], measure: str, target: str = PRIMARY_TARGET,
               n_resamples: int = 10_000, seed: int = 0) -> dict[str, float]:
    """Spearman ρ over the pooled networks of several populations, stratified by population.

    Each population's measure and target are replaced by their within-population mid-ranks scaled
    to (0, 1) (so that a dataset's accuracy level cannot create a correlation), then ρ is the
    Pearson correlation of the pooled scaled ranks; p from scipy's Spearman on them; the 95 % CI
    resamples networks with replacement *within* each population (percentile, ``n_resamples``).
    """
    def scaled(a: np.ndarray) -> np.ndarray:  # mid-ranks along the last axis, scaled to (0, 1)
        return sps.rankdata(a, axis=-1) / (a.shape[-1] + 1)

    x = np.concatenate([scaled(f[measure].to_numpy(float)) for f in frames])
    y = np.concatenate([scaled(f[target].to_numpy(float)) for f in frames])
    rho, p = sps.spearmanr(x, y)
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for f in frames:  # resample networks within each population (stratified)
        idx = rng.integers(0, len(f), (n_resamples, len(f)))
        xs.append(scaled(f[measure].to_numpy(float)[idx]))
        ys.append(scaled(f[target].to_numpy(float)[idx]))
    bx, by = np.concatenate(xs, axis=1), np.concatenate(ys, axis=1)
    bx, by = bx - bx.mean(1, keepdims=True), by - by.mean(1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        boots = (bx * by).sum(1) / np.sqrt((bx**2).sum(1) * (by**2).sum(1))
    lo, hi = np.nanpercentile(boots, [2.5, 97.5])
    return {"rho": float(rho), "p": float(p), "ci_lo": float(lo), "ci_hi": float(hi),
            "n": int(len(x))}


# ---------------------------------------------------------------------------------------------
# What the chapter shows, and the claim
# ---------------------------------------------------------------------------------------------
def studies() -> dict[str, str]:
    """``{claim id: study name}`` of the registered studies of this module."""
    return {s.claims[0]: s.name for s in registry.STUDIES.values() if s.module == __name__}


def analyse(scale: str, claim: str = "B6-R") -> dict[str, Any]:
    """Everything chapter 05b shows of one study, from the stored table and summary only."""
    study = studies()[claim]
    table = base.load_table(study, scale)
    cfg = base.typed(table.config)
    rule = base.settings(study, scale).rule(claim)  # the registration that names the table
    df = table.to_frame()
    stats, source = stored_statistics(table)
    return {"study": study, "claim_id": claim, "scale": scale, "config": table.config, "settings": cfg, "rule": rule,
            "frame": df, "stats": stats, "stats_source": source,
            "comparison": paper_comparison(cfg, stats, rule),
            "outcome": outcome(cfg, df, stats, rule), "wall": wall_time(table), "table": table}


def claims(result: Mapping[str, Any]) -> list[Claim]:
    """The claim record of an :func:`analyse` result (pure: the runner writes it)."""
    from weakness_lib.studies.bennett import confirmatory_summaries

    out = result["outcome"]
    details = {**out["details"], "oracle": confirmatory_summaries.oracle_beside(
        result["settings"], result["frame"], out["details"]["confirmatory_weakness"])}
    if result["claim_id"] == "B7-R":  # chapter 05b's pooled ρ, stored here: a page never resamples
        details["pooled_with_B6-R"] = confirmatory_summaries.pooled_replications(result, pooled_rho)
    return [base.registered_claim(
        result["study"], result["claim_id"], our_value=out["our_value"], ci95=out["ci95"],
        verdict=out["verdict"], provenance=base.provenance(result["table"]), details=details,
    )]
