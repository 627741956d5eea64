"""Demand laws on the subsets D of a finite set U of unseen outcomes (reference §7.1), exactly.

A law is a probability vector indexed by bitmask D ⊆ U (|U| ≤ 16). A candidate covering C ⊆ U
succeeds when D ⊆ C; success(C) = Σ_{D ⊆ C} P(D) is computed for every C at once by a subset-sum
(zeta) transform. Exchangeable laws (invariant under permutations of U) are determined by the
size law π_k = P(|D| = k): P(D) = π_{|D|} / C(|U|, |D|), and then

    success(C) = Σ_k π_k C(|C|, k) / C(|U|, k)      — a non-decreasing function of |C| alone.

The uniform-powerset law gives 2^{|C|} / 2^{|U|} (Bennett 2023).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.special import comb

__all__ = [
    "MAX_U",
    "popcounts",
    "size_law",
    "uniform_powerset_law",
    "uniform_k_law",
    "binomial_law",
    "mixture_law",
    "biased_law",
    "is_exchangeable",
    "success_all",
    "exchangeable_success_closed_form",
]

MAX_U = 16


def _check_n(n: int) -> int:
    if not 1 <= n <= MAX_U:
        raise ValueError(f"|U| must be in 1..{MAX_U} for exhaustive enumeration, got {n}")
    return n


def popcounts(n: int) -> np.ndarray:
    """|D| for every bitmask D of an n-element set (array of length 2^n)."""
    idx = np.arange(1 << _check_n(n), dtype=np.int64)
    return np.array([int(i).bit_count() for i in idx], dtype=np.int64)


def size_law(n: int, size_probs: Sequence[float]) -> np.ndarray:
    """The exchangeable law with P(|D| = k) = ``size_probs[k]``: P(D) = π_{|D|}/C(n, |D|)."""
    pi = np.asarray(size_probs, dtype=float)
    if pi.shape != (n + 1,) or (pi < 0).any() or not math.isclose(pi.sum(), 1.0, abs_tol=1e-12):
        raise ValueError(f"size_probs must be a probability vector of length |U| + 1 = {n + 1}")
    k = popcounts(n)
    return pi[k] / comb(n, k, exact=False)


def uniform_powerset_law(n: int) -> np.ndarray:
    """D uniform over all 2^n subsets (each outcome demanded independently with prob. ½)."""
    return np.full(1 << _check_n(n), 2.0**-n)


def uniform_k_law(n: int, k: int) -> np.ndarray:
    """D uniform over the k-subsets of U."""
    pi = np.zeros(n + 1)
    pi[k] = 1.0
    return size_law(n, pi)


def binomial_law(n: int, q: float) -> np.ndarray:
    """Each outcome demanded independently with probability q: P(D) = q^{|D|}(1 − q)^{n − |D|}."""
    if not 0.0 <= q <= 1.0:
        raise ValueError("q must lie in [0, 1]")
    k = popcounts(n)
    return q**k * (1.0 - q) ** (n - k)


def mixture_law(laws: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """Σ_i w_i P_i (mixtures of exchangeable laws are exchangeable)."""
    w = np.asarray(weights, dtype=float)
    if len(laws) != len(w) or (w < 0).any() or not math.isclose(w.sum(), 1.0, abs_tol=1e-12):
        raise ValueError("need one non-negative weight per law, summing to 1")
    return np.sum([wi * law for wi, law in zip(laws, w, strict=True)], axis=0)


def biased_law(n: int, inclusion: Sequence[float]) -> np.ndarray:
    """Non-exchangeable control: outcome u demanded independently with its own probability q_u."""
    q = np.asarray(inclusion, dtype=float)
    if q.shape != (n,) or (q < 0).any() or (q > 1).any():
        raise ValueError(f"inclusion must hold {n} probabilities in [0, 1]")
    idx = np.arange(1 << n, dtype=np.int64)
    bits = (idx[:, None] >> np.arange(n)) & 1
    return np.prod(np.where(bits == 1, q, 1.0 - q), axis=1)


def is_exchangeable(law: np.ndarray, n: int, tol: float = 1e-15) -> bool:
    """Whether P(D) depends on D only through |D| (i.e. is permutation invariant)."""
    k = popcounts(n)
    return all(np.ptp(law[k == j]) <= tol for j in range(n + 1))


def success_all(law: np.ndarray, n: int) -> np.ndarray:
    """success[C] = P(D ⊆ C) = Σ_{D ⊆ C} P(D) for every bitmask C, exactly (subset-sum transform)."""
    if law.shape != (1 << _check_n(n),):
        raise ValueError(f"law must have 2^{n} entries")
    f = law.astype(float).copy()
    idx = np.arange(1 << n, dtype=np.int64)
    for b in range(n):
        has = (idx >> b) & 1 == 1
        f[idx[has]] += f[idx[~has]]
    return f


def exchangeable_success_closed_form(size_probs: Sequence[float], c: int, n: int) -> float:
    """Σ_k π_k C(c, k)/C(n, k) (the lemma of reference §7.1)."""
    return float(sum(p * comb(c, k, exact=True) / comb(n, k, exact=True)
                     for k, p in enumerate(size_probs) if p))
