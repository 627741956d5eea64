"""Faster curvature primitives, adopted from the peers measured in ``benchmarks/bench_curvature.py``.

Same quantities as :mod:`weakness_lib.bennett.curvature` (H = ∇²L(θ) of a mean loss on a fixed batch),
computed with fewer or cheaper Hessian-vector products:

* :class:`GraphHVP` — H v by reverse-over-reverse on a *retained* gradient graph: the gradient
  g(θ) = ∇L(θ) is built once with ``create_graph=True`` and every product is one backward pass
  H v = ∇_θ ⟨g(θ), v⟩ through that graph (PyHessian's scheme). ``matmat`` multiplies a block of
  vectors in one batched backward pass (``is_grads_batched``, i.e. vmap; curvlinops' scheme).
  It has the interface of :class:`weakness_lib.bennett.curvature.HVP` (``dim``, ``dtype``, ``params``,
  ``calls``, ``as_linear_operator``), so ``top_eigenvalues`` and ``hutchinson_trace`` accept it.
* :func:`lanczos_lambda_max` — λ_max by Lanczos with full re-orthogonalisation that stops as
  soon as the Ritz residual bound ‖H y − θ y‖ = β_j |s_j| ≤ tol·|θ| holds (checked after every
  product), instead of ARPACK's fixed ``ncv``-step restart cycle.
* :func:`hutchinson_to_stderr` — Hutchinson's estimator tr H = E[vᵀHv] (Rademacher v) with
  probes applied in blocks of ``block`` through ``matmat``, drawn until the standard error
  s/√K ≤ ``rel_stderr``·|mean|.
* :func:`xtrace` — the XTrace estimator of Epperly, Tropp & Webber (2024) (as in curvlinops):
  Hutch++-style deflation of the dominant range with every probe reused by leave-one-out, which
  needs several times fewer products than Hutchinson when a few eigenvalues dominate ‖H‖_F.

Probe k of :func:`hutchinson_to_stderr` with ``seed`` is the same vector as probe k of
:func:`weakness_lib.bennett.curvature.hutchinson_trace` with that seed (one ``torch.Generator``, same draws).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.sparse.linalg import LinearOperator
from torch import Tensor

from weakness_lib.bennett.curvature import (
    EigResult,
    LossFn,
    Params,
    TraceResult,
    loss_function,
    model_params,
)

__all__ = ["GraphHVP", "lanczos_lambda_max", "hutchinson_to_stderr", "xtrace"]


class GraphHVP:
    """v ↦ ∇²L(θ) v by differentiating a retained gradient graph; counts products in ``calls``.

    Building the object costs one forward and one backward pass (with graph); each product is
    then one backward pass through the gradient graph, which keeps the batch activations alive
    (memory ≈ a few times one training step's).
    """

    def __init__(self, loss_fn: LossFn, params: Params):
        self.params = {k: p.detach().clone().requires_grad_(True) for k, p in params.items()}
        self.dim = sum(p.numel() for p in self.params.values())
        self.dtype = next(iter(self.params.values())).dtype
        self.calls = 0
        self._leaves = list(self.params.values())
        self._sizes = [p.numel() for p in self._leaves]
        with torch.enable_grad():
            loss = loss_fn(self.params)
            self._grads = torch.autograd.grad(loss, self._leaves, create_graph=True)

    @classmethod
    def for_model(
        cls,
        model: torch.nn.Module,
        X: Tensor,
        y: Tensor,
        loss: str = "cross_entropy",
        dtype: torch.dtype = torch.float64,
    ) -> GraphHVP:
        """Products of the Hessian of the mean ``loss`` of ``model`` on (X, y), in ``dtype``."""
        return cls(loss_function(model, X, y, loss, dtype), model_params(model, dtype))

    def _split(self, flat: Tensor) -> list[Tensor]:
        """Flat [.., P] → per-parameter tensors [.., *shape] (views)."""
        lead = flat.shape[:-1]
        parts = torch.split(flat, self._sizes, dim=-1)
        return [q.reshape(*lead, *p.shape) for q, p in zip(parts, self._leaves)]

    def __call__(self, v: Tensor) -> Tensor:
        """H v for one flat vector ``v`` (length ``dim``)."""
        if v.shape != (self.dim,):
            raise ValueError(f"expected a vector of length {self.dim}, got shape {tuple(v.shape)}")
        self.calls += 1
        hv = torch.autograd.grad(
            self._grads, self._leaves, grad_outputs=self._split(v.to(self.dtype)), retain_graph=True
        )
        return torch.cat([h.reshape(-1) for h in hv])

    def matmat(self, V: Tensor) -> Tensor:
        """H V for a block of flat vectors ``V`` of shape [m, dim] (rows); one batched pass."""
        if V.ndim != 2 or V.shape[1] != self.dim:
            raise ValueError(f"expected shape [m, {self.dim}], got {tuple(V.shape)}")
        self.calls += V.shape[0]
        hv = torch.autograd.grad(
            self._grads,
            self._leaves,
            grad_outputs=self._split(V.to(self.dtype)),
            retain_graph=True,
            is_grads_batched=True,
        )
        return torch.cat([h.reshape(V.shape[0], -1) for h in hv], dim=1)

    def as_linear_operator(self) -> LinearOperator:
        """A float64 scipy ``LinearOperator`` view (matvec and matmat), e.g. for ``eigsh``."""

        def matvec(v: np.ndarray) -> np.ndarray:
            return self(torch.from_numpy(np.ascontiguousarray(v).reshape(-1))).double().numpy()

        def matmat(V: np.ndarray) -> np.ndarray:
            out = self.matmat(torch.from_numpy(np.ascontiguousarray(V.T)))
            return out.double().numpy().T

        return LinearOperator((self.dim, self.dim), matvec=matvec, matmat=matmat, dtype=np.float64)


def lanczos_lambda_max(
    hvp,
    tol: float = 1e-3,
    max_iter: int = 200,
    seed: int = 0,
    min_iter: int = 3,
    history: list[float] | None = None,
) -> EigResult:
    """Largest eigenvalue of H by Lanczos with full re-orthogonalisation and early stopping.

    From a seeded Gaussian start q₁, step j computes w = H q_j − β_{j−1} q_{j−1},
    α_j = q_jᵀ w, re-orthogonalises w against all previous q (twice, classical Gram–Schmidt)
    and sets β_j = ‖w‖. The top Ritz pair (θ, s) of the tridiagonal T_j satisfies
    ‖H y − θ y‖ = β_j |s_j| for y = Q_j s, so stopping when β_j |s_j| ≤ ``tol``·|θ|
    (and j ≥ ``min_iter``) guarantees an eigenvalue of H within ``tol``·|θ| of θ.
    Runs in float64 on the operator's output; ``n_hvp`` counts the products used, the reported
    residual is the bound β_j |s_j| / |θ| (no extra product). If ``history`` is a list, the
    top Ritz value after each product is appended to it (a convergence trace).
    """
    if tol <= 0:
        raise ValueError("tol must be > 0 (a relative accuracy such as 1e-3)")
    gen = np.random.default_rng(seed)
    q = gen.standard_normal(hvp.dim)
    q /= np.linalg.norm(q)
    Q = [q]
    alphas: list[float] = []
    betas: list[float] = []
    start = hvp.calls
    theta, s_last, beta = math.nan, math.nan, math.nan
    vec = None
    for j in range(max_iter):
        w = hvp(torch.from_numpy(Q[-1])).double().numpy()
        alpha = float(Q[-1] @ w)
        alphas.append(alpha)
        basis = np.stack(Q)
        for _ in range(2):
            w = w - basis.T @ (basis @ w)
        beta = float(np.linalg.norm(w))
        T = np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1)
        evals, evecs = np.linalg.eigh(T)
        theta, s = float(evals[-1]), evecs[:, -1]
        if history is not None:
            history.append(theta)
        s_last = abs(float(s[-1]))
        vec = s
        converged = j + 1 >= min_iter and beta * s_last <= tol * abs(theta)
        if converged or beta == 0.0 or j + 1 == max_iter or j + 1 == hvp.dim:
            break
        betas.append(beta)
        Q.append(w / beta)
    y = np.stack(Q[: len(vec)]).T @ vec
    return EigResult(
        values=np.array([theta]),
        vectors=y.reshape(-1, 1),
        n_hvp=hvp.calls - start,
        residuals=np.array([beta * s_last / max(abs(theta), 1e-300)]),
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

    Probes are drawn ``block`` at a time from one ``torch.Generator(seed)`` and multiplied in
    one batched pass when ``hvp`` has ``matmat`` (else one by one). The rule is checked after
    each block once K ≥ ``min_probes``; it stops at ``max_probes`` regardless (check
    ``stderr`` then). Sequential stopping makes the s.e. slightly optimistic; with K in the
    hundreds the effect is negligible.
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
        V = torch.stack(
            [torch.randint(0, 2, (hvp.dim,), generator=gen) for _ in range(m)]
        ).to(hvp.dtype).mul_(2).sub_(1)
        HV = hvp.matmat(V) if hasattr(hvp, "matmat") else torch.stack([hvp(v) for v in V])
        prod = V * HV
        per_block.append(
            np.stack([part.sum(dim=1).double().numpy() for part in torch.split(prod, sizes, dim=1)], 1)
        )
        k += m
        samples = np.concatenate(per_block).sum(axis=1)
        mean, se = float(samples.mean()), float(samples.std(ddof=1) / math.sqrt(k))
        if k >= max_probes or (k >= min_probes and se <= rel_stderr * abs(mean)):
            break
    blocks = np.concatenate(per_block)

    def mean_se(x: np.ndarray) -> tuple[float, float]:
        return float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x)))

    return TraceResult(
        mean=mean,
        stderr=se,
        n_hvp=hvp.calls - start,
        samples=samples,
        blocks={name: mean_se(blocks[:, j]) for j, name in enumerate(hvp.params)},
        block_samples=blocks,
    )


def _rademacher(m: int, dim: int, gen: torch.Generator, dtype: torch.dtype) -> Tensor:
    return torch.stack([torch.randint(0, 2, (dim,), generator=gen) for _ in range(m)]).to(
        dtype).mul_(2).sub_(1)


def _matmat(hvp, V: Tensor) -> Tensor:
    """H Vᵀ for rows V [m, dim] → [m, dim], batched when the operator can."""
    return hvp.matmat(V) if hasattr(hvp, "matmat") else torch.stack([hvp(v) for v in V])


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
    W = _rademacher(m, hvp.dim, gen, hvp.dtype)
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
    t = traces.numpy()
    return TraceResult(mean=float(t.mean()), stderr=float(t.std(ddof=1) / math.sqrt(m)),
                       n_hvp=hvp.calls - start, samples=t)
