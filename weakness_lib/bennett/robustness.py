"""Scoring a generalisation measure over a population of networks whose hyper-parameters vary.

Protocols of Jiang et al. (ICLR 2020, "Fantastic generalization measures") and Dziugaite et al.
(NeurIPS 2020, "In search of robust measures of generalization"); summary in
``shared/reference/robust_measures.md``. Convention: the measure μ is a *complexity* (larger μ ⇒
larger predicted gap; the caller negates weakness/flatness), the target g is the generalisation
gap. A *configuration* is the tuple of hyper-parameter values of a network; its seeds are its
networks. s_ij = sign(μ_i − μ_j)·sign(g_i − g_j) (ties give 0).

* Kendall τ = mean over pairs i < j of s_ij.
* Granulated Ψ: for hyper-parameter k, a group is the set of networks sharing every other
  hyper-parameter value (all seeds kept); ψ_k = mean over groups with ≥ 2 distinct values of k of
  the within-group τ; Ψ = mean over k of ψ_k (over the k with at least one such group). A group's
  τ includes the pairs of seeds of one configuration (equal hyper-parameters, as Jiang et al.);
  ``same_config_pairs=False`` leaves them out, so that only pairs whose k differs count.
* Environment (Dziugaite): an *ordered* pair (a, b) of configurations differing in exactly one
  hyper-parameter. Its sign error is Σ w_ij e_ij / Σ w_ij over the networks i of a and j of b,
  e_ij = (1 − s_ij)/2 ∈ {0, ½, 1}, with the Monte-Carlo noise (Hoeffding) weight
  w_ij = (max(0, 1 − φ)² − ½)₊, φ = 2·exp(−2n(Δg/2)²), n test examples, Δg = |g_i − g_j|.
  The robust score is the distribution of environment sign errors: max, 90th percentile, mean.

Where this follows the code of Dziugaite et al. (nitarshan/robust-generalization-measures):

* Environments are ordered, as in ``experiments/coupled_networks/create_environments.py`` (the
  double loop keeps (h1, h2) and (h2, h1)) and ``figure_cdf_all_measures.py`` (``get_all_losses``
  visits v1 → v2 and v2 → v1 and asserts an even count). Both orders have the same error, so the
  max and mean are those of unordered pairs; the 90th percentile is taken over the doubled list,
  as in the figure. A full 3 × 3 × 2 grid thus has 18·(2 + 2 + 1) = 90 environments.
* The weight is ``hoeffding_weight`` of ``coupled_network/common.py`` (shift 0), then
  ``(w − 0.5)₊`` as in ``create_environments.py``; the reference summary agrees. Pairs with
  Δg < √(2 ln(2/(1 − 1/√2))/n) ≈ 1.96/√n get weight 0 (Δg < 0.0196 at n = 10,000).
* The figure script also drops environments whose effective sample size
  ESS = (Σw)²/Σw² is below ``min_ess`` (a command-line argument); the reference summary omits
  it. ``sign_errors`` reports ``ess`` and ``min_ess`` (default 0: only weight-0 environments are
  dropped) reproduces that filter.
* Hyper-parameter values are compared exactly (their code uses ``math.isclose`` for floats):
  round float columns first.

Bootstrap: configurations are resampled with replacement (multinomial counts c_a, all seeds of a
configuration together). A configuration drawn c times contributes c copies of each network;
every statistic is computed on that population with pairs of a network with its own copy left
out (they carry no information: s = 0, w = 0). So a pair of distinct networks of configurations
a, b counts c_a·c_b times in τ and ψ_k; an environment (a, b) appears c_a·c_b times in the
distribution of sign errors, with its error unchanged. Everything is computed from per-
configuration pair sums precomputed once, so a resample costs a few matrix products.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from weakness_lib.bennett.robustness_pairs import (
    MIN_WEIGHT,
    Population,
    configurations,
    environment_pairs,
    hoeffding_weight,
    population,
    resample_counts,
    signs,
    validate,
)

__all__ = [
    "Environment",
    "kendall_tau",
    "granulated_psi",
    "psi_interval",
    "environments",
    "hoeffding_weight",
    "sign_errors",
    "robust_summary",
    "bootstrap_scores",
    "score_measures",
]

@dataclass(frozen=True)
class Environment:
    """Ordered pair of configurations differing only in ``varied`` (indices into the sorted list)."""

    varied: str
    config_a: tuple
    config_b: tuple
    index_a: int
    index_b: int


def kendall_tau(mu: Sequence[float], g: Sequence[float]) -> float:
    """Jiang's τ = (2/(n(n−1))) Σ_{i<j} sign(μ_i − μ_j)·sign(g_i − g_j); ties count 0 (not τ-b)."""
    m, y = np.asarray(mu, dtype=float).ravel(), np.asarray(g, dtype=float).ravel()
    if m.shape != y.shape or m.size < 2 or not np.isfinite(m).all() or not np.isfinite(y).all():
        raise ValueError(f"kendall_tau needs two finite vectors of equal length ≥ 2, got {m.size}, {y.size}")
    return float((signs(m) * signs(y))[np.triu_indices(m.size, 1)].mean())


