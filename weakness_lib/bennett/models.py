"""ReLU multilayer perceptrons.

f(x) = W_L relu(… relu(W_1 x + b_1) …) + b_L, with widths (d_0, d_1, …, d_L).
Layers are ``nn.Linear`` modules named ``layers.0 … layers.{L-1}`` so that parameter names are
stable (``layers.0.weight``) across the library, the results store and the tests.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

DEFAULT_WIDTHS: tuple[int, ...] = (784, 256, 256, 10)


class MLP(nn.Module):
    """ReLU MLP with configurable widths; ``bias=False`` drops every bias."""

    def __init__(self, widths: Sequence[int] = DEFAULT_WIDTHS, bias: bool = True):
        super().__init__()
        if len(widths) < 2 or any(int(w) < 1 for w in widths):
            raise ValueError(f"widths must list ≥ 2 positive sizes, got {list(widths)}")
        self.widths = tuple(int(w) for w in widths)
        self.layers = nn.ModuleList(
            nn.Linear(a, b, bias=bias) for a, b in zip(self.widths[:-1], self.widths[1:])
        )

    def forward(self, x: Tensor) -> Tensor:
        x = x.reshape(x.shape[0], -1)
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
        return self.layers[-1](x)

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


def build_mlp(
    widths: Sequence[int] = DEFAULT_WIDTHS, bias: bool = True, seed: int | None = None
) -> MLP:
    """Construct an :class:`MLP`; with ``seed`` its initialisation is reproducible.

    Initialisation is PyTorch's ``nn.Linear`` default, U(±1/√fan_in). ``widths`` (input, hidden…,
    output) must be at least two whole numbers ≥ 1.
    """
    widths = list(widths)
    if len(widths) < 2 or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths):
        raise ValueError(f"widths must be ≥ 2 whole numbers ≥ 1 (input, hidden…, output), got {widths!r}")
    if seed is None:
        return MLP(widths, bias)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MLP(widths, bias)
