"""Hessian-vector products v ↦ H v, H = ∇²L(θ), of a mean loss at fixed θ, and the dense H.

Two implementations of the same linear operator on flat vectors (order of :func:`flatten`):

* :class:`HVP` — forward-over-reverse, H v = d/dt ∇L(θ + t v)|_{t=0} =
  ``torch.func.jvp(torch.func.grad(L), (θ,), (v,))``. Each product re-runs the forward and the
  backward pass; nothing is kept between products. Every stored trace, SAM and PAC-Bayes number
  was computed through this operator, so its arithmetic is frozen.
* :class:`GraphHVP` — reverse-over-reverse on a *retained* gradient graph (PyHessian's scheme):
  g(θ) = ∇L(θ) is built once with ``create_graph=True`` and each product is one backward pass
  H v = ∇_θ ⟨g(θ), v⟩ through it; ``matmat`` multiplies a block of vectors in one batched pass
  (``is_grads_batched``, i.e. vmap; curvlinops' scheme). Cheaper per product; it keeps the
  batch activations alive (memory ≈ a few training steps). λ_max uses it.

Both agree to round-off (≈ 1e-12 relative in float64; tested against :func:`dense_hessian`), count
their products in ``calls``, and run on the device and in the dtype of the parameters they hold.

torch.func's forward mode (``jvp``, and ``jacfwd`` inside ``torch.func.hessian``) loads its
decompositions on first use through the deprecated ``torch.jit.script``, which prints a
``FutureWarning`` once per process. :func:`quiet_jit_deprecation` silences exactly that message
around those calls, and nothing else.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Iterator

import numpy as np
import torch
from scipy.sparse.linalg import LinearOperator
from torch import Tensor, nn
from torch.func import grad, jvp

from weakness_lib.curvature.params import (
    LossFn,
    Params,
    flatten,
    loss_function,
    model_params,
    unflatten,
)

__all__ = ["HVP", "GraphHVP", "dense_hessian", "quiet_jit_deprecation"]

#: the one warning torch.func's forward mode prints on first use (torch ≥ 2.10)
JIT_DEPRECATION = re.escape("`torch.jit.script` is deprecated")


@contextlib.contextmanager
def quiet_jit_deprecation() -> Iterator[None]:
    """Ignore the ``FutureWarning`` "`torch.jit.script` is deprecated…" inside the block only."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=JIT_DEPRECATION, category=FutureWarning)
        yield


class _Operator:
    """Shared interface: ``params``, ``dim`` = P, ``dtype``, ``device``, ``calls``; H V by rows."""

    params: Params
    dim: int
    calls: int

    @property
    def dtype(self) -> torch.dtype:
        return next(iter(self.params.values())).dtype

    @property
    def device(self) -> torch.device:
        return next(iter(self.params.values())).device

    def __init__(self, loss_fn: LossFn, params: Params):  # pragma: no cover - overridden
        raise NotImplementedError

    @classmethod
    def for_model(cls, model: nn.Module, X: Tensor, y: Tensor, loss: str = "cross_entropy",
                  dtype: torch.dtype = torch.float64):
        """The operator of the Hessian of the mean ``loss`` of ``model`` on (X, y), in ``dtype``."""
        return cls(loss_function(model, X, y, loss, dtype), model_params(model, dtype))

    def __call__(self, v: Tensor) -> Tensor:  # pragma: no cover - overridden
        raise NotImplementedError

    def matmat(self, V: Tensor) -> Tensor:
        """H V for a block of flat vectors ``V`` of shape [m, P] (rows), one product per row."""
        if V.ndim != 2 or V.shape[1] != self.dim:
            raise ValueError(f"expected shape [m, {self.dim}], got {tuple(V.shape)}")
        return torch.stack([self(v) for v in V])

    def as_linear_operator(self) -> LinearOperator:
        """A float64 scipy ``LinearOperator`` on host (numpy) vectors, e.g. for ``eigsh``.

        Vectors are moved to the operator's device and back; the test suite uses this with
        ``scipy.sparse.linalg.eigsh`` as an independent reference for the Lanczos solver.
        """

        def to_op(a: np.ndarray) -> Tensor:
            return torch.from_numpy(np.ascontiguousarray(a)).to(self.device)

        def matvec(v: np.ndarray) -> np.ndarray:
            return self(to_op(v.reshape(-1))).double().cpu().numpy()

        def matmat(V: np.ndarray) -> np.ndarray:
            return self.matmat(to_op(V.T)).double().cpu().numpy().T

        return LinearOperator((self.dim, self.dim), matvec=matvec, matmat=matmat, dtype=np.float64)


class HVP(_Operator):
    """v ↦ ∇²L(θ) v at fixed θ by ``jvp(grad(L))`` (forward-over-reverse); counts its calls."""

    def __init__(self, loss_fn: LossFn, params: Params):
        self.loss_fn = loss_fn
        self.params = params
        self.dim = sum(p.numel() for p in params.values())
        self.calls = 0
        self._grad = grad(loss_fn)


    def __call__(self, v: Tensor) -> Tensor:
        self.calls += 1
        tangent = unflatten(v.to(device=self.device, dtype=self.dtype), self.params)
        with quiet_jit_deprecation():
            _, hv = jvp(self._grad, (self.params,), (tangent,))
        return flatten(hv)


class GraphHVP(_Operator):
    """v ↦ ∇²L(θ) v by differentiating a retained gradient graph; counts products in ``calls``.

    Building the object costs one forward and one backward pass (with graph); each product is
    then one backward pass through the gradient graph, which keeps the batch activations alive.
    ``loss_fn`` is kept for measures that evaluate L itself (SAM, PAC-Bayes).
    """

    def __init__(self, loss_fn: LossFn, params: Params):
        self.loss_fn = loss_fn
        self.params = {k: p.detach().clone().requires_grad_(True) for k, p in params.items()}
        self.dim = sum(p.numel() for p in self.params.values())
        self.calls = 0
        self._leaves = list(self.params.values())
        self._sizes = [p.numel() for p in self._leaves]
        with torch.enable_grad():
            loss = loss_fn(self.params)
            self._grads = torch.autograd.grad(loss, self._leaves, create_graph=True)


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
            self._grads, self._leaves, grad_outputs=self._split(v.to(self._leaves[0])),
            retain_graph=True,
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
            grad_outputs=self._split(V.to(self._leaves[0])),
            retain_graph=True,
            is_grads_batched=True,
        )
        return torch.cat([h.reshape(V.shape[0], -1) for h in hv], dim=1)


def dense_hessian(loss_fn: LossFn, params: Params) -> Tensor:
    """The full P×P Hessian ∇²L(θ) via ``torch.func.hessian`` (tiny models only: O(P²) memory)."""
    theta = flatten(params)

    def f_flat(t: Tensor) -> Tensor:
        return loss_fn(unflatten(t, params))

    with quiet_jit_deprecation():
        return torch.func.hessian(f_flat)(theta)
