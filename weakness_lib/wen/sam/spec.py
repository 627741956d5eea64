"""What to train: the algorithm, its phases (epochs, η, ρ, λ) and the result of a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from weakness_lib.curvature import Params

__all__ = [
    "ALGORITHMS",
    "Phase",
    "TrainSpec",
    "TrainResult",
    "TrainingDivergedError",
    "log_epochs",
]

ALGORITHMS: tuple[str, ...] = ("gd", "sgd", "1sam", "sam")


class TrainingDivergedError(FloatingPointError):
    """The loss or an output became NaN/inf; the message names the step."""


@dataclass(frozen=True)
class Phase:
    """``epochs`` epochs at learning rate ``lr``, SAM radius ``rho`` and weight decay."""

    epochs: int
    lr: float
    rho: float = 0.0
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        if self.epochs < 0 or self.lr <= 0 or self.rho < 0 or self.weight_decay < 0:
            raise ValueError(f"invalid phase {self}: need epochs ≥ 0, lr > 0, rho ≥ 0, wd ≥ 0")


@dataclass(frozen=True)
class TrainSpec:
    """An algorithm from :data:`ALGORITHMS`, its phases, and an optional first-layer norm R."""

    algorithm: str
    phases: tuple[Phase, ...]
    project_norm: float | None = None

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"unknown algorithm {self.algorithm!r}; expected one of {ALGORITHMS}")
        if not self.phases:
            raise ValueError("a TrainSpec needs at least one phase")
        if self.algorithm in ("gd", "sgd") and any(p.rho > 0 for p in self.phases):
            raise ValueError(f"{self.algorithm!r} takes no SAM radius; use '1sam' or 'sam'")
        if self.project_norm is not None and self.project_norm <= 0:
            raise ValueError(f"project_norm must be positive, got {self.project_norm}")

    @property
    def epochs(self) -> int:
        return sum(p.epochs for p in self.phases)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainSpec:
        """Build from ``{"algorithm", "phases": [{epochs, lr, rho, weight_decay}], ...}``."""
        return cls(
            algorithm=d["algorithm"],
            phases=tuple(Phase(**p) for p in d["phases"]),
            project_norm=d.get("project_norm"),
        )


@dataclass
class TrainResult:
    params: Params
    history: list[dict[str, Any]]
    steps: int
    epochs: int
    wall_s: float
    extra: dict[str, Any] = field(default_factory=dict)


def log_epochs(total: int, n_points: int = 60) -> list[int]:
    """About ``n_points`` epochs in [0, total]: half on a geometric, half on a linear grid."""
    if total <= 0:
        return [0]
    half = max(n_points // 2, 2)
    geo = np.unique(np.round(np.geomspace(1, total, half)).astype(int))
    lin = np.unique(np.round(np.linspace(0, total, half + 1)).astype(int))
    return sorted({0, total, *geo.tolist(), *lin.tolist()})
