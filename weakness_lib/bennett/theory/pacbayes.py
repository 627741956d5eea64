"""PAC-Bayes with uniform priors over a finite set of completions (claim C5, reference §7.2).

Prior P uniform on a finite set L of completions, posterior Q uniform on the compatible set
A ⊆ L: KL(Q‖P) = ln(|L|/|A|), so the McAllester/Maurer bound

    err̂(Q) + √((KL + ln(2√m/δ)) / (2m))

is strictly decreasing in the weakness |A|. Checked by enumeration for H = Y^X (A = ∏_x A(x))
and in the exclusion language of the freedom closed form, |Z_{π_F}| = ∏_c (2^{a_c} − 1).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd

from weakness_lib.bennett.weakness.language import (
    exclusion_language,
    exclusion_statement,
    freedom_closed_form,
)

__all__ = ["kl_uniform", "pacbayes_bound", "kl_check_functions", "kl_check_exclusion_language"]


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
