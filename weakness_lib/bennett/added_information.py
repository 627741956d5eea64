"""Does a measure add information about generalisation beyond a validation set? (claim IV)

All statistics are rank statistics over a population of networks, vectorised over resamples
(rows of a 2-D array), so that 10,000 bootstrap resamples of 100 networks take well under a
second.

* Spearman ρ(x, y): the Pearson correlation of the mid-ranks of x and y.
* Partial Spearman ρ(x, y | z) with one control: the Pearson correlation of the residuals of
  rank(x) and rank(y) after a least-squares fit on [1, rank(z)], which equals

      ρ_xy·z = (r_xy − r_xz·r_yz) / √((1 − r_xz²)(1 − r_yz²))

  on the three Spearman correlations r (:func:`partial_from_correlations`); its two-sided p uses
  t = ρ√((n − 3)/(1 − ρ²)) with n − 3 degrees of freedom (:func:`weakness_lib.bennett.stats.
  partial_spearman`, which also handles several controls).
* Bootstrap: resample networks with replacement (the same index matrix for every statistic of
  one population, so differences are paired); ranks are recomputed in each resample; 95 %
  percentile intervals.
* Oracle noise: an accuracy a measured on m labelled images has binomial standard error
  se = √(a(1 − a)/m); the oracle's reliability is 1 − mean(se²)/var(oracle). The noise-only
  reference takes each network's test accuracy as its true accuracy a_i, draws an oracle and a test
  accuracy independently as Binomial(m, a_i)/m, and computes ρ(a, test | oracle): the "added
  information" that a perfect predictor of accuracy shows only because the oracle is noisy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats as sps

from weakness_lib.bennett.stats import partial_spearman

__all__ = [
    "spearman_rows",
    "partial_from_correlations",
    "partial_spearman_rows",
    "resample_indices",
    "partial_with_ci",
    "difference_with_ci",
    "oracle_noise",
]


def _as_float(a: Sequence[float] | np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=float)


def spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman ρ along the last axis (mid-ranks; NaN where x or y is constant)."""
    rx = sps.rankdata(x, axis=-1)
    ry = sps.rankdata(y, axis=-1)
    rx = rx - rx.mean(axis=-1, keepdims=True)
    ry = ry - ry.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(-1) / np.sqrt((rx * rx).sum(-1) * (ry * ry).sum(-1))


def partial_from_correlations(r_xy: np.ndarray, r_xz: np.ndarray, r_yz: np.ndarray) -> np.ndarray:
    """(r_xy − r_xz·r_yz) / √((1 − r_xz²)(1 − r_yz²)), NaN where a denominator vanishes."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (r_xy - r_xz * r_yz) / np.sqrt((1.0 - r_xz**2) * (1.0 - r_yz**2))
    return np.clip(out, -1.0, 1.0)


def partial_spearman_rows(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Partial Spearman ρ(x, y | z) along the last axis (ranks recomputed per row)."""
    return partial_from_correlations(spearman_rows(x, y), spearman_rows(x, z), spearman_rows(y, z))


def resample_indices(n: int, n_resamples: int, seed: int) -> np.ndarray:
    """A (n_resamples, n) matrix of network indices drawn with replacement (numpy PCG64, ``seed``)."""
    return np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))


def _interval(boots: np.ndarray) -> dict[str, Any]:
    ok = np.isfinite(boots)
    if not ok.any():
        return {"ci_lo": None, "ci_hi": None, "undefined_resamples": int(boots.size)}
    lo, hi = np.percentile(boots[ok], [2.5, 97.5])
    return {"ci_lo": float(lo), "ci_hi": float(hi), "undefined_resamples": int((~ok).sum())}


def partial_with_ci(x: Sequence[float], y: Sequence[float], z: Sequence[float] | np.ndarray,
                    idx: np.ndarray | None = None) -> dict[str, Any]:
    """Partial Spearman ρ(x, y | z): point estimate and two-sided p (n − 2 − k df), and, when
    ``idx`` (resample indices) is given and z is a single control, the percentile 95 % CI.
    An undefined estimate (too few networks, a constant column) gives ``rho = None``."""
    x, y, Z = _as_float(x), _as_float(y), _as_float(z)
    try:
        rho, p = partial_spearman(x, y, Z)
    except ValueError as e:
        return {"rho": None, "p": None, "ci_lo": None, "ci_hi": None, "n": int(x.size),
                "note": str(e)}
    out: dict[str, Any] = {"rho": rho, "p": p, "n": int(x.size)}
    if idx is not None and Z.ndim == 1:
        out.update(_interval(partial_spearman_rows(x[idx], y[idx], Z[idx])))
    return out


def difference_with_ci(x: Sequence[float], w: Sequence[float], y: Sequence[float],
                       idx: np.ndarray) -> dict[str, Any]:
    """ρ(x, y) − ρ(w, y) (Spearman) with a paired percentile 95 % CI over the resamples ``idx``."""
    x, w, y = _as_float(x), _as_float(w), _as_float(y)
    rho_x = float(spearman_rows(x, y))
    rho_w = float(spearman_rows(w, y))
    boots = spearman_rows(x[idx], y[idx]) - spearman_rows(w[idx], y[idx])
    return {"rho_measure": rho_x, "rho_oracle": rho_w, "difference": rho_x - rho_w,
            **_interval(boots)}


def oracle_noise(oracle: Sequence[float], truth: Sequence[float], m: int, n_sim: int,
                 seed: int) -> dict[str, Any]:
    """How much of a partial ρ given the oracle could be the oracle's own sampling noise.

    ``oracle``: accuracies on ``m`` labelled images; ``truth``: the networks' test accuracies,
    taken as their true accuracies a_i in the simulation (``n_sim`` draws, numpy PCG64 ``seed``).
    Returns the median binomial se of the oracle, the between-network sd of the oracle (ddof = 1),
    its reliability 1 − mean(se²)/var(oracle), and the median and 2.5/97.5 % percentiles of the
    simulated ρ(a, test | oracle)."""
    v, a = _as_float(oracle), _as_float(truth)
    se = np.sqrt(v * (1.0 - v) / m)
    var = float(np.var(v, ddof=1))
    rng = np.random.default_rng(seed)
    p = np.clip(a, 0.0, 1.0)
    sim_oracle = rng.binomial(m, p, size=(n_sim, a.size)) / m
    sim_test = rng.binomial(m, p, size=(n_sim, a.size)) / m
    ref = partial_spearman_rows(np.broadcast_to(a, sim_test.shape), sim_test, sim_oracle)
    ok = ref[np.isfinite(ref)]
    q = np.percentile(ok, [50.0, 2.5, 97.5]) if ok.size else [np.nan] * 3
    return {"images": int(m), "se_median": float(np.median(se)), "sd_between": float(np.sqrt(var)),
            "reliability": float(1.0 - np.mean(se**2) / var) if var > 0 else None,
            "reference_median": float(q[0]), "reference_lo": float(q[1]),
            "reference_hi": float(q[2]), "simulations": int(n_sim),
            "undefined_simulations": int(ref.size - ok.size)}
