"""A square root with the same bits on every CPU: √x correctly rounded (IEEE 754), for tensors.

``torch.sqrt`` on the CPU is MKL's vector math (``vmsSqrt``/``vmdSqrt``) for tensors of any size,
and pinned numerics do not reach it: its kernels refine the approximate ``rsqrtps`` instruction,
whose last bits each CPU computes its own way, and about one float32 root in six (one float64
root in seventy) is not correctly rounded (``benchmarks/record_emulated_cpu.py``; the appendix's
"What pinning leaves to the CPU"). ``torch.pow(x, 0.5)`` dispatches to the same kernel.

:func:`sqrt` takes the root with numpy, whose ``np.sqrt`` is the CPU's square-root instruction
(``sqrtsd``/``vsqrtpd``): IEEE 754 requires it to be correctly rounded, so every x86-64 CPU gives
the same bits. Its derivative is d√x = dx / (2√x), with √x the correctly rounded forward value
(the division is an exact IEEE operation too), in reverse mode to any order, in forward mode, and
under ``torch.func``'s ``grad``, ``jvp``, ``jacrev``, ``vmap`` and ``hessian`` (forward over
reverse), which is what the library uses (Hessian-vector products, dense Hessians, Hutchinson).
**Not supported:** forward mode over forward mode (``jacfwd(jacfwd(f))``, ``jvp`` of a ``jvp``):
the inner tangent's own derivative is lost and the second derivative comes out 0 (a strict
``xfail`` in ``tests/test_numerics.py`` says when torch makes it work).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = ["sqrt"]


class _Sqrt(torch.autograd.Function):
    """√x by numpy's correctly rounded root; derivative dx / (2√x)."""

    @staticmethod
    def forward(x: Tensor) -> Tensor:  # type: ignore[override]
        root = np.sqrt(x.detach().cpu().numpy())
        return torch.from_numpy(np.asarray(root)).to(x.device)  # a 0-d input gives a numpy scalar

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Tensor], output: Tensor) -> None:
        ctx.save_for_backward(output)
        ctx.save_for_forward(output)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:  # type: ignore[override]
        (root,) = ctx.saved_tensors
        return grad / (2 * root)

    @staticmethod
    def jvp(ctx: Any, tangent: Tensor) -> Tensor:
        (root,) = ctx.saved_tensors
        return tangent / (2 * root)

    @staticmethod
    def vmap(info: Any, in_dims: tuple[int | None], x: Tensor) -> tuple[Tensor, int | None]:
        return _Sqrt.apply(x), in_dims[0]  # elementwise: the batch dimension passes through


def sqrt(x: Tensor) -> Tensor:
    """Elementwise √x, correctly rounded (float32 or float64; NaN below 0, as ``torch.sqrt``)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"sqrt takes a tensor, got {type(x).__name__}")
    if x.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"sqrt takes a float32 or float64 tensor, got {x.dtype}")
    with np.errstate(invalid="ignore"):
        return _Sqrt.apply(x)
