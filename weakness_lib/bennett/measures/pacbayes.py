"""PAC-Bayes flatness σ* and a McAllester/Maurer-type bound at σ* (Jiang et al. 2019;
Dziugaite & Roy 2017; reference §7.2).

* ``pacbayes_sigma`` — the largest σ with E_ε[L(θ + σε)] − L(θ) ≤ Δ, ε ~ N(0, I) (fixed seeded
  draws, bisection in log σ); higher = flatter (orientation +1).
* ``pacbayes_bound`` — err̂(Q) + √((KL(Q‖P) + ln(2√m/δ)) / (2m)) at that σ, with Q = N(θ, σ²I),
  P = N(μ_p, σ_p²I) and err̂(Q) the Monte-Carlo 0-1 error of the perturbed nets on the batch
  (orientation −1). A *measure* in the form of a bound, not a certified bound.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call

from weakness_lib.bennett.measures.sharpness import as_hvp, context, loss_at
from weakness_lib.curvature import HVP, Params, flatten, unflatten

__all__ = [
    "PacBayesResult", "gaussian_kl", "pacbayes_bound_value", "pacbayes_flatness",
    "pacbayes_mag_flatness",
]


def _perturbed_stats(hvp: HVP, theta: Tensor, draws: Tensor, sigma: float | Tensor) -> tuple[float, float, float]:
    """(mean loss, its s.e., mean 0-1 error) over the networks θ + σ ⊙ ε_k, one forward pass each
    (σ a scalar, or one standard deviation per coordinate)."""
    ctx = context(hvp)
    losses, errors = [], []
    with torch.no_grad():
        for eps in draws:
            logits = functional_call(ctx["model"], unflatten(theta + sigma * eps, hvp.params), (ctx["X"],))
            losses.append(float(F.cross_entropy(logits, ctx["y"])))
            errors.append(float((logits.argmax(1) != ctx["y"]).double().mean()))
    arr = np.array(losses)
    se = float(arr.std(ddof=1) / math.sqrt(len(arr))) if len(arr) > 1 else float("nan")
    return float(arr.mean()), se, float(np.mean(errors))


@dataclass(frozen=True)
class PacBayesResult:
    """PAC-Bayes flatness σ*, the bound at σ*, and the pieces of the bound."""

    sigma: float
    loss_increase: float
    loss_increase_se: float
    error_q: float
    kl: float
    bound: float
    n_evals: int
    cost_s: float
    hit_limit: str | None


def gaussian_kl(theta: Tensor, sigma: float, prior_mean: Tensor, prior_sigma: float) -> float:
    """KL(N(θ, σ²I) ‖ N(μ_p, σ_p²I)) = ½[d σ²/σ_p² + ‖θ−μ_p‖²/σ_p² − d + d ln(σ_p²/σ²)] (nats)."""
    d = theta.numel()
    r = sigma**2 / prior_sigma**2
    dist2 = float(((theta - prior_mean) ** 2).sum())
    return 0.5 * (d * r + dist2 / prior_sigma**2 - d - d * math.log(r))


def pacbayes_bound_value(error_q: float, kl: float, m: int, delta: float = 0.05) -> float:
    """Maurer/McAllester form err̂(Q) + √((KL + ln(2√m/δ)) / (2m)) (reference §7.2)."""
    if m < 1:
        raise ValueError(f"sample size m must be ≥ 1, got {m}")
    return error_q + math.sqrt((kl + math.log(2.0 * math.sqrt(m) / delta)) / (2.0 * m))


def pacbayes_flatness(
    model_or_hvp: nn.Module | HVP,
    X: Tensor | None = None,
    y: Tensor | None = None,
    *,
    n_train: int,
    max_increase: float = 0.1,
    n_draws: int = 8,
    seed: int = 0,
    sigma_range: tuple[float, float] = (1e-5, 1.0),
    n_bisect: int = 12,
    prior_mean: Params | None = None,
    prior_sigma: float | None = None,
    delta: float = 0.05,
) -> PacBayesResult:
    """PAC-Bayes flatness σ* and a McAllester-style bound (Jiang et al. 2019; Dziugaite & Roy 2017).

    σ* = the largest σ in ``sigma_range`` with  (1/K) Σ_k L(θ + σ ε_k) − L(θ) ≤ ``max_increase``
    (cross-entropy on the curvature batch, nats), for K = ``n_draws`` fixed draws ε_k ~ N(0, I)
    (seeded on the CPU; the same draws for every σ, so the curve is a deterministic function of
    σ), found by ``n_bisect`` bisection steps on log σ. If even the upper end satisfies the
    constraint σ* is that end (``hit_limit="upper"``); if the lower end violates it, σ* is the
    lower end (``hit_limit="lower"``).

    Bound at σ*: Q = N(θ, σ*²I), P = N(μ_p, σ_p²I) with μ_p = ``prior_mean`` (default 0; pass the
    initialisation for a Dziugaite–Roy-style prior) and σ_p = ``prior_sigma`` (default σ*, so that
    KL = ‖θ − μ_p‖²/(2σ*²)); err̂(Q) is the mean 0-1 error of the K perturbed networks on the batch;
    m = ``n_train``. This is a *measure* in the form of a bound, not a certified bound: σ* is
    chosen on the data without a union bound and err̂(Q) is a Monte-Carlo estimate on a batch.
    Sign: σ* higher = flatter; bound lower = "better".
    """
    hvp = as_hvp(model_or_hvp, X, y)
    if context(hvp)["loss"] != "cross_entropy":
        raise ValueError("pacbayes_flatness needs a cross-entropy classifier (0-1 error in the bound)")
    if n_draws < 2:
        raise ValueError("n_draws must be ≥ 2 (the loss increase is reported with a standard error)")
    t0 = time.perf_counter()
    theta = flatten(hvp.params)
    gen = torch.Generator().manual_seed(seed)
    draws = torch.randn((n_draws, theta.numel()), generator=gen, dtype=torch.float64).to(theta)
    base = loss_at(hvp, theta)
    lo, hi = math.log(sigma_range[0]), math.log(sigma_range[1])
    n_evals = 0

    def evaluate(log_sigma: float) -> tuple[float, float, float]:
        nonlocal n_evals
        n_evals += 1
        mean, se, err = _perturbed_stats(hvp, theta, draws, math.exp(log_sigma))
        return mean - base, se, err

    hit = None
    top = evaluate(hi)
    if top[0] <= max_increase:
        best, best_stats, hit = hi, top, "upper"
    else:
        bottom = evaluate(lo)
        if bottom[0] > max_increase:
            best, best_stats, hit = lo, bottom, "lower"
        else:
            best, best_stats = lo, bottom
            for _ in range(n_bisect):
                mid = 0.5 * (lo + hi)
                stats = evaluate(mid)
                if stats[0] <= max_increase:
                    lo, best, best_stats = mid, mid, stats
                else:
                    hi = mid
    sigma = math.exp(best)
    mu = torch.zeros_like(theta) if prior_mean is None else flatten(
        {k: prior_mean[k].to(theta) for k in hvp.params})
    kl = gaussian_kl(theta, sigma, mu, sigma if prior_sigma is None else prior_sigma)
    bound = pacbayes_bound_value(best_stats[2], kl, n_train, delta)
    return PacBayesResult(sigma, best_stats[0], best_stats[1], best_stats[2], kl, bound, n_evals,
                          time.perf_counter() - t0, hit)


def _largest_sigma(increase, lo: float, hi: float, max_increase: float, n_bisect: int) -> float:
    """The largest log σ in [lo, hi] with ``increase(log σ) ≤ max_increase`` by bisection (the ends
    when the whole interval satisfies, or violates, the constraint)."""
    if increase(hi) <= max_increase:
        return hi
    if increase(lo) > max_increase:
        return lo
    best = lo
    for _ in range(n_bisect):
        mid = 0.5 * (lo + hi)
        if increase(mid) <= max_increase:
            lo = best = mid
        else:
            hi = mid
    return best


def pacbayes_mag_flatness(
    model_or_hvp: nn.Module | HVP,
    X: Tensor | None = None,
    y: Tensor | None = None,
    *,
    max_increase: float = 0.1,
    n_draws: int = 8,
    seed: int = 0,
    eps0: float = 1e-3,
    sigma_range: tuple[float, float] = (1e-5, 10.0),
    n_bisect: int = 12,
) -> float:
    """Magnitude-aware PAC-Bayes flatness σ′* (Jiang et al. 2020, "pacbayes.mag.flatness").

    The perturbation of coordinate i has standard deviation s_i(σ′) = √(σ′² θ_i² + ε₀²), i.e.
    u = s(σ′) ⊙ ε with ε ~ N(0, I) (the same seeded draws for every σ′), so the noise scales with
    each weight's magnitude and the measure is invariant to a layer-wise rescaling up to ε₀.
    σ′* = the largest σ′ in ``sigma_range`` with (1/K) Σ_k L(θ + u_k) − L(θ) ≤ ``max_increase``
    (bisection on log σ′). Higher = flatter (orientation +1); Jiang et al. report 1/σ′*².
    """
    hvp = as_hvp(model_or_hvp, X, y)
    if n_draws < 2:
        raise ValueError("n_draws must be ≥ 2")
    theta = flatten(hvp.params)
    gen = torch.Generator().manual_seed(seed)
    draws = torch.randn((n_draws, theta.numel()), generator=gen, dtype=torch.float64).to(theta)
    base = loss_at(hvp, theta)
    theta2 = theta**2

    def increase(log_sigma: float) -> float:
        std = torch.sqrt(math.exp(2 * log_sigma) * theta2 + eps0**2)
        return _perturbed_stats(hvp, theta, draws, std)[0] - base

    lo, hi = math.log(sigma_range[0]), math.log(sigma_range[1])
    return math.exp(_largest_sigma(increase, lo, hi, max_increase, n_bisect))
