"""Curvature-type sharpness measures S1–S4 of one network on its fixed curvature batch.

All use the mean loss L(θ) = (1/B) Σ_i ℓ(f_θ(x_i), y_i) on one fixed batch (X, y) of training
examples, evaluated in ``dtype`` (float64 by default) and in eval mode, through one
:class:`~weakness_lib.curvature.HVP` object (which holds L and θ; see
:func:`curvature_hvp`). Each measure accepts that object or ``(model, X, y)``.

* S1 ``lambda_max``  λ_max(∇²L(θ)) certified to relative accuracy ``tol``: Lanczos with the
  residual bound ‖Hy − θy‖ = β_m|s_m| ≤ tol·|θ| (:func:`~weakness_lib.curvature.
  lanczos_lambda_max`) on the retained-graph product :class:`~weakness_lib.curvature.
  GraphHVP` of the same L and θ (the fastest verified path).
* S2 ``trace``       tr ∇²L(θ) by Hutchinson with Rademacher probes (± s.e.) on the HVP object.
* S3 ``sam``         L(θ + ρ g/‖g‖) − L(θ), g = ∇L(θ), ρ = 0.05 (one ascent step, SAM).
* S4 ``asam``        L(θ + ε) − L(θ), ε = ρ T² g/‖T g‖, T = diag(|θ|) (ASAM, offset 0, ρ = 0.5):
  exactly invariant under any positive diagonal rescaling θ' = Jθ that preserves f (Dinh),
  since g' = J⁻¹g, T' = JT ⇒ ε' = Jε.

Sign: higher = sharper for all four.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import grad

from weakness_lib.bennett.measures.registry import MeasureResult
from weakness_lib.core import checks
from weakness_lib.curvature import (
    HVP,
    GraphHVP,
    flatten,
    hutchinson_trace,
    lanczos_lambda_max,
    unflatten,
)

__all__ = [
    "as_hvp",
    "curvature_hvp",
    "lambda_max",
    "hessian_trace",
    "sam_sharpness",
    "adaptive_sharpness",
]


def as_hvp(
    model_or_hvp: nn.Module | HVP | GraphHVP,
    X: Tensor | None = None,
    y: Tensor | None = None,
    dtype: torch.dtype = torch.float64,
    loss: str = "cross_entropy",
) -> HVP | GraphHVP:
    """Return ``model_or_hvp`` if it is a product operator, else :func:`curvature_hvp` of (model, X, y)."""
    if isinstance(model_or_hvp, HVP | GraphHVP):
        return model_or_hvp
    if not isinstance(model_or_hvp, nn.Module):
        raise checks.ArgumentError(f"model_or_hvp must be a torch nn.Module (with X, y) or an HVP, "
                                   f"got {type(model_or_hvp).__name__}")
    if X is None or y is None:
        raise ValueError("pass an HVP object, or a model together with its curvature batch X, y")
    return curvature_hvp(model_or_hvp, X, y, dtype, loss)


def _check_batch(X: Tensor, y: Tensor, loss: str) -> None:
    """(X, y) must be tensors of one length; cross-entropy needs integer class labels in y."""
    for name, value in (("X", X), ("y", y)):
        if not isinstance(value, Tensor):
            raise checks.ArgumentError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if len(X) != len(y):
        raise checks.ArgumentError(f"X and y must have the same length, got {len(X)} and {len(y)}")
    if loss == "cross_entropy" and (y.dtype.is_floating_point or y.dtype.is_complex
                                    or y.dtype == torch.bool):
        raise checks.ArgumentError(f"y must hold integer class labels for the cross-entropy loss, "
                                   f"got {y.dtype} (use y.long())")


def curvature_hvp(model: nn.Module, X: Tensor, y: Tensor, dtype: torch.dtype = torch.float64,
                  loss: str = "cross_entropy") -> HVP:
    """One HVP object (eval mode, ``dtype``) for all curvature measures of ``model`` on (X, y).

    The model (cast to ``dtype``), the batch and the loss kind are attached to the object so that
    the PAC-Bayes measure can evaluate perturbed logits with the same parameters and data.
    Parameters stay on the model's device; X and y are moved there.
    """
    if not isinstance(model, nn.Module):
        raise checks.ArgumentError(f"model must be a torch nn.Module, got {type(model).__name__}")
    _check_batch(X, y, loss)
    model.eval()
    device = next(model.parameters()).device
    X, y = X.to(device), y.to(device)
    hvp = HVP.for_model(model, X, y, loss=loss, dtype=dtype)
    net = model if next(model.parameters()).dtype == dtype else copy.deepcopy(model).to(dtype).eval()
    hvp.weakness_context = {"model": net, "X": X.to(dtype), "y": y, "loss": loss}
    return hvp


def loss_at(hvp: HVP | GraphHVP, theta: Tensor) -> float:
    """L at the flat parameter vector ``theta`` (no grad)."""
    with torch.no_grad():
        return float(hvp.loss_fn(unflatten(theta, hvp.params)))


def gradient(hvp: HVP | GraphHVP) -> Tensor:
    """∇L(θ) as a flat vector."""
    params = {k: p.detach() for k, p in hvp.params.items()}
    return flatten(grad(hvp.loss_fn)(params)).detach()


def _theta(hvp: HVP | GraphHVP) -> Tensor:
    return flatten(hvp.params).detach()


def lambda_max(model_or_hvp: nn.Module | HVP | GraphHVP, X: Tensor | None = None,
               y: Tensor | None = None, *, tol: float = 1e-3, seed: int = 0) -> MeasureResult:
    """λ_max of ∇²L(θ), certified to relative accuracy ``tol`` by Lanczos (module docstring).

    Given an :class:`HVP` the products run on a :class:`GraphHVP` built from its L and θ (cost
    included). Data: the curvature batch. Sign: higher = sharper. ``details``: ``residual``,
    the certified bound ‖Hv − λv‖/abs(λ) ≤ ``tol``, and ``converged``.
    """
    tol = checks.real("tol", tol, positive=True, where="lambda_max")
    seed = checks.whole("seed", seed, where="lambda_max")
    hvp = as_hvp(model_or_hvp, X, y)
    t0 = time.perf_counter()
    op = hvp if isinstance(hvp, GraphHVP) else GraphHVP(hvp.loss_fn, hvp.params)
    c0 = op.calls
    eig = lanczos_lambda_max(op, tol=tol, seed=seed)
    return MeasureResult(eig.lambda_max, None, time.perf_counter() - t0, op.calls - c0,
                         {"residual": float(eig.residuals[0]), "converged": eig.converged})


def hessian_trace(model_or_hvp: nn.Module | HVP, X: Tensor | None = None, y: Tensor | None = None,
                  *, n_probes: int = 30, seed: int = 0) -> MeasureResult:
    """tr ∇²L(θ) ≈ mean_k v_kᵀ H v_k, Rademacher v_k (Hutchinson), with standard error.

    Data: the curvature batch. Sign: higher = sharper.
    """
    n_probes = checks.whole("n_probes", n_probes, 1, where="hessian_trace")
    seed = checks.whole("seed", seed, where="hessian_trace")
    hvp = as_hvp(model_or_hvp, X, y)
    t0, c0 = time.perf_counter(), hvp.calls
    tr = hutchinson_trace(hvp, n_probes=n_probes, seed=seed)
    return MeasureResult(tr.mean, tr.stderr, time.perf_counter() - t0, hvp.calls - c0)


def sam_sharpness(model_or_hvp: nn.Module | HVP, X: Tensor | None = None, y: Tensor | None = None,
                  *, rho: float = 0.05) -> MeasureResult:
    """SAM ε-sharpness L(θ + ρ g/‖g‖₂) − L(θ), g = ∇L(θ) (one ascent step, Foret et al. 2021).

    Data: the curvature batch. Sign: higher = sharper.
    """
    hvp = as_hvp(model_or_hvp, X, y)
    t0 = time.perf_counter()
    theta = _theta(hvp)
    g = gradient(hvp)
    gnorm = float(g.norm())
    if gnorm == 0.0:
        raise ValueError("gradient is exactly zero; SAM direction undefined")
    value = loss_at(hvp, theta + rho * g / gnorm) - loss_at(hvp, theta)
    return MeasureResult(value, None, time.perf_counter() - t0, 0, {"grad_norm": gnorm, "rho": rho})


def adaptive_sharpness(model_or_hvp: nn.Module | HVP, X: Tensor | None = None,
                       y: Tensor | None = None, *, rho: float = 0.5) -> MeasureResult:
    """ASAM adaptive sharpness (Kwon et al. 2021, offset η = 0), one ascent step.

    max over ‖T⁻¹ε‖₂ ≤ ρ of the first-order loss increase is attained at ε = ρ T² g / ‖T g‖₂,
    T = diag(abs(θ)); the value is L(θ + ε) − L(θ). Parameters that are exactly 0 are not moved.
    Invariance: under θ' = Jθ (J positive diagonal, f preserved) g' = J⁻¹g and T' = JT, so
    ε' = Jε and L'(θ' + ε') = L(θ + ε): the value is unchanged up to round-off.
    Data: the curvature batch. Sign: higher = sharper.
    """
    hvp = as_hvp(model_or_hvp, X, y)
    t0 = time.perf_counter()
    theta = _theta(hvp)
    g = gradient(hvp)
    T = theta.abs()
    tg_norm = float((T * g).norm())
    if tg_norm == 0.0:
        raise ValueError("|θ| ⊙ ∇L is exactly zero; ASAM direction undefined")
    eps = rho * T * T * g / tg_norm
    value = loss_at(hvp, theta + eps) - loss_at(hvp, theta)
    return MeasureResult(value, None, time.perf_counter() - t0, 0, {"rho": rho})


def context(hvp: HVP | GraphHVP) -> dict[str, Any]:
    """The model, batch and loss kind attached by :func:`curvature_hvp`."""
    ctx = getattr(hvp, "weakness_context", None)
    if ctx is None:
        raise ValueError("this HVP has no attached model/batch; build it with "
                         "measures.curvature_hvp(model, X, y) (or pass model, X, y)")
    return ctx
