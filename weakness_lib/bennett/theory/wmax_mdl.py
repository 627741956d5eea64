"""A re-creation (not a reproduction) of Bennett's 2023 w-maxing vs MDL experiment.

Situations x = (a, b), a, b ∈ {0, …, 3} (16 of them); the targets are the output bits of a + b
or a · b. A hypothesis for one output bit is a guarded rule h = (g, e) of two Boolean functions
of the 4 input bits from a small expression grammar: weakness |g⁻¹(1)|, description length
size(g) + size(e). The probability that the w-maxing and the MDL choice generalise is computed
exactly per training set (:func:`wmax_vs_mdl`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "N_SITUATIONS",
    "FULL",
    "Grammar",
    "expression_grammar",
    "arithmetic_targets",
    "wmax_vs_mdl",
]

N_SITUATIONS = 16  # x = (a, b), a, b ∈ {0, …, 3}; bit i of a truth table is the value at x = i
FULL = (1 << N_SITUATIONS) - 1


def _truth(values: np.ndarray) -> int:
    return int(sum(int(v) << i for i, v in enumerate(values)))


def _operands() -> tuple[np.ndarray, np.ndarray]:
    x = np.arange(N_SITUATIONS)
    return x >> 2, x & 3


@dataclass(frozen=True)
class Grammar:
    """All Boolean functions of the 4 input bits expressible with ≤ ``max_size`` nodes.

    ``tables`` are 16-bit truth tables (sorted), ``sizes`` the size of their smallest expression.
    Leaves (size 1): a0, a1, b0, b1, 0, 1; unary ¬ (+1); binary ∧, ∨, ⊕ (+1 + both sizes).
    """

    max_size: int
    tables: np.ndarray
    sizes: np.ndarray

    def size_of(self, table: int) -> int | None:
        i = np.searchsorted(self.tables, table)
        return int(self.sizes[i]) if i < len(self.tables) and self.tables[i] == table else None


def expression_grammar(max_size: int = 11) -> Grammar:
    """Enumerate the grammar bottom-up by size, keeping each truth table at its minimal size."""
    a, b = _operands()
    leaves = {_truth(a & 1), _truth(a >> 1 & 1), _truth(b & 1), _truth(b >> 1 & 1), 0, FULL}
    by_size = {1: np.array(sorted(leaves), dtype=np.int64)}
    best = dict.fromkeys(leaves, 1)
    for s in range(2, max_size + 1):
        cand = [(~by_size[s - 1]) & FULL]
        for i in range(1, (s - 1) // 2 + 1):
            j = s - 1 - i
            if len(by_size.get(i, ())) and len(by_size.get(j, ())):
                A, B = by_size[i][:, None], by_size[j][None, :]
                cand += [(A & B).ravel(), (A | B).ravel(), (A ^ B).ravel()]
        new = [t for t in np.unique(np.concatenate(cand)).tolist() if t not in best]
        best.update(dict.fromkeys(new, s))
        by_size[s] = np.array(new, dtype=np.int64)
    tables = np.array(sorted(best), dtype=np.int64)
    return Grammar(max_size, tables, np.array([best[t] for t in tables.tolist()], dtype=np.int64))


def arithmetic_targets(op: str) -> list[int]:
    """Truth tables of the output bits of a + b (3 bits) or a · b (4 bits), a, b ∈ {0..3}."""
    a, b = _operands()
    if op == "add":
        val, nbits = a + b, 3
    elif op == "mul":
        val, nbits = a * b, 4
    else:
        raise ValueError(f"unknown operation {op!r}; expected 'add' or 'mul'")
    return [_truth((val >> j) & 1) for j in range(nbits)]


def wmax_vs_mdl(grammar: Grammar, op: str, n_train: int, n_trials: int | None,
                seed: int = 0) -> pd.DataFrame:
    """One row per trial (a training set of ``n_train`` situations), with the exact probability that
    each proxy generalises. ``n_trials=None`` enumerates every training set of that size (the exact
    expectation); otherwise ``n_trials`` sets are drawn uniformly with ``seed``.

    Our design (a re-creation; Bennett's 2023 language is unknown). Per output bit, a hypothesis
    is a guarded rule h = (g, e) of two grammar functions: "on situations where g(x) = 1, decide
    y = e(x)". Its extension is the set of decisions it licenses, {(x, e(x)) : g(x) = 1}, so its
    weakness is |g⁻¹(1)| (how many situations it applies to), and its description length is
    size(g) + size(e). It is a *model of the child task* iff g covers every training situation
    and e agrees with the training outputs there. It *generalises* iff it is a model of the parent
    task (all 16 situations): g ≡ 1 and e equals the target bit.

    * **w-maxing**: among models, the largest extension; ties broken uniformly over distinct
      extensions. Since g ≡ 1 is in the grammar, every maximal model is total, so the choice is
      uniform over the grammar functions consistent with the training outputs.
    * **MDL**: among models, the smallest size(g) + size(e); ties uniform over distinct extensions.

    The probability that each proxy picks the target (per bit) is computed exactly; a trial's
    whole-output success is the product over bits (independent tie-breaks). ``extent_*`` is the
    expected weakness (covered situations) of the chosen hypothesis, summed over bits;
    ``mdl_is_wmaximiser`` says whether every MDL choice was also a weakness-maximiser (then MDL is
    itself a w-maxing proxy with an Occam tie-break, cf. reference §3.1 on ties).
    """
    targets = arithmetic_targets(op)
    for j, t in enumerate(targets):
        if grammar.size_of(t) is None:
            raise ValueError(f"output bit {j} of {op} is not expressible with ≤ {grammar.max_size} nodes")
    if not 1 <= n_train < N_SITUATIONS:
        raise ValueError(f"n_train must be in 1..{N_SITUATIONS - 1}")
    rng = np.random.default_rng(seed)
    if n_trials is None:
        train_sets = itertools.combinations(range(N_SITUATIONS), n_train)
    else:
        train_sets = (rng.choice(N_SITUATIONS, n_train, replace=False) for _ in range(n_trials))
    tables, sizes = grammar.tables, grammar.sizes
    rows = []
    for trial, train in enumerate(train_sets):
        mask = int(sum(1 << int(i) for i in train))
        guards = ((tables & mask) == mask)  # guards covering the training situations
        g_size = sizes[guards]
        g_min = int(g_size.min())
        g_min_tables = tables[guards][g_size == g_min]
        p_w, p_m, ext_w, ext_m, mdl_max = 1.0, 1.0, 0.0, 0.0, True
        per_bit: dict[str, float] = {}
        for j, t in enumerate(targets):
            consistent = ((tables ^ t) & mask) == 0
            per_bit[f"p_wmax_bit{j}"] = 1.0 / int(consistent.sum())
            p_w *= per_bit[f"p_wmax_bit{j}"]
            ext_w += N_SITUATIONS
            e_size = sizes[consistent]
            e_min = int(e_size.min())
            e_min_tables = tables[consistent][e_size == e_min]
            # distinct extensions among MDL-minimal hypotheses: (guard, e restricted to guard)
            exts = {(int(g), int(e) & int(g)) for g in g_min_tables for e in e_min_tables}
            per_bit[f"p_mdl_bit{j}"] = sum(1 for g, e in exts if g == FULL and e == t) / len(exts)
            p_m *= per_bit[f"p_mdl_bit{j}"]
            ext_m += float(np.mean([int(g).bit_count() for g, _ in exts]))
            mdl_max &= all(g == FULL for g, _ in exts)
        rows.append({"op": op, "n_train": n_train, "trial": trial, "p_wmax": p_w, "p_mdl": p_m,
                     "extent_wmax": ext_w, "extent_mdl": ext_m, "mdl_is_wmaximiser": mdl_max,
                     **per_bit})
    return pd.DataFrame(rows)
