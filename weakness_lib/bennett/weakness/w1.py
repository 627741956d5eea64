"""W1, permission-profile log-freedom, and its smooth relatives (reference §4.1).

At each probe input x the *permitted label set* is

    A_τ(x) = {k : p_k(x) ≥ τ} ∪ {argmax_k p_k(x)}           (probability form, p = softmax z), or
    A_δ(x) = {k : z_k(x) ≥ max_j z_j(x) − δ}                  (logit-margin form),

both always containing the arg-max, so a(x) = |A(x)| ≥ 1, and

    W1 = (1/|U|) Σ_{x∈U} log₂(2^{a(x)} − 1)      [bits per context; 0 when a(x) = 1 everywhere],

the per-context logarithm of Bennett's (2026) closed form w = ∏_c (2^{a_c} − 1). Cor. 4 of the
freedom paper gives the per-context log₂ generalisation probability W1 − log₂(2^K − 1), the
same ranking. Smooth relatives (not the same quantity, Prop. 3): mean |A(x)|, the fraction of
inputs with |A(x)| = 1, and the mean predictive entropy H(p(x)) in bits. All in float64.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
import torch
from torch import Tensor

from weakness_lib.bennett.weakness.columns import SWEEP_DELTAS, SWEEP_TAUS
from weakness_lib.bennett.weakness.logits import check_logits

__all__ = [
    "permitted_by_probability",
    "permitted_by_margin",
    "permitted_sets",
    "log2_freedom_per_size",
    "w1_log_freedom",
    "mean_permitted",
    "fraction_singleton",
    "predictive_entropy",
    "generalisation_log2_probability",
    "w1_sweep",
]


def permitted_by_probability(logits: Tensor, tau: float) -> Tensor:
    """Boolean mask [N, K] of A_τ(x) = {k : softmax(z(x))_k ≥ τ} ∪ {argmax z(x)} (float64 softmax)."""
    if not 0.0 < tau <= 1.0:
        raise ValueError(f"probability threshold τ must lie in (0, 1], got {tau}")
    z = check_logits(logits)
    mask = torch.softmax(z, dim=1) >= tau
    mask[torch.arange(z.shape[0], device=z.device), z.argmax(dim=1)] = True
    return mask


def permitted_by_margin(logits: Tensor, delta: float) -> Tensor:
    """Boolean mask [N, K] of A_δ(x) = {k : z_k(x) ≥ max_j z_j(x) − δ} (contains the arg-max)."""
    if not delta >= 0.0:
        raise ValueError(f"logit margin δ must be ≥ 0, got {delta}")
    z = check_logits(logits)
    return z >= z.max(dim=1, keepdim=True).values - delta


def permitted_sets(logits: Tensor, *, tau: float | None = None, delta: float | None = None) -> Tensor:
    """A(x) as a mask: exactly one of ``tau`` (probability form) or ``delta`` (margin form)."""
    if (tau is None) == (delta is None):
        raise ValueError("give exactly one of tau= (probability threshold) or delta= (logit margin)")
    return permitted_by_probability(logits, tau) if tau is not None else permitted_by_margin(logits, delta)


def log2_freedom_per_size(n_classes: int) -> Tensor:
    """Lookup table t[a] = log₂(2^a − 1) for a = 0..K (float64; t[0] = −inf, never used)."""
    return torch.tensor(
        [-math.inf] + [math.log2(2.0**a - 1.0) for a in range(1, n_classes + 1)], dtype=torch.float64
    )


def w1_log_freedom(logits: Tensor, *, tau: float | None = None, delta: float | None = None) -> float:
    """W1 = mean_x log₂(2^{|A(x)|} − 1) in bits; higher = weaker."""
    mask = permitted_sets(logits, tau=tau, delta=delta)
    sizes = mask.sum(dim=1)
    return float(log2_freedom_per_size(mask.shape[1]).to(sizes.device)[sizes].mean())


def mean_permitted(logits: Tensor, *, tau: float | None = None, delta: float | None = None) -> float:
    """Mean |A(x)| over the probe set (a smooth relative of W1, not the same quantity)."""
    return float(permitted_sets(logits, tau=tau, delta=delta).sum(dim=1).double().mean())


def fraction_singleton(logits: Tensor, *, tau: float | None = None, delta: float | None = None) -> float:
    """Fraction of probe inputs with |A(x)| = 1 (where W1 contributes 0 bits)."""
    return float((permitted_sets(logits, tau=tau, delta=delta).sum(dim=1) == 1).double().mean())


def predictive_entropy(logits: Tensor) -> float:
    """Mean predictive entropy (1/|U|) Σ_x −Σ_k p_k(x) log₂ p_k(x), in bits (float64)."""
    logp = torch.log_softmax(check_logits(logits), dim=1)
    return float(-(logp.exp() * logp).sum(dim=1).mean() / math.log(2.0))


def generalisation_log2_probability(
    logits: Tensor, *, tau: float | None = None, delta: float | None = None
) -> float:
    """Cor. 4 of the freedom paper, per context: mean_x log₂[(2^{a(x)} − 1)/(2^K − 1)] = W1 − log₂(2^K − 1)."""
    k = logits.shape[1]
    return w1_log_freedom(logits, tau=tau, delta=delta) - math.log2(2.0**k - 1.0)


def w1_sweep(
    logits: Tensor,
    taus: Sequence[float] = SWEEP_TAUS,
    deltas: Sequence[float] = SWEEP_DELTAS,
) -> pd.DataFrame:
    """Threshold sensitivity of W1: one row per (form, threshold) with W1, mean |A|, frac |A| = 1."""
    rows = []
    for form, values in (("probability", taus), ("margin", deltas)):
        for v in values:
            kw = {"tau": v} if form == "probability" else {"delta": v}
            mask = permitted_sets(logits, **kw)
            sizes = mask.sum(dim=1)
            rows.append(
                {
                    "form": form,
                    "threshold": float(v),
                    "w1": float(log2_freedom_per_size(mask.shape[1]).to(sizes.device)[sizes].mean()),
                    "mean_A": float(sizes.double().mean()),
                    "frac_singleton": float((sizes == 1).double().mean()),
                }
            )
    return pd.DataFrame(rows)
