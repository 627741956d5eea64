"""Function-preserving (Dinh et al. 2017) rescalings of ReLU MLPs.

ReLU is positively homogeneous, relu(c·z) = c·relu(z) for c > 0. Multiplying the output of hidden
layer ℓ by c_ℓ > 0 (a scalar or one factor per neuron) and undoing it in the next layer,

    W_ℓ ← diag(c_ℓ) W_ℓ diag(1/c_{ℓ−1}),   b_ℓ ← c_ℓ ⊙ b_ℓ,   with c_0 = c_L = 1,

leaves f unchanged while the Hessian transforms as H' = J⁻¹ H J⁻¹, J = ∂θ'/∂θ (diagonal):
a block scaled by α has its curvature scaled by α⁻².
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from weakness_lib.bennett.models import MLP

Scale = float | Tensor


def _linear_layers(model: nn.Module) -> list[nn.Linear]:
    if not isinstance(model, MLP):
        raise TypeError(f"rescaling needs a ReLU MLP built by weakness_lib.build_mlp "
                        f"(weakness_lib.bennett.models.MLP), got {type(model).__name__}")
    return list(model.layers)


def _as_vector(c: Scale, width: int, like: Tensor) -> Tensor:
    vec = torch.as_tensor(c, dtype=like.dtype).reshape(-1)
    if vec.numel() == 1:
        vec = vec.expand(width)
    if vec.numel() != width:
        raise ValueError(f"a per-neuron scale needs {width} factors, got {vec.numel()}")
    if not bool((vec > 0).all()) or not bool(torch.isfinite(vec).all()):
        raise ValueError("rescaling factors must be finite and > 0 (ReLU is only positively homogeneous)")
    return vec


def _factors(layers: list[nn.Linear], scales: Sequence[Scale]) -> list[Tensor]:
    """Per-layer output factors [c_0 = 1, c_1, …, c_{L−1}, c_L = 1] as vectors."""
    if len(scales) != len(layers) - 1:
        raise ValueError(f"need {len(layers) - 1} hidden-layer scales, got {len(scales)}")
    w0 = layers[0].weight
    c = [torch.ones(layers[0].in_features, dtype=w0.dtype)]
    c += [_as_vector(s, lyr.out_features, w0) for s, lyr in zip(scales, layers[:-1])]
    return c + [torch.ones(layers[-1].out_features, dtype=w0.dtype)]


@torch.no_grad()
def rescale(model: MLP, scales: Sequence[Scale]) -> MLP:
    """Return a rescaled copy of ``model``: hidden layer ℓ's output is multiplied by ``scales[ℓ-1]``.

    ``scales`` has one entry per hidden layer (L − 1 entries), each a positive scalar or a tensor
    of per-neuron factors. The computed function is unchanged (exactly, up to round-off).
    """
    c = _factors(_linear_layers(model), scales)
    out = copy.deepcopy(model)
    for ell, layer in enumerate(out.layers):
        c_out, c_in = c[ell + 1], c[ell]
        layer.weight.mul_(c_out[:, None]).div_(c_in[None, :])
        if layer.bias is not None:
            layer.bias.mul_(c_out)
    return out


def rescale_layer(model: MLP, layer: int, alpha: float) -> MLP:
    """Scale hidden layer ``layer`` (1-based: (W_ℓ, b_ℓ) ← α·(W_ℓ, b_ℓ), W_{ℓ+1} ← W_{ℓ+1}/α)."""
    n_hidden = len(_linear_layers(model)) - 1
    if not 1 <= layer <= n_hidden:
        raise ValueError(f"layer must be in 1..{n_hidden}, got {layer}")
    scales: list[Scale] = [1.0] * n_hidden
    scales[layer - 1] = alpha
    return rescale(model, scales)


def rescale_chain(model: MLP, alpha: float) -> MLP:
    """Chained rescaling c_ℓ = α^ℓ: every hidden weight block is scaled by α and the output layer
    by α^{−(L−1)}, so the hidden blocks' curvature moves by α⁻² and the output block's by α^{2(L−1)}.
    """
    n_hidden = len(_linear_layers(model)) - 1
    return rescale(model, [alpha ** (ell + 1) for ell in range(n_hidden)])


def block_scales(model: MLP, scales: Sequence[Scale]) -> dict[str, Tensor]:
    """The diagonal of J = ∂θ'/∂θ for :func:`rescale`, as a dict shaped like the parameters."""
    layers = _linear_layers(model)
    c = _factors(layers, scales)
    out: dict[str, Tensor] = {}
    for ell, layer in enumerate(layers):
        out[f"layers.{ell}.weight"] = c[ell + 1][:, None] / c[ell][None, :]
        if layer.bias is not None:
            out[f"layers.{ell}.bias"] = c[ell + 1].clone()
    return out


@torch.no_grad()
def check_function_preserved(a: nn.Module, b: nn.Module, X: Tensor) -> tuple[float, float]:
    """max_x |f_a(x) − f_b(x)|_∞ over the rows of X, and the fraction of equal arg-max predictions."""
    la, lb = a(X), b(X.to(next(b.parameters()).dtype))
    max_diff = float((la.double() - lb.double()).abs().max())
    agreement = float((la.argmax(1) == lb.argmax(1)).double().mean())
    return max_diff, agreement
