"""Exact weakness in a finite embodied language (Bennett 2023/2024; reference §3.1, §3.4).

For a finite vocabulary v of programs over a finite set of worlds, a statement l ⊆ v is
realisable iff some world makes every program in l true; L_v is the set of realisable
statements. y completes x iff x ⊆ y; the extension of x is Z_x = {y ∈ L_v : x ⊆ y}, and the
weakness of x is |Z_x|. For the freedom paper's exclusion encoding the weakness of the policy of
a permission profile F is the closed form w(π_F) = ∏_c (2^{a_c} − 1), a_c = |F(c)|.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["FiniteLanguage", "exclusion_language", "exclusion_statement", "freedom_closed_form"]


class FiniteLanguage:
    """The embodied language L_v of a finite vocabulary v of programs over a finite set of worlds.

    A program is identified with the set of worlds where it is true (a row of ``truth``,
    shape [|v|, |worlds|]). A statement l ⊆ v is *realisable* iff some world makes every program
    in l true; L_v is the set of realisable statements (the empty statement included, as in
    Bennett 2023, unless ``include_empty=False``). Statements are bitmasks over v (bit i = program i).

    * completion: y completes x iff x ⊆ y;
    * extension Z_x = {y ∈ L_v : x ⊆ y}; for a set S of statements Z_S = ∪_{s∈S} Z_s;
    * weakness of x = |Z_x|.

    Everything is exact integer counting by enumerating the 2^|v| subsets (|v| ≤ 22): the
    realisable family is the union of the down-sets of the worlds' true-sets (a subset-sum
    transform), and |Z_x| for all x at once is a superset-sum transform, O(|v| 2^|v|).
    """

    MAX_PROGRAMS = 22

    def __init__(self, truth: np.ndarray, include_empty: bool = True):
        truth = np.asarray(truth, dtype=bool)
        if truth.ndim != 2 or truth.shape[0] == 0 or truth.shape[1] == 0:
            raise ValueError("truth must be a non-empty boolean matrix [n_programs, n_worlds]")
        n = truth.shape[0]
        if n > self.MAX_PROGRAMS:
            raise ValueError(f"{n} programs: exhaustive enumeration supports at most {self.MAX_PROGRAMS}")
        self.truth = truth
        self.n_programs = n
        weights = np.left_shift(np.int64(1), np.arange(n, dtype=np.int64))
        self.world_masks = (truth.T.astype(np.int64) * weights).sum(axis=1)  # programs true per world
        realisable = np.zeros(1 << n, dtype=bool)
        realisable[self.world_masks] = True
        idx = np.arange(1 << n, dtype=np.int64)
        for b in range(n):  # down-closure: l realisable if l ∪ {b} is
            has = (idx >> b) & 1 == 1
            realisable[idx[~has]] |= realisable[idx[has]]
        if not include_empty:
            realisable[0] = False
        self.realisable = realisable
        counts = realisable.astype(np.int64)
        for b in range(n):  # superset sums: counts[x] = Σ_{y ⊇ x} realisable[y]
            has = (idx >> b) & 1 == 1
            counts[idx[~has]] += counts[idx[has]]
        self._ext_size = np.where(realisable, counts, 0)

    @property
    def statements(self) -> np.ndarray:
        """All statements of L_v as bitmasks (ascending)."""
        return np.flatnonzero(self.realisable)

    def mask(self, programs: Sequence[int]) -> int:
        """Bitmask of a set of program indices."""
        m = 0
        for p in programs:
            if not 0 <= int(p) < self.n_programs:
                raise ValueError(f"program index {p} outside 0..{self.n_programs - 1}")
            m |= 1 << int(p)
        return m

    def is_statement(self, x: int) -> bool:
        return bool(self.realisable[int(x)])

    def extension(self, x: int) -> np.ndarray:
        """Z_x = {y ∈ L_v : x ⊆ y} as an array of bitmasks (brute force, for checks)."""
        s = self.statements
        return s[(s & int(x)) == int(x)]

    def extension_of_set(self, xs: Sequence[int]) -> np.ndarray:
        """Z_S = ∪_{s∈S} Z_s."""
        if len(xs) == 0:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate([self.extension(x) for x in xs]))

    def weakness(self, x: int) -> int:
        """|Z_x| (0 when x is not a statement of L_v)."""
        return int(self._ext_size[int(x)])

    def weakness_all(self) -> np.ndarray:
        """|Z_x| for every bitmask x (0 for non-statements)."""
        return self._ext_size.copy()


def exclusion_language(n_contexts: int, n_outputs: int) -> FiniteLanguage:
    """The freedom paper's exclusion encoding as a finite language (reference §3.4, INFERRED reading).

    Worlds are the total behaviours g: C → Y (|Y|^|C| of them); the vocabulary has one program
    per (c, y), "at context c the output is not y" (bit c·|Y| + y), true in the worlds with
    g(c) ≠ y. A set of exclusions is realisable iff every context keeps ≥ 1 output.
    """
    if n_contexts < 1 or n_outputs < 1:
        raise ValueError("need at least one context and one output")
    worlds = np.array(np.meshgrid(*[np.arange(n_outputs)] * n_contexts, indexing="ij")).reshape(n_contexts, -1).T
    truth = np.zeros((n_contexts * n_outputs, worlds.shape[0]), dtype=bool)
    for c in range(n_contexts):
        for y in range(n_outputs):
            truth[c * n_outputs + y] = worlds[:, c] != y
    return FiniteLanguage(truth)


def exclusion_statement(profile: Sequence[Sequence[int]], n_outputs: int) -> int:
    """The policy π_F of a permission profile F (one permitted-output list per context): it
    excludes every (c, y) with y ∉ F(c). Returned as a bitmask in :func:`exclusion_language`."""
    m = 0
    for c, allowed in enumerate(profile):
        allowed = set(int(a) for a in allowed)
        for y in range(n_outputs):
            if y not in allowed:
                m |= 1 << (c * n_outputs + y)
    return m


def freedom_closed_form(sizes: Sequence[int]) -> int:
    """Bennett's closed form w(π_F) = ∏_c (2^{a_c} − 1) for permission-set sizes a_c (exact int)."""
    w = 1
    for a in sizes:
        if a < 0:
            raise ValueError("permission-set sizes must be ≥ 0")
        w *= (1 << int(a)) - 1
    return w
