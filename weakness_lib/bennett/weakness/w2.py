"""W2, transformation compatibility (reference §4.2).

For a fixed finite set G of small input transformations,

    W2 = (1/|U|) Σ_{x∈U} |{g ∈ G : argmax f(g·x) = argmax f(x)}|  ∈ [0, |G|],

also reported as the fraction W2/|G|. The control "wrong group" G' = {vertical flip} should
*not* be compatible with digit identity. Higher = weaker (more completions left open).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torchvision.transforms.v2.functional as TF
from torch import Tensor, nn

from weakness_lib.bennett.weakness.logits import check_logits, probe_logits

__all__ = [
    "MNIST_SHAPE",
    "Transform",
    "default_transforms",
    "wrong_group_transforms",
    "W2Result",
    "w2_from_logits",
    "transformation_compatibility",
]

MNIST_SHAPE: tuple[int, int, int] = (1, 28, 28)


@dataclass(frozen=True)
class Transform:
    """A named, deterministic map on image batches [N, C, H, W] (values in [0, 1])."""

    name: str
    fn: Callable[[Tensor], Tensor]

    def __call__(self, images: Tensor) -> Tensor:
        return self.fn(images)


def _shift(dx: int, dy: int) -> Callable[[Tensor], Tensor]:
    """Integer translation by (dx, dy) pixels, zero fill (not circular), nearest interpolation."""

    def fn(img: Tensor) -> Tensor:
        return TF.affine(
            img, angle=0.0, translate=[dx, dy], scale=1.0, shear=[0.0, 0.0],
            interpolation=TF.InterpolationMode.NEAREST, fill=0.0,
        )

    return fn


def _rotate(angle: float) -> Callable[[Tensor], Tensor]:
    """Rotation by ``angle`` degrees about the centre, bilinear, zero fill."""

    def fn(img: Tensor) -> Tensor:
        return TF.rotate(img, angle, interpolation=TF.InterpolationMode.BILINEAR, fill=0.0)

    return fn


def _noise(sigma: float, seed: int) -> Callable[[Tensor], Tensor]:
    """x + σ ε, ε ~ N(0, I) drawn with a fixed seed (same draw for the same batch shape), clipped to [0, 1]."""

    def fn(img: Tensor) -> Tensor:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return TF.gaussian_noise(img, mean=0.0, sigma=sigma, clip=True)

    return fn


def default_transforms(noise_seed: int = 0) -> tuple[Transform, ...]:
    """The pre-registered group G of reference §4.2, |G| = 12.

    Shifts of ±1, ±2 px along x and along y (8), rotations of ±10° (2), and additive Gaussian
    noise with σ ∈ {0.1, 0.2} clipped to [0, 1] (2; seeds ``noise_seed`` and ``noise_seed + 1``).
    All via ``torchvision.transforms.v2.functional``.
    """
    shifts = [
        Transform(f"shift_{axis}{d:+d}", _shift(d if axis == "x" else 0, d if axis == "y" else 0))
        for axis in ("x", "y")
        for d in (-2, -1, 1, 2)
    ]
    rotations = [Transform(f"rotate{a:+d}", _rotate(float(a))) for a in (-10, 10)]
    noise = [Transform(f"noise{s}", _noise(s, noise_seed + i)) for i, s in enumerate((0.1, 0.2))]
    return tuple(shifts + rotations + noise)


def wrong_group_transforms() -> tuple[Transform, ...]:
    """Control group G' = {vertical flip}: not a symmetry of digit (or garment) identity."""
    return (Transform("vertical_flip", TF.vertical_flip),)


@dataclass(frozen=True)
class W2Result:
    """W2 = mean number of transformations under which the prediction is unchanged."""

    count: float
    fraction: float
    n_transforms: int
    per_transform: dict[str, float]


def w2_from_logits(base_logits: Tensor, transformed_logits: Sequence[Tensor], names: Sequence[str]) -> W2Result:
    """W2 from logits on U and on g·U for each g (arg-max agreement, counted per input then averaged)."""
    if len(transformed_logits) != len(names) or not names:
        raise ValueError("need one logits tensor per named transformation (at least one)")
    pred = check_logits(base_logits).argmax(dim=1)
    agree = torch.stack([check_logits(z).argmax(dim=1) == pred for z in transformed_logits], dim=1)
    count = float(agree.sum(dim=1).double().mean())
    per = {n: float(a) for n, a in zip(names, agree.double().mean(dim=0).tolist(), strict=True)}
    return W2Result(count=count, fraction=count / len(names), n_transforms=len(names), per_transform=per)


def transformation_compatibility(
    model: nn.Module,
    X: Tensor,
    *,
    transforms: Sequence[Transform] | None = None,
    image_shape: tuple[int, ...] = MNIST_SHAPE,
    dtype: torch.dtype | None = torch.float64,
    base_logits: Tensor | None = None,
) -> W2Result:
    """W2 of ``model`` on probe inputs ``X`` (flattened rows reshaped to ``image_shape``).

    ``transforms`` defaults to :func:`default_transforms`; pass :func:`wrong_group_transforms`
    for the control. ``base_logits`` may be given to reuse f(U) already computed.
    """
    G = tuple(default_transforms() if transforms is None else transforms)
    n = X.shape[0]
    if int(np.prod(image_shape)) != X[0].numel():
        raise ValueError(f"probe rows have {X[0].numel()} values, image_shape {image_shape} needs {int(np.prod(image_shape))}")
    images = X.reshape(n, *image_shape).float()
    net = model if dtype is None else copy.deepcopy(model).to(dtype)
    base = probe_logits(net, X, dtype=None) if base_logits is None else base_logits
    moved = [probe_logits(net, g(images).reshape(n, -1), dtype=None) for g in G]
    return w2_from_logits(base, moved, [g.name for g in G])
