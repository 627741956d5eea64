"""Stochastic estimates of tr H, H = ∇²L(θ), from Hessian-vector products.

* :func:`hutchinson_trace` — Hutchinson's estimator tr H = E[vᵀHv] for Rademacher v ∈ {±1}^P,
  a fixed number K of probes, one product at a time: mean ± s/√K. Every stored trace was
  computed by it on :class:`~weakness_lib.curvature.HVP`; its arithmetic is frozen.
* :func:`hutchinson_to_stderr` — the same estimator with probes multiplied ``block`` at a time
  (``matmat``), drawn until the standard error s/√K ≤ ``rel_stderr``·|mean|.
* :func:`xtrace` — the XTrace estimator of Epperly, Tropp & Webber (2024) (as in curvlinops):
  Hutch++-style deflation of the dominant range with every probe reused by leave-one-out; far
  fewer products than Hutchinson when a few eigenvalues dominate ‖H‖_F.

Probe k drawn with ``seed`` is the same ±1 vector in all three (one CPU ``torch.Generator``,
the same draws), whatever the device the products run on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

__all__ = ["TraceResult", "hutchinson_trace", "hutchinson_to_stderr", "xtrace"]


@dataclass(frozen=True)
class TraceResult:
    """Hutchinson estimate tr H ≈ mean_k v_kᵀ H v_k with its standard error."""

    mean: float
    stderr: float
    n_hvp: int
    samples: np.ndarray
    #: per parameter tensor t: (estimate, s.e.) of tr H_tt = Σ_{i∈t} E[v_i (Hv)_i]
    blocks: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: the per-probe block samples behind ``blocks`` (probes × tensors, tensor order of ``blocks``)
    block_samples: np.ndarray | None = None


def _device(hvp) -> torch.device:
    return getattr(hvp, "device", torch.device("cpu"))


def _rademacher(m: int, dim: int, gen: torch.Generator, hvp) -> Tensor:
    """m Rademacher rows [m, dim] drawn on the CPU from ``gen``, then moved to the operator."""
    draws = torch.stack([torch.randint(0, 2, (dim,), generator=gen) for _ in range(m)])
    return draws.to(device=_device(hvp), dtype=hvp.dtype).mul_(2).sub_(1)


def _matmat(hvp, V: Tensor) -> Tensor:
    """H Vᵀ for rows V [m, dim] → [m, dim], batched when the operator can."""
    return hvp.matmat(V) if hasattr(hvp, "matmat") else torch.stack([hvp(v) for v in V])


def _mean_se(x: np.ndarray) -> tuple[float, float]:
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x)))


def hutchinson_trace(hvp, n_probes: int = 30, seed: int = 0) -> TraceResult:
    """Hutchinson's estimator tr H = E[vᵀHv] with Rademacher v ∈ {±1}^P.

    Returns the sample mean and its standard error s/√K over ``n_probes`` = K probes, and,
    from the same probes at no extra cost, the per-tensor block traces
    tr H_tt = E[Σ_{i∈t} v_i (Hv)_i] (the diagonal estimator diag H = E[v ⊙ Hv]).
    Probe k depends only on (``seed``, k), so two operators of equal size see the same probes.
    """
    if n_probes < 2:
        raise ValueError("n_probes must be ≥ 2 to report a standard error")
    gen = torch.Generator().manual_seed(seed)
    sizes = [p.numel() for p in hvp.params.values()]
    per_block = np.empty((n_probes, len(sizes)))
    for k in range(n_probes):
        v = _rademacher(1, hvp.dim, gen, hvp)[0]
        prod = v * hvp(v)
        per_block[k] = [float(part.sum()) for part in torch.split(prod, sizes)]
    samples = per_block.sum(axis=1)
    mean, se = _mean_se(samples)
    return TraceResult(
        mean=mean,
        stderr=se,
        n_hvp=n_probes,
        samples=samples,
        blocks={name: _mean_se(per_block[:, j]) for j, name in enumerate(hvp.params)},
        block_samples=per_block,
    )


def hutchinson_to_stderr(
    hvp,
    rel_stderr: float = 0.01,
    block: int = 32,
    seed: int = 0,
    min_probes: int = 32,
    max_probes: int = 20_000,
) -> TraceResult:
    """Hutchinson's tr H = E[vᵀHv], Rademacher v, until s/√K ≤ ``rel_stderr``·|mean|.

    Probes are drawn ``block`` at a time and multiplied in one batched pass (``matmat``). The
    rule is checked after each block once K ≥ ``min_probes``; it stops at ``max_probes``
    regardless (check ``stderr`` then). Sequential stopping makes the s.e. slightly optimistic;
    with K in the hundreds the effect is negligible.
    """
    if not 0 < rel_stderr < 1 or block < 1 or min_probes < 2:
        raise ValueError("need 0 < rel_stderr < 1, block ≥ 1 and min_probes ≥ 2")
    gen = torch.Generator().manual_seed(seed)
    sizes = [p.numel() for p in hvp.params.values()]
    start = hvp.calls
    per_block: list[np.ndarray] = []
    k = 0
    while True:
        m = min(block, max_probes - k)
        V = _rademacher(m, hvp.dim, gen, hvp)
        prod = V * _matmat(hvp, V)
        per_block.append(np.stack(
            [part.sum(dim=1).double().cpu().numpy() for part in torch.split(prod, sizes, dim=1)], 1))
        k += m
        samples = np.concatenate(per_block).sum(axis=1)
        mean, se = _mean_se(samples)
        if k >= max_probes or (k >= min_probes and se <= rel_stderr * abs(mean)):
            break
    blocks = np.concatenate(per_block)
    return TraceResult(
        mean=mean,
        stderr=se,
        n_hvp=hvp.calls - start,
        samples=samples,
        blocks={name: _mean_se(blocks[:, j]) for j, name in enumerate(hvp.params)},
        block_samples=blocks,
    )


def xtrace(hvp, n_hvp: int, seed: int = 0) -> TraceResult:
    """XTrace estimate of tr H from ``n_hvp`` (even) products, with its own standard error.

    With m = ``n_hvp``/2 Rademacher vectors W = [w₁ … w_m]: Y = H W, Q R = Y (thin QR), and
    for every i the basis Q_i of the columns of Y except the i-th (obtained from Q by the
    rank-one downdate s_i, the normalised i-th column of R⁻ᵀ). Estimator i is
    t_i = tr(Q_iᵀ H Q_i) + w_iᵀ (I − Q_i Q_iᵀ) H (I − Q_i Q_iᵀ) w_i: the exact trace on the
    span of the other samples plus Hutchinson on the complement with the left-out vector, so
    E t_i = tr H. The estimate is mean_i t_i and the reported standard error is
    sd(t_i)/√m (Epperly et al.'s a-posteriori error estimate; the t_i are exchangeable, not
    independent, so it is an estimate). Costs m products for Y and m for H Q, in float64
    linear algebra on a [dim, m] basis. ``samples`` holds the t_i; no per-tensor blocks.
    """
    if n_hvp < 4 or n_hvp % 2:
        raise ValueError(f"n_hvp must be an even number ≥ 4, got {n_hvp}")
    m = n_hvp // 2
    if m >= hvp.dim:
        raise ValueError(f"n_hvp/2 = {m} must be smaller than the dimension {hvp.dim}")
    gen = torch.Generator().manual_seed(seed)
    start = hvp.calls
    W = _rademacher(m, hvp.dim, gen, hvp)
    Y = _matmat(hvp, W).double().T  # [dim, m]
    W = W.double().T
    Q, R = torch.linalg.qr(Y)
    HQ = _matmat(hvp, Q.T.contiguous().to(hvp.dtype)).double().T
    QHQ = Q.T @ HQ
    RTinv = torch.linalg.inv(R.T)
    S = RTinv / torch.linalg.norm(RTinv, dim=0)
    traces = torch.trace(QHQ) - torch.diagonal(S.T @ QHQ @ S)
    QtW = Q.T @ W  # [m, m]
    for i in range(m):
        s = S[:, i]

        def deflate(v: Tensor, s: Tensor = s) -> Tensor:
            return v - (s @ v) * s

        hpw = Y[:, i] - HQ @ deflate(QtW[:, i])
        phpw = hpw - Q @ deflate(Q.T @ hpw)
        traces[i] += W[:, i] @ phpw
    t = traces.cpu().numpy()
    return TraceResult(mean=float(t.mean()), stderr=float(t.std(ddof=1) / math.sqrt(m)),
                       n_hvp=hvp.calls - start, samples=t)