def environments(df: pd.DataFrame, hparams: Sequence[str]) -> list[Environment]:
    """Every ordered pair of present configurations that differ in exactly one hyper-parameter."""
    validate(df, [], hparams)
    cfg_codes, configs, _ = configurations(df, hparams)
    return [Environment(hparams[k], configs[a], configs[b], int(a), int(b))
            for a, b, k in zip(*environment_pairs(cfg_codes))]


def granulated_psi(df: pd.DataFrame, measure: str, target: str, hparams: Sequence[str],
                   same_config_pairs: bool = True) -> tuple[float, dict[str, float]]:
    """Jiang's granulated Kendall: (Ψ, {k: ψ_k}); ψ_k is NaN when no group varies k.
    ``same_config_pairs=False``: within-group τ over pairs of different configurations only."""
    pop = population(df, measure, target, hparams)
    psi, per = pop.psi(np.ones((1, len(pop.configs))), same_config_pairs)
    return float(psi[0]), {h: float(per[0, i]) for i, h in enumerate(hparams)}


def psi_interval(df: pd.DataFrame, measure: str, target: str, hparams: Sequence[str], *,
                 orientation: int = 1, same_config_pairs: bool = True, n_boot: int = 1000,
                 seed: int = 0) -> dict[str, float]:
    """``{"psi", "psi_lo", "psi_hi"}``: Ψ of orientation × ``measure`` and its percentile 95 % CI
    over the configuration resamples of :func:`bootstrap_scores` (same ``seed`` ⇒ same draws)."""
    pop = population(df, measure, target, hparams, orientation=orientation)
    psi = float(pop.psi(np.ones((1, len(pop.configs))), same_config_pairs)[0][0])
    draws = pop.psi(resample_counts(len(pop.configs), n_boot, seed), same_config_pairs)[0]
    draws = draws[np.isfinite(draws)]
    lo, hi = np.percentile(draws, [2.5, 97.5]) if draws.size else (np.nan, np.nan)
    return {"psi": psi, "psi_lo": float(lo), "psi_hi": float(hi)}


def sign_errors(df: pd.DataFrame, measure: str, target: str, hparams: Sequence[str], n_test: int,
                min_weight: float = MIN_WEIGHT) -> pd.DataFrame:
    """One row per ordered environment: ``varied, config_a, config_b, n_pairs, weight, ess, sign_error``.

    ``weight`` = Σ w_ij over the n_pairs cross pairs; ``sign_error`` = Σ w_ij e_ij / Σ w_ij (NaN if
    the weight is 0); ``ess`` = (Σ w)² / Σ w² (0 if the weight is 0).
    """
    pop = population(df, measure, target, hparams, n_test, min_weight=min_weight)
    return pd.DataFrame({
        "varied": [hparams[k] for k in pop.env_k],
        "config_a": [pop.configs[a] for a in pop.env_a],
        "config_b": [pop.configs[b] for b in pop.env_b],
        "n_pairs": pop.env_n.astype(int), "weight": pop.env_w, "ess": pop.env_ess,
        "sign_error": pop.env_err})


