"""The vectorised core of :mod:`weakness_lib.bennett.robustness`: per-configuration pair sums of
one measure over a population of networks, from which τ, Ψ and the environment sign errors follow
for any configuration counts C (B × K), so that a bootstrap over configurations is a matrix
product per resample instead of a loop over pairs (conventions: the module docstring of
:mod:`~weakness_lib.bennett.robustness`).

:class:`Population` holds the sums; :func:`population` builds it from a DataFrame (validated by
:func:`validate`); :func:`resample_counts` draws the configuration resamples;
:func:`hoeffding_weight` is the noise weight of a pair.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: create_environments.py keeps pairs with weight (w - 0.5)_+
MIN_WEIGHT = 0.5


def signs(x: np.ndarray) -> np.ndarray:
    return np.sign(x[:, None] - x[None, :])


def hoeffding_weight(delta_g: np.ndarray | float, n_test: int, min_weight: float = MIN_WEIGHT) -> np.ndarray:
    """Noise weight of a pair whose gaps, each estimated on ``n_test`` examples, differ by Δg.

    w = max(0, 1 − φ)², φ = 2·exp(−2·n·(|Δg|/2)²) (``common.py``: the probability, by Hoeffding,
    that the two gaps truly differ); returns (w − ``min_weight``)₊ as ``create_environments.py``
    does with 0.5. ``min_weight=0`` gives their raw ``hoeffding_weight``.
    """
    if n_test <= 0:
        raise ValueError(f"n_test must be a positive number of test examples, got {n_test}")
    d = np.abs(np.asarray(delta_g, dtype=float))
    w = np.maximum(0.0, 1.0 - 2.0 * np.exp(-2.0 * n_test * (d / 2.0) ** 2)) ** 2
    return np.maximum(w - min_weight, 0.0)


def validate(df: pd.DataFrame, columns: Sequence[str], hparams: Sequence[str]) -> None:
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"expected a pandas DataFrame, got {type(df).__name__}")
    if isinstance(hparams, str) or len(hparams) == 0 or len(set(hparams)) != len(hparams):
        raise ValueError(f"hparams must be a non-empty sequence of distinct column names, got {hparams!r}")
    missing = [c for c in [*hparams, *columns] if c not in df.columns]
    if missing:
        raise ValueError(f"columns not in the DataFrame: {missing}")
    if len(df) < 2:
        raise ValueError(f"need at least 2 networks, got {len(df)}")
    for c in columns:
        v = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(v).all():
            raise ValueError(f"column {c!r} has {int((~np.isfinite(v)).sum())} non-numeric/NaN/inf values")
    for h in hparams:
        if df[h].isna().any() or df[h].nunique() < 2:
            raise ValueError(f"hyper-parameter {h!r} has missing values or takes a single value")


def configurations(df: pd.DataFrame, hparams: Sequence[str]) -> tuple[np.ndarray, list[tuple], np.ndarray]:
    """(K × H codes of the sorted configurations, their value tuples, configuration of each row)."""
    codes, uniques = zip(*(pd.factorize(df[h], sort=True) for h in hparams))
    cfg_codes, net_cfg = np.unique(np.column_stack(codes), axis=0, return_inverse=True)
    values = [u.tolist() for u in uniques]
    configs = [tuple(values[k][c] for k, c in enumerate(row)) for row in cfg_codes]
    return cfg_codes, configs, net_cfg.ravel()


def environment_pairs(cfg_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ordered configuration pairs (a, b) differing in exactly one hyper-parameter, and which."""
    diff = cfg_codes[:, None, :] != cfg_codes[None, :, :]
    a, b = np.nonzero(diff.sum(axis=2) == 1)
    return a, b, diff[a, b].argmax(axis=1)


def repeated_percentile(values: np.ndarray, counts: np.ndarray, q: float) -> np.ndarray:
    """Row b: ``np.percentile(np.repeat(values, counts[b]), q)`` (linear), NaN for an empty row."""
    if values.size == 0:
        return np.full(len(counts), np.nan)
    order = np.argsort(values, kind="stable")
    v, cum = values[order], np.cumsum(counts[:, order], axis=1)
    n = cum[:, -1]
    h = np.maximum(n - 1, 0) * q / 100.0
    lo = np.floor(h)
    i_lo = np.minimum((cum <= lo[:, None]).sum(axis=1), v.size - 1)
    i_hi = np.minimum((cum <= np.minimum(lo + 1, n - 1)[:, None]).sum(axis=1), v.size - 1)
    return np.where(n > 0, v[i_lo] + (h - lo) * (v[i_hi] - v[i_lo]), np.nan)


