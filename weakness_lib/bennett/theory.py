"""Exhaustive checks of the weakness theory on finite domains (reference bennett2026.md §3, §7).

Only the *statements* of Bennett's 2026 theorems are known (C4: weakness is minimax-optimal
under exchangeable demands; C5: PAC-Bayes bounds work because they correlate with weakness).
This module checks the reconstruction of reference §7 by exact enumeration:

* **Demand laws** on the subsets D of a finite set U of unseen outcomes (|U| ≤ 16), stored as a
  probability vector indexed by bitmask. A candidate covering C ⊆ U succeeds when D ⊆ C;
  success(C) = Σ_{D ⊆ C} P(D), computed for every C at once by a subset-sum transform.
  Exchangeable laws (invariant under permutations of U) are determined by the size law
  π_k = P(|D| = k): P(D) = π_{|D|} / C(|U|, |D|), and then
  success(C) = Σ_k π_k C(|C|, k) / C(|U|, k)  — a non-decreasing function of |C| alone.
  The uniform-powerset law gives 2^{|C|} / 2^{|U|} (Bennett 2023).
* **Minimax**: among candidates consistent with the data, the weakness-maximiser (largest |C|)
  is optimal under every exchangeable law simultaneously (zero worst-case regret over any
  family of exchangeable laws), and every non-maximiser is strictly worse under the
  exchangeable law |D| = 1 (success |C|/|U|). A biased (non-exchangeable) law can reverse the
  order — the negative control.
* **PAC-Bayes**: prior P uniform on a finite set L of completions, posterior Q uniform on the
  compatible set A ⊆ L: KL(Q‖P) = ln(|L|/|A|), so the McAllester/Maurer bound
  err̂(Q) + √((KL + ln(2√m/δ))/(2m)) is strictly decreasing in the weakness |A|. Checked for
  H = Y^X (A = ∏_x A(x)) and for the exclusion language of the freedom closed form.
* **Parameter-space "volume"** (reference §4.4): the fraction of random weight perturbations
  that keep every prediction changes under a Dinh rescaling, while W1 does not.
* **A re-creation (not a reproduction) of Bennett's 2023 w-maxing vs MDL experiment** on
  2-bit binary arithmetic; see :func:`wmax_vs_mdl`.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from scipy.special import comb

from weakness_lib.bennett.weakness import (
    exclusion_language,
    exclusion_statement,
    freedom_closed_form,
)

__all__ = [
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
    "monotonicity_report",
    "minimax_report",
    "find_reversal",
    "kl_uniform",
    "pacbayes_bound",
    "kl_check_functions",
    "kl_check_exclusion_language",
    "perturbation_volume",
    "Grammar",
    "expression_grammar",
    "arithmetic_targets",
    "wmax_vs_mdl",
]


# ----------------------------------------------------------------------------------------------
# Demand laws on subsets of U (bitmask-indexed probability vectors)
# ----------------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------------
# PAC-Bayes with uniform priors over a finite set of completions
# ----------------------------------------------------------------------------------------------
def kl_uniform(in_posterior: np.ndarray) -> float:
    """KL(Q‖P) by enumeration, P uniform on all entries, Q uniform on the True entries (nats)."""
    mask = np.asarray(in_posterior, dtype=bool)
    n_all, n_a = mask.size, int(mask.sum())
    if n_a == 0:
        raise ValueError("the posterior support is empty")
    q = np.where(mask, 1.0 / n_a, 0.0)
    p = 1.0 / n_all
    nz = q > 0
    return float(np.sum(q[nz] * np.log(q[nz] / p)))


def pacbayes_bound(kl: float, m: int, error_q: float = 0.0, delta: float = 0.05) -> float:
    """err̂(Q) + √((KL + ln(2√m/δ)) / (2m)) (McAllester/Maurer form, reference §7.2)."""
    return error_q + math.sqrt((kl + math.log(2.0 * math.sqrt(m) / delta)) / (2.0 * m))


def _profiles(n_x: int, n_y: int, limit: int | None, rng: np.random.Generator) -> np.ndarray:
    """Permission profiles as [n_profiles, n_x] arrays of non-empty output bitmasks (1..2^|Y|−1)."""
    n_sets = (1 << n_y) - 1
    total = n_sets**n_x
    if limit is None or total <= limit:
        grid = np.array(list(itertools.product(range(1, n_sets + 1), repeat=n_x)), dtype=np.int64)
        return grid
    return rng.integers(1, n_sets + 1, size=(limit, n_x))


def kl_check_functions(n_x: int, n_y: int, *, limit: int | None = 20_000, m: int = 50,
                       seed: int = 0) -> pd.DataFrame:
    """H = Y^X with a uniform prior; posterior uniform on A = ∏_x A(x) for permission profiles A.

    Enumerates all |Y|^|X| functions; for every (or ``limit`` random) profile computes KL(Q‖P)
    by summation and ln(|H|/|A|), and the bound at err̂(Q) = 0 (the posterior is consistent with
    the data it was conditioned on). Columns: log_weakness = ln|A|, kl_enum, kl_closed, bound.
    """
    if n_x * math.log(n_y) > math.log(5**5) + 1e-9:
        raise ValueError("keep |Y|^|X| ≤ 5^5 for exhaustive enumeration")
    rng = np.random.default_rng(seed)
    funcs = np.array(list(itertools.product(range(n_y), repeat=n_x)), dtype=np.int64)  # [|H|, n_x]
    profiles = _profiles(n_x, n_y, limit, rng)
    rows = []
    for prof in profiles:
        member = np.all((prof[None, :] >> funcs) & 1 == 1, axis=1)
        size_a = int(np.prod([int(a).bit_count() for a in prof]))
        kl_enum = kl_uniform(member)
        kl_closed = math.log(len(funcs) / size_a)
        rows.append({"log_weakness": math.log(size_a), "size_A": size_a, "kl_enum": kl_enum,
                     "kl_closed": kl_closed, "bound": pacbayes_bound(kl_enum, m)})
    return pd.DataFrame(rows)


def kl_check_exclusion_language(n_contexts: int, n_outputs: int, *, limit: int | None = 2_000,
                                m: int = 50, seed: int = 0) -> pd.DataFrame:
    """The same identity in the embodied exclusion language: P uniform on L (all realisable
    statements), Q uniform on Z_{π_F} (the completions of the policy of profile F):
    KL = ln(|L|/|Z_{π_F}|) with |Z_{π_F}| = ∏_c (2^{a_c} − 1) (enumerated, and closed form)."""
    lang = exclusion_language(n_contexts, n_outputs)
    statements = lang.statements
    rng = np.random.default_rng(seed)
    rows = []
    for prof in _profiles(n_contexts, n_outputs, limit, rng):
        allowed = [[y for y in range(n_outputs) if int(a) >> y & 1] for a in prof]
        x = exclusion_statement(allowed, n_outputs)
        member = (statements & x) == x
        w = int(member.sum())
        closed = freedom_closed_form([len(a) for a in allowed])
        kl_enum = kl_uniform(member)
        rows.append({"log_weakness": math.log(w), "weakness": w, "weakness_closed": closed,
                     "kl_enum": kl_enum, "kl_closed": math.log(len(statements) / w),
                     "bound": pacbayes_bound(kl_enum, m)})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------
# Parameter-space "volume" is not invariant (reference §4.4) — a demonstration, not an estimator
# ----------------------------------------------------------------------------------------------
@torch.no_grad()
def perturbation_volume(model: torch.nn.Module, X: torch.Tensor, radius: float, n_draws: int = 200,
                        seed: int = 0) -> float:
    """Fraction of isotropic weight perturbations θ + r·u/‖u‖ (u ~ N(0, I), fixed seed) that keep
    every arg-max prediction on X. A flatness/volume quantity: NOT a weakness estimator — it
    changes under function-preserving rescaling (reference §4.4)."""
    from weakness_lib.bennett.curvature import flatten, model_params, unflatten

    params = model_params(model, torch.float64)
    theta = flatten(params)
    net = copy.deepcopy(model).double().eval()
    Xd = X.double()
    base = net(Xd).argmax(1)
    gen = torch.Generator().manual_seed(seed)
    kept = 0
    for _ in range(n_draws):
        u = torch.randn(theta.numel(), generator=gen, dtype=torch.float64)
        p = unflatten(theta + radius * u / u.norm(), params)
        kept += bool((torch.func.functional_call(net, p, (Xd,)).argmax(1) == base).all())
    return kept / n_draws


# ----------------------------------------------------------------------------------------------
# Re-creation of Bennett (2023): w-maxing vs MDL on 2-bit binary arithmetic
# ----------------------------------------------------------------------------------------------
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
