"""The registry of sharpness and simplicity measures: family, sign convention, invariance.

Every measure has an ``orientation``: +1 when *higher = flatter / simpler* (the flat-minima or
simplicity hypothesis predicts a positive correlation with test accuracy), −1 when *higher =
sharper / more complex*. Raw values are always reported; the hypothesis-oriented value is
orientation × value. ``rescaling_invariant`` says whether the value is unchanged by every
function-preserving (Dinh) rescaling ("yes"), only by layer-wise scalar ones ("layerwise"), or
not at all ("no").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["MeasureSpec", "MeasureResult", "MEASURES", "oriented"]


@dataclass(frozen=True)
class MeasureSpec:
    """Registry entry: family, sign convention, invariance and the formula in words."""

    name: str
    family: str  # "sharpness" | "simplicity"
    orientation: int  # +1: higher = flatter/simpler; −1: higher = sharper/more complex
    rescaling_invariant: str  # "yes" | "layerwise" | "no"
    formula: str


MEASURES: dict[str, MeasureSpec] = {
    s.name: s
    for s in (
        MeasureSpec("lambda_max", "sharpness", -1, "no", "λ_max(∇²L(θ)) on the curvature batch"),
        MeasureSpec("trace", "sharpness", -1, "no", "tr ∇²L(θ), Hutchinson (Rademacher)"),
        MeasureSpec("sam", "sharpness", -1, "no", "L(θ+ρg/‖g‖) − L(θ), ρ = 0.05"),
        MeasureSpec("asam", "sharpness", -1, "yes", "L(θ+ρT²g/‖Tg‖) − L(θ), T = |θ|, ρ = 0.5"),
        MeasureSpec("pacbayes_sigma", "sharpness", +1, "no",
                    "max σ: E L(θ+σε) − L(θ) ≤ Δ (flatness; higher = flatter)"),
        MeasureSpec("pacbayes_bound", "sharpness", -1, "no",
                    "err̂(Q) + √((KL(Q‖P)+ln(2√m/δ))/(2m)) at σ = pacbayes_sigma"),
        MeasureSpec("lzma_bytes", "simplicity", -1, "layerwise", "lzma(8-bit quantised θ) bytes"),
        MeasureSpec("zlib_bytes", "simplicity", -1, "layerwise", "zlib(8-bit quantised θ) bytes"),
        MeasureSpec("l2_norm", "simplicity", -1, "no", "‖θ‖₂"),
        MeasureSpec("path_norm", "simplicity", -1, "yes", "ℓ₂ path norm"),
        MeasureSpec("log_spectral_sum", "simplicity", -1, "layerwise", "Σ_ℓ log‖W_ℓ‖₂"),
    )
}


@dataclass(frozen=True)
class MeasureResult:
    """A measured value with its standard error (if stochastic), wall time and HVP count."""

    value: float
    stderr: float | None = None
    cost_s: float = 0.0
    n_hvp: int = 0
    details: dict[str, Any] = field(default_factory=dict)


def oriented(name: str, value: float) -> float:
    """Hypothesis-oriented value: orientation × value (higher = flatter/simpler)."""
    return MEASURES[name].orientation * value
