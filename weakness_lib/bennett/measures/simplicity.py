"""Simplicity (complexity) measures K1–K3': functions of the parameters only.

* K1  ``lzma_bytes`` / ``zlib_bytes``  compressed size of the weights quantised to 8 bits
  (per-tensor min–max) — a description-length proxy.
* K2  ``l2_norm``            ‖θ‖₂.
* K3  ``path_norm``          ℓ₂ path norm √(Σ_paths Π w²) (biases as paths from a constant unit).
* K3' ``log_spectral_sum``   Σ_ℓ log ‖W_ℓ‖₂ (spectral norms of the weight matrices).

Higher = more complex (orientation −1; simplicity = −value). Behaviour under the Dinh rescaling
(reference §6): the path norm is exactly invariant under any (per-neuron) rescaling; the
log-spectral sum and the per-tensor-quantised compressed size are invariant under *layer-wise
scalar* rescaling (both are scale-free per tensor, up to rounding) but not per-neuron; ‖θ‖ moves.
All in float64 on the parameters' device; the compressed bytes are built on the host.
"""

from __future__ import annotations

import lzma
import math
import zlib

import numpy as np
import torch
from torch import Tensor, nn

__all__ = ["quantised_weight_bytes", "compressed_size", "l2_norm", "path_norm", "log_spectral_sum"]


def _weights(model: nn.Module) -> list[tuple[str, Tensor]]:
    return [(n, p.detach().double()) for n, p in model.named_parameters()]


def quantised_weight_bytes(model: nn.Module, bits: int = 8) -> bytes:
    """The weights quantised to ``bits`` bits per tensor (min–max, round to nearest), serialised:
    per tensor its (min, max) as float32 then its codes as uint8, in parameter order."""
    if not 1 <= bits <= 8:
        raise ValueError("bits must be in 1..8 (codes are stored as uint8)")
    levels = (1 << bits) - 1
    out = bytearray()
    for _, w in _weights(model):
        lo, hi = float(w.min()), float(w.max())
        scale = (hi - lo) or 1.0
        codes = torch.round((w - lo) / scale * levels).to(torch.uint8)
        out += np.array([lo, hi], dtype=np.float32).tobytes() + codes.cpu().numpy().tobytes()
    return bytes(out)


def compressed_size(model: nn.Module, codec: str = "lzma", bits: int = 8) -> int:
    """K1: bytes of ``lzma`` (preset 9) or ``zlib`` (level 9) applied to :func:`quantised_weight_bytes`.

    A description-length proxy; higher = more complex. Per-tensor min–max quantisation makes it
    invariant (up to rounding) to multiplying a whole tensor by a constant.
    """
    data = quantised_weight_bytes(model, bits)
    if codec == "lzma":
        return len(lzma.compress(data, preset=9))
    if codec == "zlib":
        return len(zlib.compress(data, 9))
    raise ValueError(f"unknown codec {codec!r}; expected 'lzma' or 'zlib'")


def l2_norm(model: nn.Module) -> float:
    """K2: ‖θ‖₂ over all parameters (float64). Higher = more complex."""
    return math.sqrt(sum(float((w * w).sum()) for _, w in _weights(model)))


def _linear_stack(model: nn.Module) -> list[nn.Linear]:
    layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not layers:
        raise TypeError(f"{type(model).__name__} has no nn.Linear layers; path/spectral norms need an MLP")
    return layers


def path_norm(model: nn.Module) -> float:
    """K3: ℓ₂ path norm √(Σ over input→output paths of Π w²), biases as paths from a constant 1.

    Computed as √(1ᵀ h_L) with h_0 = 1, h_ℓ = (W_ℓ∘W_ℓ) h_{ℓ−1} + b_ℓ∘b_ℓ (layers in order; the
    network must be a ReLU MLP of ``nn.Linear`` layers). Invariant under every Dinh rescaling.
    Higher = more complex.
    """
    layers = _linear_stack(model)
    h = torch.ones(layers[0].in_features, dtype=torch.float64, device=layers[0].weight.device)
    for lyr in layers:
        w = lyr.weight.detach().double()
        h = (w * w) @ h
        if lyr.bias is not None:
            h = h + lyr.bias.detach().double() ** 2
    return math.sqrt(float(h.sum()))


def log_spectral_sum(model: nn.Module) -> float:
    """K3': Σ_ℓ ln ‖W_ℓ‖₂ (spectral norms, float64). Higher = more complex."""
    return float(sum(math.log(float(torch.linalg.matrix_norm(lyr.weight.detach().double(), ord=2)))
                     for lyr in _linear_stack(model)))
