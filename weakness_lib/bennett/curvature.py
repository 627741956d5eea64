"""Curvature of a mean training loss: Hessian-vector products, λ_max, trace, dense Hessian.

For a model f_θ and a fixed batch (X, y) the loss is L(θ) = (1/B) Σ_i ℓ(f_θ(x_i), y_i).
Every quantity here is built from one primitive, the Hessian-vector product

    H v = ∇²L(θ) v = d/dt ∇L(θ + t v) |_{t=0},

computed forward-over-reverse as ``torch.func.jvp(torch.func.grad(L), (θ,), (v,))``.
All vectors are flat tensors in the order of ``model.named_parameters()``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from scipy.sparse.linalg import LinearOperator, eigsh
from torch import Tensor, nn
from torch.func import functional_call, grad, jvp

Params = dict[str, Tensor]
LossFn = Callable[[Params], Tensor]

__all__ = [
    "Params",
    "EigResult",
    "TraceResult",
    "HVP",
    "model_params",
    "flatten",
    "unflatten",
    "loss_function",
    "top_eigenvalues",
    "hutchinson_trace",
    "dense_hessian",
]


def model_params(model: nn.Module, dtype: torch.dtype | None = None) -> Params:
    """Detached copies of the trainable parameters, optionally cast to ``dtype``."""
    return {
        name: p.detach().to(dtype or p.dtype).clone()
        for name, p in model.named_parameters()
        if p.requires_grad
    }


def flatten(params: Params) -> Tensor:
    """Concatenate a parameter dict into one flat vector (insertion order)."""
    return torch.cat([p.reshape(-1) for p in params.values()])


def unflatten(vec: Tensor, like: Params) -> Params:
    """Split a flat vector into tensors shaped like ``like`` (inverse of :func:`flatten`)."""
    total = sum(p.numel() for p in like.values())
    if vec.numel() != total:
        raise ValueError(f"vector has {vec.numel()} entries, parameters have {total}")
    out: Params = {}
    offset = 0
    for name, p in like.items():
        out[name] = vec[offset : offset + p.numel()].view_as(p)
        offset += p.numel()
    return out


def loss_function(
    model: nn.Module,
    X: Tensor,
    y: Tensor,
    loss: str = "cross_entropy",
    dtype: torch.dtype = torch.float64,
) -> LossFn:
    """Return L(params) = mean loss of ``model`` on the fixed batch (X, y), as a pure function.

    ``loss`` is ``"cross_entropy"`` (y holds class indices) or ``"mse"``
    (L = (1/B) Σ (f(x_i) − y_i)², no factor ½, as in Wen et al. 2023).
    """
    Xd = X.to(dtype)
    if loss == "cross_entropy":
        target = y.long()

        def f(params: Params) -> Tensor:
            return F.cross_entropy(functional_call(model, params, (Xd,)), target)

    elif loss == "mse":
        target = y.to(dtype)

        def f(params: Params) -> Tensor:
            out = functional_call(model, params, (Xd,)).reshape(target.shape)
            return ((out - target) ** 2).mean()

    else:
        raise ValueError(f"unknown loss {loss!r}; expected 'cross_entropy' or 'mse'")
    return f


class HVP:
    """The Hessian-vector product v ↦ ∇²L(θ) v at fixed θ, on flat vectors; counts its calls."""

    def __init__(self, loss_fn: LossFn, params: Params):
        self.loss_fn = loss_fn
        self.params = params
        self.dim = sum(p.numel() for p in params.values())
        self.dtype = next(iter(params.values())).dtype
        self.calls = 0
        self._grad = grad(loss_fn)

    @classmethod
    def for_model(
        cls,
        model: nn.Module,
        X: Tensor,
        y: Tensor,
        loss: str = "cross_entropy",
        dtype: torch.dtype = torch.float64,
    ) -> HVP:
        """HVP of the mean ``loss`` of ``model`` on (X, y), evaluated in ``dtype``."""
        return cls(loss_function(model, X, y, loss, dtype), model_params(model, dtype))

    def __call__(self, v: Tensor) -> Tensor:
        self.calls += 1
        tangent = unflatten(v.to(self.dtype), self.params)
        with warnings.catch_warnings():
            # torch.func's first jvp scripts a helper with the deprecated torch.jit.script
            warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=FutureWarning)
            _, hv = jvp(self._grad, (self.params,), (tangent,))
        return flatten(hv)

    def as_linear_operator(self) -> LinearOperator:
        """A float64 scipy ``LinearOperator`` view (for ``eigsh``)."""

        def matvec(v: np.ndarray) -> np.ndarray:
            return self(torch.from_numpy(np.ascontiguousarray(v).reshape(-1))).double().numpy()

        return LinearOperator((self.dim, self.dim), matvec=matvec, dtype=np.float64)


@dataclass(frozen=True)
class EigResult:
    """Top eigenpairs of H: ``values`` (descending), the HVPs used, and ‖Hv − λv‖ / |λ| per pair."""

    values: np.ndarray
    vectors: np.ndarray
    n_hvp: int
    residuals: np.ndarray

    @property
    def lambda_max(self) -> float:
        return float(self.values[0])


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


def top_eigenvalues(
    hvp: HVP, k: int = 1, tol: float = 1e-6, seed: int = 0, ncv: int | None = None
) -> EigResult:
    """The ``k`` algebraically largest eigenvalues of H by implicitly restarted Lanczos.

    Uses ``scipy.sparse.linalg.eigsh(which="LA")`` on the HVP operator with a seeded
    Gaussian start vector; ``tol`` is ARPACK's relative accuracy (0 = machine precision).
    The residuals ‖Hv − λv‖₂ / |λ| are recomputed with ``k`` extra HVPs and reported.
    """
    start = hvp.calls
    v0 = np.random.default_rng(seed).standard_normal(hvp.dim)
    values, vectors = eigsh(hvp.as_linear_operator(), k=k, which="LA", tol=tol, v0=v0, ncv=ncv)
    n_hvp = hvp.calls - start
    order = np.argsort(values)[::-1]
    values, vectors = values[order], vectors[:, order]
    residuals = np.empty(k)
    for j in range(k):
        v = torch.from_numpy(np.ascontiguousarray(vectors[:, j]))
        hv = hvp(v).double().numpy()
        residuals[j] = np.linalg.norm(hv - values[j] * vectors[:, j]) / max(abs(values[j]), 1e-300)
    return EigResult(values=values, vectors=vectors, n_hvp=n_hvp, residuals=residuals)


def hutchinson_trace(hvp: HVP, n_probes: int = 30, seed: int = 0) -> TraceResult:
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
        v = torch.randint(0, 2, (hvp.dim,), generator=gen).to(hvp.dtype).mul_(2).sub_(1)
        prod = v * hvp(v)
        per_block[k] = [float(part.sum()) for part in torch.split(prod, sizes)]
    samples = per_block.sum(axis=1)

    def mean_se(x: np.ndarray) -> tuple[float, float]:
        return float(x.mean()), float(x.std(ddof=1) / np.sqrt(n_probes))

    return TraceResult(
        mean=mean_se(samples)[0],
        stderr=mean_se(samples)[1],
        n_hvp=n_probes,
        samples=samples,
        blocks={name: mean_se(per_block[:, j]) for j, name in enumerate(hvp.params)},
        block_samples=per_block,
    )


def dense_hessian(loss_fn: LossFn, params: Params) -> Tensor:
    """The full P×P Hessian ∇²L(θ) via ``torch.func.hessian`` (tiny models only: O(P²) memory)."""
    theta = flatten(params)

    def f_flat(t: Tensor) -> Tensor:
        return loss_fn(unflatten(t, params))

    return torch.func.hessian(f_flat)(theta)
