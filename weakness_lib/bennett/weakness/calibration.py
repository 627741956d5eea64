"""Temperature calibration and confidence: the admissibility ablation of W1 (chapter 05b, X3).

W1 thresholds the softmax probabilities p_k(x) at τ. Those probabilities are as confident as
training left them, so "permitted" depends on the network's calibration, not only on what it
does. Calibrating first (Guo et al. 2017) asks the same question of probabilities that mean what
they say:

* :func:`fit_temperature` — T* = argmin_T −(1/m) Σ_i log softmax(z_i / T)_{y_i} on a held-out
  labelled split (bounded Brent search on log T, float64; the NLL is convex in 1/T);
* W1 of the calibrated network is ``w1_log_freedom(logits / T*, tau=τ)``;
* :func:`mean_confidence` — (1/|U|) Σ_x max_k p_k(x), the reference point "is weakness just
  (un)confidence?".
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from scipy.optimize import minimize_scalar
from torch import Tensor

from weakness_lib.bennett.weakness.logits import check_logits

__all__ = ["fit_temperature", "mean_confidence", "nll_at_temperature"]

#: the search interval of T (a network this over- or under-confident is reported at the bound)
T_BOUNDS: tuple[float, float] = (1e-2, 1e2)


def nll_at_temperature(logits: Tensor, labels: Tensor, temperature: float) -> float:
    """Mean cross-entropy of softmax(z / T) against ``labels`` (float64)."""
    z = check_logits(logits).to(torch.float64)
    return float(F.cross_entropy(z / temperature, labels.long()))


def fit_temperature(logits: Tensor, labels: Tensor, bounds: tuple[float, float] = T_BOUNDS,
                    xatol: float = 1e-6) -> float:
    """T* minimising the held-out NLL of softmax(z/T) over T ∈ ``bounds`` (Brent on log T).

    Deterministic (no random start) and invariant to adding a constant to every logit.
    """
    if len(logits) != len(labels) or len(labels) == 0:
        raise ValueError(f"need as many labels as logits rows (got {len(labels)} and {len(logits)})")
    lo, hi = math.log(bounds[0]), math.log(bounds[1])
    res = minimize_scalar(lambda t: nll_at_temperature(logits, labels, math.exp(t)),
                          bounds=(lo, hi), method="bounded", options={"xatol": xatol})
    return float(math.exp(res.x))


def mean_confidence(logits: Tensor) -> float:
    """(1/|U|) Σ_x max_k softmax(z(x))_k (float64)."""
    z = check_logits(logits).to(torch.float64)
    return float(torch.softmax(z, dim=1).max(dim=1).values.mean())
