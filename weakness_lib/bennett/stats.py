"""Rank statistics for "does measure M predict generalisation?" (reference bennett2026.md §8, §9.4).

* Spearman ρ with the two-sided p-value of ``scipy.stats.spearmanr``: the t-approximation
  t = ρ √((n − 2)/(1 − ρ²)) with n − 2 degrees of freedom, p = 2·P(T > |t|). The paper's
  reported (ρ = 0.374, p = 0.00012) and (ρ = 0.384, p = 8.15e-5) are consistent with this at
  n = 100 (§8), not with the Fisher-z approximation.
* bootstrap 95 % CI of ρ over resampled (x, y) pairs (``scipy.stats.bootstrap``, paired, BCa).
* Kendall τ-b with its p-value (``scipy.stats.kendalltau``).
* partial Spearman: Pearson correlation of the residuals of rank(x) and rank(y) after linear
  regression on rank(z) (and an intercept); p from the t-approximation with n − 2 − k degrees
  of freedom (k control variables).
* Holm's step-down correction for a family of p-values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

__all__ = [
    "spearman",
    "spearman_p_from_rho",
    "bootstrap_ci",
    "kendall",
    "partial_spearman",
    "holm",
    "correlation_table",
    "derived_p_table",
]


def _pair(x: Sequence[float], y: Sequence[float], what: str = "x/y") -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(x, dtype=float).reshape(-1)
    b = np.asarray(y, dtype=float).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"{what}: lengths differ ({a.size} vs {b.size})")
    if a.size < 3:
        raise ValueError(f"{what}: need at least 3 pairs, got {a.size}")
    bad = ~(np.isfinite(a) & np.isfinite(b))
    if bad.any():
        raise ValueError(f"{what}: {int(bad.sum())} pairs contain NaN/inf; drop or fix them first")
    return a, b


def spearman_p_from_rho(rho: float, n: int) -> float:
    """Two-sided p of Spearman's ρ by the t-approximation (as scipy): t = ρ√((n−2)/(1−ρ²)), df = n−2."""
    if n < 3:
        raise ValueError(f"need n ≥ 3, got {n}")
    if not -1.0 <= rho <= 1.0:
        raise ValueError(f"ρ must lie in [−1, 1], got {rho}")
    if abs(rho) == 1.0:
        return 0.0
    t = rho * np.sqrt((n - 2) / (1.0 - rho * rho))
    return float(2.0 * sps.t.sf(abs(t), n - 2))


