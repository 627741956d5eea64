"""Weakness-maximisers are minimax-optimal under exchangeable demands (claim C4, reference §7.1).

Among candidate coverings consistent with the data, the one with the largest |C| (the weakness
maximiser) has the highest success under *every* exchangeable law at once: zero worst-case regret
regret(C) = max_law [max_C' success(C') − success(C)] over any family of exchangeable laws. Every
non-maximiser is strictly worse under the exchangeable law |D| = 1 (success |C|/|U|). A biased
(non-exchangeable) law can reverse the order: the negative control.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from weakness_lib.bennett.theory.demand import popcounts, success_all

__all__ = [
    "MonotonicityReport",
    "monotonicity_report",
    "find_reversal",
    "MinimaxReport",
    "minimax_report",
]


@dataclass(frozen=True)
class MonotonicityReport:
    """Does success depend on C only through |C|, and is it non-decreasing in |C|?"""

    n: int
    max_within_size_spread: float
    min_step: float  # min_c [s(c+1) − s(c)] over the per-size values (≥ 0 ⇔ monotone)
    by_size: np.ndarray

    @property
    def depends_only_on_size(self) -> bool:
        return self.max_within_size_spread <= 1e-12

    @property
    def monotone(self) -> bool:
        return self.depends_only_on_size and self.min_step >= -1e-12


def monotonicity_report(law: np.ndarray, n: int) -> MonotonicityReport:
    """Enumerate all 2^n coverings C: spread of success within each |C|, and the smallest step."""
    s = success_all(law, n)
    k = popcounts(n)
    spread = max(float(np.ptp(s[k == j])) for j in range(n + 1))
    by_size = np.array([s[k == j].mean() for j in range(n + 1)])
    return MonotonicityReport(n, spread, float(np.diff(by_size).min()), by_size)


def find_reversal(law: np.ndarray, n: int) -> tuple[int, int] | None:
    """A pair (C_big, C_small) with |C_big| > |C_small| but success(C_big) < success(C_small)."""
    s = success_all(law, n)
    k = popcounts(n)
    for j in range(n):
        small = np.flatnonzero(k == j)
        big = np.flatnonzero(k == j + 1)
        i_small, i_big = small[np.argmax(s[small])], big[np.argmin(s[big])]
        if s[i_big] < s[i_small] - 1e-15:
            return int(i_big), int(i_small)
    return None


@dataclass(frozen=True)
class MinimaxReport:
    """Regret of every candidate over a family of laws: regret_h = max_law (best − success_h)."""

    coverage_sizes: np.ndarray
    worst_regret: np.ndarray
    maximiser_regret: float
    min_nonmaximiser_regret: float | None


def minimax_report(candidates: Sequence[int], laws: Sequence[np.ndarray], n: int) -> MinimaxReport:
    """Worst-case regret of each candidate covering (bitmask) over ``laws``.

    The weakness-maximisers (largest |C|) must have regret 0 for exchangeable families; for
    non-maximisers the regret is > 0 whenever the family contains the |D| = 1 law.
    """
    cand = np.asarray(candidates, dtype=np.int64)
    if cand.size == 0:
        raise ValueError("need at least one candidate")
    succ = np.stack([success_all(law, n)[cand] for law in laws])  # [laws, candidates]
    regret = (succ.max(axis=1, keepdims=True) - succ).max(axis=0)
    sizes = np.array([int(c).bit_count() for c in cand])
    is_max = sizes == sizes.max()
    non = regret[~is_max]
    return MinimaxReport(sizes, regret, float(regret[is_max].max()),
                         float(non.min()) if non.size else None)