def robust_summary(errors: pd.DataFrame, min_ess: float = 0.0) -> dict:
    """Max / 90th percentile / mean of the sign errors of environments with weight > 0 (and
    ESS ≥ ``min_ess``), their count, the number excluded, and ``per_hparam[k]`` = {max, mean, n}."""
    ess = errors["ess"] if "ess" in errors else pd.Series(np.inf, index=errors.index)
    ok = np.isfinite(errors["sign_error"]) & ((ess >= min_ess) | np.isclose(ess, min_ess))
    e = errors.loc[ok, "sign_error"].to_numpy(dtype=float)
    nan = float("nan")
    out = {"max": float(e.max()) if e.size else nan, "p90": float(np.percentile(e, 90)) if e.size else nan,
           "mean": float(e.mean()) if e.size else nan, "n_environments": int(ok.sum()),
           "n_excluded": int((~ok).sum()), "per_hparam": {}}
    for h in pd.unique(errors["varied"]):
        eh = errors.loc[ok & (errors["varied"] == h), "sign_error"].to_numpy(dtype=float)
        out["per_hparam"][h] = {"max": float(eh.max()) if eh.size else nan,
                                "mean": float(eh.mean()) if eh.size else nan, "n_environments": int(eh.size)}
    return out


def _bootstrap(pop: Population, n_boot: int, seed: int, chunk: int = 250) -> dict[str, tuple[float, float]]:
    counts = resample_counts(len(pop.configs), n_boot, seed)
    draws: dict[str, list[np.ndarray]] = {}
    for start in range(0, n_boot, chunk):  # chunks bound the B × (environments) memory
        c = counts[start:start + chunk]
        stats = {"tau": pop.tau(c), "psi": pop.psi(c)[0]}
        stats.update({f"sign_error_{key}": v for key, v in pop.robust(c).items()})
        for key, v in stats.items():
            draws.setdefault(key, []).append(v)
    out = {}
    for key, parts in draws.items():
        v = np.concatenate(parts)
        v = v[np.isfinite(v)]
        out[key] = (float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))) if v.size else (np.nan, np.nan)
    return out


def bootstrap_scores(df: pd.DataFrame, measure: str, target: str, hparams: Sequence[str], n_test: int,
                     n_boot: int = 1000, seed: int = 0, min_ess: float = 0.0) -> dict[str, tuple[float, float]]:
    """Percentile 95 % CIs (2.5th, 97.5th) of τ, Ψ and sign-error max/p90/mean over ``n_boot``
    resamples of configurations (module docstring); deterministic given ``seed``. NaN draws (e.g.
    no environment left) are dropped."""
    return _bootstrap(population(df, measure, target, hparams, n_test, min_ess=min_ess), n_boot, seed)


def score_measures(df: pd.DataFrame, measures: Mapping[str, int], target: str, hparams: Sequence[str],
                   n_test: int, n_boot: int = 1000, seed: int = 0, min_ess: float = 0.0) -> pd.DataFrame:
    """One row per measure (μ = orientation × column): τ, Ψ, ψ_<k>, sign-error max/p90/mean,
    per-hparam sign_error_max_<k>/sign_error_mean_<k>, counts, and <stat>_lo/<stat>_hi CIs
    (the same resamples for every measure, so measures are compared on paired draws)."""
    rows = []
    for name, orientation in measures.items():
        if orientation not in (1, -1):
            raise ValueError(f"orientation of {name!r} must be +1 or -1, got {orientation!r}")
        pop = population(df, name, target, hparams, n_test, orientation, min_ess)
        ones = np.ones((1, len(pop.configs)))
        psi, per = pop.psi(ones)
        errs = pd.DataFrame({"varied": [hparams[k] for k in pop.env_k], "ess": pop.env_ess,
                             "sign_error": pop.env_err})
        rs = robust_summary(errs, min_ess)
        row = {"measure": name, "orientation": int(orientation), "tau": float(pop.tau(ones)[0]),
               "psi": float(psi[0])}
        row.update({f"psi_{h}": float(per[0, i]) for i, h in enumerate(hparams)})
        row.update({f"sign_error_{s}": rs[s] for s in ("max", "p90", "mean")})
        row.update({"n_environments": rs["n_environments"], "n_excluded": rs["n_excluded"]})
        for h in hparams:
            ph = rs["per_hparam"].get(h, {"max": np.nan, "mean": np.nan})
            row.update({f"sign_error_max_{h}": ph["max"], f"sign_error_mean_{h}": ph["mean"]})
        if n_boot > 0:
            for key, (lo, hi) in _bootstrap(pop, n_boot, seed).items():
                row.update({f"{key}_lo": lo, f"{key}_hi": hi})
        rows.append(row)
    return pd.DataFrame(rows)