def spearman(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """(ρ, two-sided p) of ``scipy.stats.spearmanr`` on paired samples."""
    a, b = _pair(x, y)
    res = sps.spearmanr(a, b)
    return float(res.statistic), float(res.pvalue)


def _rho_stat(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    """Vectorised Spearman ρ along ``axis`` (average ranks; Pearson of the ranks)."""
    ra = sps.rankdata(a, axis=axis)
    rb = sps.rankdata(b, axis=axis)
    ra = ra - ra.mean(axis=axis, keepdims=True)
    rb = rb - rb.mean(axis=axis, keepdims=True)
    num = (ra * rb).sum(axis=axis)
    den = np.sqrt((ra * ra).sum(axis=axis) * (rb * rb).sum(axis=axis))
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / den


def bootstrap_ci(
    x: Sequence[float],
    y: Sequence[float],
    n_resamples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
    method: str = "BCa",
) -> tuple[float, float]:
    """Bootstrap CI of Spearman ρ over resampled pairs (``scipy.stats.bootstrap``, paired).

    ``method`` is scipy's: "BCa" (default), "percentile" or "basic". Seeded: same inputs and
    seed give the same interval.
    """
    a, b = _pair(x, y)
    res = sps.bootstrap(
        (a, b),
        _rho_stat,
        paired=True,
        vectorized=True,
        n_resamples=n_resamples,
        confidence_level=confidence,
        method=method,
        rng=np.random.default_rng(seed),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def kendall(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """(Kendall τ-b, two-sided p) of ``scipy.stats.kendalltau``."""
    a, b = _pair(x, y)
    res = sps.kendalltau(a, b)
    return float(res.statistic), float(res.pvalue)


def partial_spearman(
    x: Sequence[float], y: Sequence[float], z: Sequence[float] | np.ndarray
) -> tuple[float, float]:
    """Partial Spearman ρ(x, y | z) and its two-sided p.

    Rank-transform x, y and each column of z; regress rank(x) and rank(y) on [1, rank(z)] by
    least squares; ρ is the Pearson correlation of the two residual vectors; p uses
    t = ρ√((n−2−k)/(1−ρ²)) with n − 2 − k degrees of freedom (k = number of columns of z).
    """
    a, b = _pair(x, y)
    Z = np.asarray(z, dtype=float)
    Z = Z.reshape(-1, 1) if Z.ndim == 1 else Z
    if Z.shape[0] != a.size:
        raise ValueError(f"control z has {Z.shape[0]} rows, x/y have {a.size}")
    if not np.isfinite(Z).all():
        raise ValueError("control z contains NaN/inf")
    k = Z.shape[1]
    n = a.size
    if n - 2 - k < 1:
        raise ValueError(f"n = {n} is too small for {k} control variable(s)")
    design = np.column_stack([np.ones(n), sps.rankdata(Z, axis=0)])
    ra, rb = sps.rankdata(a), sps.rankdata(b)
    res_a = ra - design @ np.linalg.lstsq(design, ra, rcond=None)[0]
    res_b = rb - design @ np.linalg.lstsq(design, rb, rcond=None)[0]
    den = np.sqrt((res_a @ res_a) * (res_b @ res_b))
    if den == 0:
        raise ValueError("x or y is constant after removing the control; partial ρ is undefined")
    rho = float(np.clip((res_a @ res_b) / den, -1.0, 1.0))
    if abs(rho) == 1.0:
        return rho, 0.0
    df = n - 2 - k
    t = rho * np.sqrt(df / (1.0 - rho * rho))
    return rho, float(2.0 * sps.t.sf(abs(t), df))


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm step-down adjusted p-values (same order as the input).

    Sort p ascending p_(1) ≤ … ≤ p_(m); adjusted p_(i) = max_{j ≤ i} min(1, (m − j + 1) p_(j)).
    Reject H_(i) at level α iff its adjusted p ≤ α.
    """
    p = np.asarray(pvalues, dtype=float).reshape(-1)
    if p.size == 0:
        return p
    if not np.all((p >= 0) & (p <= 1)):
        raise ValueError("p-values must lie in [0, 1] (NaN not allowed)")
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.maximum.accumulate(scaled)
    out = np.empty(m)
    out[order] = adjusted
    return out


def correlation_table(
    df: pd.DataFrame,
    measures: Sequence[str],
    target: str,
    control: str | Sequence[str] | None = None,
    *,
    orientation: Mapping[str, int] | None = None,
    n_resamples: int = 10_000,
    seed: int = 0,
    ci_method: str = "BCa",
) -> pd.DataFrame:
    """One row per measure: Spearman ρ(measure, target) with p, bootstrap CI, Holm-adjusted p
    (across ``measures``), Kendall τ and p, and — with ``control`` — partial Spearman given the
    control column(s).

    ``orientation`` optionally maps a measure to +1/−1 (+1 when higher = flatter/simpler/weaker,
    i.e. the hypothesis predicts ρ > 0); the table then adds ``rho_oriented`` = sign·ρ. Raw ρ is
    always kept.
    """
    missing = [c for c in [*measures, target] if c not in df.columns]
    if missing:
        raise KeyError(f"columns {missing} not in the data frame (have {list(df.columns)})")
    controls = [control] if isinstance(control, str) else list(control or [])
    rows = []
    for m in measures:
        x, y = df[m].to_numpy(float), df[target].to_numpy(float)
        rho, p = spearman(x, y)
        lo, hi = bootstrap_ci(x, y, n_resamples=n_resamples, seed=seed, method=ci_method)
        tau, p_tau = kendall(x, y)
        row = {"measure": m, "n": len(x), "rho": rho, "p": p, "ci_lo": lo, "ci_hi": hi,
               "kendall_tau": tau, "kendall_p": p_tau}
        if controls:
            row["partial_rho"], row["partial_p"] = partial_spearman(x, y, df[controls].to_numpy(float))
        if orientation is not None:
            row["rho_oriented"] = orientation.get(m, 1) * rho
        rows.append(row)
    out = pd.DataFrame(rows)
    out.insert(out.columns.get_loc("p") + 1, "p_holm", holm(out["p"].to_numpy()))
    return out


def derived_p_table(
    rhos: Sequence[float] = (0.3735, 0.374, 0.3743, 0.3745, 0.3835, 0.3836, 0.384, -0.226, 0.0194),
    n: int = 100,
) -> pd.DataFrame:
    """The p-values implied by reported ρ at n (reference §8), t-approximation and Fisher z."""
    rows = []
    for r in rhos:
        z = np.arctanh(r) * np.sqrt((n - 3) / 1.06)  # Fisher z with the Spearman variance 1.06/(n−3)
        rows.append({"rho": r, "n": n, "p_t": spearman_p_from_rho(r, n),
                     "p_fisher_z": float(2 * sps.norm.sf(abs(z)))})
    return pd.DataFrame(rows)
