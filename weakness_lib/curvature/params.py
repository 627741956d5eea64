"""Parameter dicts, flat vectors and the mean loss on a fixed batch as a pure function of θ.

For a model f_θ and a fixed batch (X, y) the loss is L(θ) = (1/B) Σ_i ℓ(f_θ(x_i), y_i), with
ℓ the cross-entropy (y class indices) or the squared error (f(x) − y)² (no factor ½, as in
Wen et al. 2023). θ is a dict name → tensor in the order of ``model.named_parameters()``;
:func:`flatten` and :func:`unflatten` map it to and from one flat vector of length P = Σ numel.
Everything stays on the device and in the dtype of the tensors it is given.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call

Params = dict[str, Tensor]
LossFn = Callable[[Params], Tensor]

__all__ = ["Params", "LossFn", "model_params", "flatten", "unflatten", "loss_function"]


def model_params(model: nn.Module, dtype: torch.dtype | None = None) -> Params:
    """Detached copies of the trainable parameters (on their device), optionally cast to ``dtype``."""
    return {
        name: p.detach().to(dtype or p.dtype).clone()
        for name, p in model.named_parameters()
        if p.requires_grad
    }


def flatten(params: Params) -> Tensor:
    """Concatenate a parameter dict into one flat vector (insertion order)."""
    return torch.cat([p.reshape(-1) for p in params.values()])


def unflatten(vec: Tensor, like: Params) -> Params:
    """Split a flat vector into tensors shaped like ``like`` (inverse of :func:`flatten`; views)."""
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
    (L = (1/B) Σ (f(x_i) − y_i)², no factor ½, as in Wen et al. 2023). X is cast to ``dtype``;
    X and y are moved to the device of the model's parameters (where L's parameters must live).
    """
    first = next(model.parameters(), None)
    device = X.device if first is None else first.device
    Xd, y = X.to(device=device, dtype=dtype), y.to(device)
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
