"""ReLU multilayer perceptrons.

f(x) = W_L relu(… relu(W_1 x + b_1) …) + b_L, with widths (d_0, d_1, …, d_L).
Layers are ``nn.Linear`` modules named ``layers.0 … layers.{L-1}`` so that parameter names are
stable (``layers.0.weight``) across the library, the results store and the tests.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch
from torch import Tensor, nn

DEFAULT_WIDTHS: tuple[int, ...] = (784, 256, 256, 10)


def check_widths(widths: Sequence[int]) -> list[int]:
    """``widths`` as a list of Python ints: at least two whole numbers ≥ 1 (numpy integers and
    arrays are fine), else ``ValueError`` naming ``widths``."""
    try:
        out = list(widths)
    except TypeError:
        raise ValueError(f"widths must be a sequence of ≥ 2 whole numbers ≥ 1 (input, hidden…, "
                         f"output), got {widths!r}") from None
    if len(out) < 2 or any(isinstance(w, bool) or not isinstance(w, numbers.Integral) or w < 1
                           for w in out):
        raise ValueError(f"widths must be ≥ 2 whole numbers ≥ 1 (input, hidden…, output), got "
                         f"{[w.item() if hasattr(w, 'item') else w for w in out]!r}")
    return [int(w) for w in out]


class MLP(nn.Module):
    """ReLU MLP with configurable widths; ``bias=False`` drops every bias."""

    def __init__(self, widths: Sequence[int] = DEFAULT_WIDTHS, bias: bool = True):
        super().__init__()
        self.widths = tuple(check_widths(widths))
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
    widths = check_widths(widths)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise TypeError(f"seed must be an integer or None, got {seed!r}")
    if seed is None:
        return MLP(widths, bias)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return MLP(widths, bias)
