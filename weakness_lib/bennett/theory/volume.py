"""Parameter-space "volume" is not invariant (reference §4.4) — a demonstration, not an estimator.

vol_r(θ) = P_u[argmax f_{θ + r u/‖u‖}(x) = argmax f_θ(x) for every x ∈ X], u ~ N(0, I): a
flatness quantity that a function-preserving (Dinh) rescaling changes, while W1 does not.
"""

from __future__ import annotations

import copy

import torch

from weakness_lib.curvature import flatten, model_params, unflatten

__all__ = ["perturbation_volume"]


@torch.no_grad()
def perturbation_volume(model: torch.nn.Module, X: torch.Tensor, radius: float, n_draws: int = 200,
                        seed: int = 0) -> float:
    """Fraction of isotropic weight perturbations θ + r·u/‖u‖ (u ~ N(0, I), fixed seed) that keep
    every arg-max prediction on X. A flatness/volume quantity: NOT a weakness estimator — it
    changes under function-preserving rescaling (reference §4.4)."""
    params = model_params(model, torch.float64)
    theta = flatten(params)
    net = copy.deepcopy(model).double().eval()
    Xd = X.to(device=theta.device, dtype=torch.float64)
    base = net(Xd).argmax(1)
    gen = torch.Generator().manual_seed(seed)
    kept = 0
    for _ in range(n_draws):
        u = torch.randn(theta.numel(), generator=gen, dtype=torch.float64).to(theta.device)
        p = unflatten(theta + radius * u / u.norm(), params)
        kept += bool((torch.func.functional_call(net, p, (Xd,)).argmax(1) == base).all())
    return kept / n_draws
