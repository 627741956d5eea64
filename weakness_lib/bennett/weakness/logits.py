"""Network outputs on the probe set U: the only input of every weakness estimator."""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

__all__ = ["probe_logits", "check_logits"]


@torch.no_grad()
def probe_logits(
    model: nn.Module,
    X: Tensor,
    *,
    dtype: torch.dtype | None = torch.float64,
    batch_size: int = 8192,
) -> Tensor:
    """Logits z(x) of ``model`` on the rows of ``X`` (eval mode, no grad), shape [N, K].

    With ``dtype`` (default float64) the forward pass runs on a copy of the model cast to that
    dtype, so that float64 rescalings are compared at ~1e-14 round-off; ``None`` keeps the
    model's own dtype. Rows are processed in chunks of ``batch_size`` (vectorised within a chunk)
    on the model's device; the logits are returned on the CPU (the estimators run there).
    """
    if X.ndim < 2 or X.shape[0] == 0:
        raise ValueError(f"probe inputs must be a non-empty batch [N, ...], got shape {tuple(X.shape)}")
    net = model if dtype is None else copy.deepcopy(model).to(dtype)
    was_training = net.training
    net.eval()
    first = next(net.parameters())
    try:
        return torch.cat([
            net(X[i : i + batch_size].to(device=first.device, dtype=first.dtype)).cpu()
            for i in range(0, X.shape[0], batch_size)
        ])
    finally:
        net.train(was_training)


def check_logits(logits: Tensor) -> Tensor:
    """``logits`` as float64 after checking the shape [N, K ≥ 2] and that every entry is finite."""
    if logits.ndim != 2 or logits.shape[1] < 2:
        raise ValueError(f"logits must have shape [N, K ≥ 2], got {tuple(logits.shape)}")
    if not bool(torch.isfinite(logits).all()):
        raise ValueError("logits contain NaN or inf; weakness is undefined for a diverged network")
    return logits.double()