class Population:
    """Per-configuration pair sums of one measure; every score follows for any counts C (B × K)."""

    def __init__(self, mu: np.ndarray, g: np.ndarray, df: pd.DataFrame, hparams: Sequence[str],
                 n_test: int | None = None, min_weight: float = MIN_WEIGHT, min_ess: float = 0.0):
        cfg_codes, self.configs, net_cfg = configurations(df, hparams)
        z = np.eye(len(cfg_codes))[net_cfg]  # n × K one-hot
        dg = g[:, None] - g[None, :]
        s = signs(mu) * np.sign(dg)
        self.S = z.T @ s @ z  # Σ s_ij over i ∈ a, j ∈ b
        size = z.sum(axis=0)
        self.P = np.outer(size, size) - np.diag(size)  # number of pairs i ≠ j, i ∈ a, j ∈ b
        self.groups = []  # per hparam: K × G one-hot of "all other hyper-parameters equal"
        for h in range(len(hparams)):
            _, gid = np.unique(np.delete(cfg_codes, h, axis=1), axis=0, return_inverse=True)
            self.groups.append(np.eye(gid.max() + 1)[gid.ravel()])
        if n_test is None:
            return
        self.env_a, self.env_b, self.env_k = environment_pairs(cfg_codes)
        w = hoeffding_weight(dg, n_test, min_weight)
        W, L, W2 = (z.T @ x @ z for x in (w, w * (1.0 - s) / 2.0, w * w))
        ab = (self.env_a, self.env_b)
        self.env_n = size[self.env_a] * size[self.env_b]
        self.env_w = W[ab]
        with np.errstate(invalid="ignore", divide="ignore"):
            self.env_err = np.where(W[ab] > 0, L[ab] / W[ab], np.nan)
            self.env_ess = np.where(W[ab] > 0, W[ab] ** 2 / W2[ab], 0.0)
        self.env_ok = (self.env_w > 0) & ((self.env_ess >= min_ess) | np.isclose(self.env_ess, min_ess))

    def tau(self, c: np.ndarray) -> np.ndarray:
        num = np.einsum("bk,kl,bl->b", c, self.S, c)
        den = np.einsum("bk,kl,bl->b", c, self.P, c)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / den, np.nan)

    def psi(self, c: np.ndarray, same_config_pairs: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(Ψ per row, ψ_k per row and hparam) for counts c; without the pairs of networks of one
        configuration if not ``same_config_pairs`` (K × K block diagonal of S and P set to 0)."""
        psis = []
        for ind in self.groups:
            same = ind @ ind.T
            if not same_config_pairs:
                np.fill_diagonal(same, 0.0)
            num = ((c @ (self.S * same)) * c) @ ind
            den = ((c @ (self.P * same)) * c) @ ind
            ok = ((c > 0) @ ind >= 2) & (den > 0)  # ≥ 2 distinct values of k in the group
            tau = np.where(ok, num / np.where(ok, den, 1.0), 0.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                psis.append(tau.sum(axis=1) / ok.sum(axis=1))
        per = np.column_stack(psis)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.nansum(per, axis=1) / np.isfinite(per).sum(axis=1), per

    def robust(self, c: np.ndarray) -> dict[str, np.ndarray]:
        """Max, 90th percentile and mean of the environment errors, environment (a, b) × c_a·c_b."""
        err = self.env_err[self.env_ok]
        mult = c[:, self.env_a[self.env_ok]] * c[:, self.env_b[self.env_ok]]
        tot = mult.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return {"max": np.where(tot > 0, np.where(mult > 0, err, -np.inf).max(axis=1, initial=-np.inf), np.nan),
                    "p90": repeated_percentile(err, mult, 90.0),
                    "mean": np.where(tot > 0, (mult * err).sum(axis=1) / tot, np.nan)}


def population(df: pd.DataFrame, measure: str, target: str, hparams: Sequence[str],
                n_test: int | None = None, orientation: int = 1, min_ess: float = 0.0,
                min_weight: float = MIN_WEIGHT) -> Population:
    validate(df, [measure, target], hparams)
    mu = orientation * df[measure].to_numpy(dtype=float)
    return Population(mu, df[target].to_numpy(dtype=float), df, hparams, n_test, min_weight, min_ess)


def resample_counts(k: int, n_boot: int, seed: int) -> np.ndarray:
    """n_boot × k multinomial counts of k configurations drawn with replacement."""
    if n_boot < 1:
        raise ValueError(f"n_boot must be ≥ 1, got {n_boot}")
    return np.random.default_rng(seed).multinomial(k, np.full(k, 1.0 / k), size=n_boot).astype(float)
