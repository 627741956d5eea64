"""The pure pieces of the Wen verdicts: per-seed lookups, intervals and counting rules.

Every threshold these functions compare against is passed in from the registration
(``configs/wen_scenario_*.yaml``, claim block ``thresholds``); none is hard-coded here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch
from scipy import stats


def mean_ci95(values: Iterable[float]) -> tuple[float, list[float] | None]:
    """Mean and Student-t 95% interval over replicates (None for fewer than 2 values)."""
    v = np.asarray(list(values), dtype=float)
    mean = float(v.mean())
    if len(v) < 2:
        return mean, None
    half = float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return mean, [mean - half, mean + half]


def accuracy_ci95(accs: Iterable[float], n_test: int) -> tuple[float, list[float] | None]:
    """Mean of per-seed accuracies and a 95 % interval for it that stays inside [0, 1].

    A Wilson score interval with an effective sample size (the design-effect form used for
    clustered proportions, Korn & Graubard 1998): the spread between seeds, not the number of test
    points, sets the width. With k seeds, mean p̂ and standard error se = s/√k,
    ``n_eff = p̂(1 − p̂)/se²`` (capped at the k·``n_test`` test predictions behind p̂; the cap is
    also used when all seeds agree, se = 0), and the Wilson interval is taken at n_eff with the
    Student-t quantile on k − 1 degrees of freedom instead of z:

        (p̂ + t²/2n_eff ± t √(p̂(1 − p̂)/n_eff + t²/4n_eff²)) / (1 + t²/n_eff).

    It reduces to the Wilson interval for independent test points, is asymmetric near 1 (the
    uncertainty of a mean accuracy close to 1 is mostly downwards) and never leaves [0, 1] — unlike
    p̂ ± t·se, which gave [0.912, 1.054] for WLM-III. ``None`` for fewer than 2 seeds.
    """
    v = np.asarray(list(accs), dtype=float)
    p = float(v.mean())
    k = len(v)
    if k < 2:
        return p, None
    t = float(stats.t.ppf(0.975, k - 1))
    se2 = float(v.var(ddof=1)) / k
    cap = float(k * int(n_test))
    n_eff = min(p * (1 - p) / se2, cap) if se2 > 0 else cap
    r = t * t / n_eff
    centre = (p + r / 2) / (1 + r)
    half = t / (1 + r) * math.sqrt(p * (1 - p) / n_eff + r / (4 * n_eff))
    return p, [max(0.0, centre - half), min(1.0, centre + half)]


def tie_broken_accuracy(out: torch.Tensor, y: torch.Tensor) -> float:
    """Expected accuracy when an output of exactly 0 is resolved by a fair coin."""
    return float(((y * out > 0).double() + 0.5 * (out == 0).double()).mean())


def by_seed(rows: Iterable[Mapping[str, Any]], run: str) -> dict[int, Mapping[str, Any]]:
    """The rows of one run, keyed by seed."""
    return {int(r["seed"]): r for r in rows if r.get("run") == run}


def constructions_hold(cons: Mapping[str, Any], th: Mapping[str, Any]) -> bool:
    """The registered construction check shared by Scenarios II and III: the memoriser and the
    4-neuron generaliser both interpolate (train MSE < ``th["construction_train_mse"]``) at the
    minimal trace (relative error < ``th["construction_rel_err"]``); the memoriser outputs exactly
    0 on a fraction ``th["memoriser_zero_frac"]`` of the test points and the generaliser's test
    accuracy is at least ``th["generaliser_acc"]``."""
    mem, gen = cons["memoriser"], cons["generaliser"]
    return bool(
        all(m["train_mse"] < th["construction_train_mse"] for m in (mem, gen))
        and all(m["rel_err_bound"] < th["construction_rel_err"] for m in (mem, gen))
        and mem["frac_test_outputs_zero"] >= th["memoriser_zero_frac"]
        and gen["test_acc"] >= th["generaliser_acc"]
    )


def verdict_from_counts(check: bool, counts: Mapping[str, int], main: str, min_seeds: int) -> str:
    """The rule shape of WLM-II and WLM-III: reproduced if the construction ``check`` holds and every
    per-seed condition holds in ≥ ``min_seeds`` seeds; partially reproduced if the check holds
    and the ``main`` condition does; not reproduced otherwise."""
    if check and all(n >= min_seeds for n in counts.values()):
        return "reproduced"
    if check and counts[main] >= min_seeds:
        return "partially_reproduced"
    return "not_reproduced"


def _text(value: Any) -> str:
    return " ".join(str(value).split())


