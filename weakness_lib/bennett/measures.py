"""Sharpness (flatness) and simplicity measures of one trained network (reference §5).

All curvature-type measures use the mean loss L(θ) = (1/B) Σ_i ℓ(f_θ(x_i), y_i) on one fixed
batch (X, y) of training examples, evaluated in ``dtype`` (float64 by default) and in eval mode,
through one :class:`weakness_lib.bennett.curvature.HVP` object (which holds the loss function and θ).
Each measure function accepts either that HVP object or ``(model, X, y)``.

Sign convention. Every measure has an ``orientation`` in :data:`MEASURES`:
+1 when *higher = flatter / simpler* (the flat-minima or simplicity hypothesis predicts a
positive correlation with test accuracy), −1 when *higher = sharper / more complex*. Raw values
are always reported; the hypothesis-oriented value is orientation × value.

Sharpness family
* ``lambda_max``  S1  λ_max(∇²L(θ)), Lanczos (scipy eigsh) on HVPs.                     (−1)
* ``trace``       S2  tr ∇²L(θ), Hutchinson with Rademacher probes (± s.e.).            (−1)
* ``sam``         S3  L(θ + ρ g/‖g‖) − L(θ), g = ∇L(θ), ρ = 0.05 (one ascent step, SAM).  (−1)
* ``asam``        S4  L(θ + ε) − L(θ), ε = ρ T² g/‖T g‖, T = diag(|θ|) (ASAM, offset 0, ρ = 0.5):
                      exactly invariant under any positive diagonal rescaling θ' = Jθ that
                      preserves f (Dinh), since g' = J⁻¹g, T' = JT ⇒ ε' = Jε.             (−1)
* ``pacbayes_sigma``  largest σ with E_ε[L(θ + σε)] − L(θ) ≤ Δ (ε ~ N(0, I), fixed seeded
                      draws, bisection in log σ; Jiang et al. 2019 "pacbayes.flatness").    (+1)
* ``pacbayes_bound``  McAllester/Maurer-type value at that σ:
                      err̂(Q) + √((KL(Q‖P) + ln(2√m/δ)) / (2m)), Q = N(θ, σ²I), P = N(μ_p, σ_p²I);
                      err̂(Q) the Monte-Carlo 0-1 error of the perturbed nets on the batch.  (−1)

Simplicity family (complexity measures; simplicity = −value)
* ``lzma_bytes`` / ``zlib_bytes``  K1  compressed size of the weights quantised to 8 bits
                      (per-tensor min–max) — a description-length proxy.                  (−1)
* ``l2_norm``     K2  ‖θ‖₂.                                                              (−1)
* ``path_norm``   K3  ℓ₂ path norm √(Σ_paths Π w²) (biases as paths from a constant unit). (−1)
* ``log_spectral_sum`` K3' Σ_ℓ log ‖W_ℓ‖₂ (spectral norms of the weight matrices).       (−1)

Behaviour under the Dinh rescaling (reference §6): λ_max, trace, SAM, ‖θ‖ and the PAC-Bayes
numbers change; ASAM and the path norm are exactly invariant under any (per-neuron) rescaling;
the log-spectral sum and the per-tensor-quantised compressed size are invariant under
*layer-wise scalar* rescaling (both are scale-free per tensor, up to rounding) but not under
per-neuron rescaling.
"""

from __future__ import annotations

import copy
import lzma
import math
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, grad

from weakness_lib.bennett.curvature import (
    HVP,
    Params,
    flatten,
    hutchinson_trace,
    top_eigenvalues,
    unflatten,
)

__all__ = [
    "MeasureSpec",
    "MeasureResult",
    "MEASURES",
    "as_hvp",
    "curvature_hvp",
    "lambda_max",
    "hessian_trace",
    "sam_sharpness",
    "adaptive_sharpness",
    "PacBayesResult",
    "pacbayes_flatness",
    "gaussian_kl",
    "pacbayes_bound_value",
    "quantised_weight_bytes",
    "compressed_size",
    "l2_norm",
    "path_norm",
    "log_spectral_sum",
    "measure_table",
    "oriented",
]


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


def as_hvp(
    model_or_hvp: nn.Module | HVP,
    X: Tensor | None = None,
    y: Tensor | None = None,
    dtype: torch.dtype = torch.float64,
    loss: str = "cross_entropy",
) -> HVP:
    """Return ``model_or_hvp`` if it is an HVP, else :func:`curvature_hvp` of (model, X, y)."""
    if isinstance(model_or_hvp, HVP):
        return model_or_hvp
    if X is None or y is None:
        raise ValueError("pass an HVP object, or a model together with its curvature batch X, y")
    return curvature_hvp(model_or_hvp, X, y, dtype, loss)


def curvature_hvp(model: nn.Module, X: Tensor, y: Tensor, dtype: torch.dtype = torch.float64,
                  loss: str = "cross_entropy") -> HVP:
    """One HVP object (eval mode, ``dtype``) for all curvature measures of ``model`` on (X, y).

    The model (cast to ``dtype``), the batch and the loss kind are attached to the object so that
    the PAC-Bayes measure can evaluate perturbed logits with the same parameters and data.
    """
    model.eval()
    hvp = HVP.for_model(model, X, y, loss=loss, dtype=dtype)
    net = model if next(model.parameters()).dtype == dtype else copy.deepcopy(model).to(dtype).eval()
    hvp.weakness_context = {"model": net, "X": X.to(dtype), "y": y, "loss": loss}
    return hvp


def _context(hvp: HVP) -> dict[str, Any]:
    ctx = getattr(hvp, "weakness_context", None)
    if ctx is None:
        raise ValueError("this HVP has no attached model/batch; build it with "
                         "measures.curvature_hvp(model, X, y) (or pass model, X, y)")
    return ctx


def _loss_at(hvp: HVP, theta: Tensor) -> float:
    with torch.no_grad():
        return float(hvp.loss_fn(unflatten(theta, hvp.params)))


def _gradient(hvp: HVP) -> Tensor:
    return flatten(grad(hvp.loss_fn)(hvp.params)).detach()


# ----------------------------------------------------------------------------------------------
# Sharpness
# ----------------------------------------------------------------------------------------------
def lambda_max(model_or_hvp: nn.Module | HVP, X: Tensor | None = None, y: Tensor | None = None,
               *, tol: float = 1e-3, seed: int = 0) -> MeasureResult:
    """S1: λ_max of ∇²L(θ) by Lanczos (``top_eigenvalues``, ARPACK relative tolerance ``tol``).

    Data: the curvature batch. Sign: higher = sharper. ``details`` holds the residual
    ‖Hv − λv‖/|λ|.
    """
    hvp = as_hvp(model_or_hvp, X, y)
    t0, c0 = time.perf_counter(), hvp.calls
    eig = top_eigenvalues(hvp, k=1, tol=tol, seed=seed)
    return MeasureResult(eig.lambda_max, None, time.perf_counter() - t0, hvp.calls - c0,
                         {"residual": float(eig.residuals[0])})


def hessian_trace(model_or_hvp: nn.Module | HVP, X: Tensor | None = None, y: Tensor | None = None,
                  *, n_probes: int = 30, seed: int = 0) -> MeasureResult:
    """S2: tr ∇²L(θ) ≈ mean_k v_kᵀ H v_k, Rademacher v_k (Hutchinson), with standard error.

    Data: the curvature batch. Sign: higher = sharper.
    """
    hvp = as_hvp(model_or_hvp, X, y)
    t0, c0 = time.perf_counter(), hvp.calls
    tr = hutchinson_trace(hvp, n_probes=n_probes, seed=seed)
    return MeasureResult(tr.mean, tr.stderr, time.perf_counter() - t0, hvp.calls - c0)


def sam_sharpness(model_or_hvp: nn.Module | HVP, X: Tensor | None = None, y: Tensor | None = None,
                  *, rho: float = 0.05) -> MeasureResult:
    """S3: SAM ε-sharpness L(θ + ρ g/‖g‖₂) − L(θ), g = ∇L(θ) (one ascent step, Foret et al. 2021).

    Data: the curvature batch. Sign: higher = sharper.
    """
    hvp = as_hvp(model_or_hvp, X, y)
    t0 = time.perf_counter()
    theta = flatten(hvp.params)
    g = _gradient(hvp)
    gnorm = float(g.norm())
    if gnorm == 0.0:
        raise ValueError("gradient is exactly zero; SAM direction undefined")
    value = _loss_at(hvp, theta + rho * g / gnorm) - _loss_at(hvp, theta)
    return MeasureResult(value, None, time.perf_counter() - t0, 0, {"grad_norm": gnorm, "rho": rho})


def adaptive_sharpness(model_or_hvp: nn.Module | HVP, X: Tensor | None = None,
                       y: Tensor | None = None, *, rho: float = 0.5) -> MeasureResult:
    """S4: ASAM adaptive sharpness (Kwon et al. 2021, offset η = 0), one ascent step.

    max over ‖T⁻¹ε‖₂ ≤ ρ of the first-order loss increase is attained at ε = ρ T² g / ‖T g‖₂,
    T = diag(|θ|); the value is L(θ + ε) − L(θ). Parameters that are exactly 0 are not moved.
    Invariance: under θ' = Jθ (J positive diagonal, f preserved) g' = J⁻¹g and T' = JT, so
    ε' = Jε and L'(θ' + ε') = L(θ + ε): the value is unchanged up to round-off.
    Data: the curvature batch. Sign: higher = sharper.
    """
    hvp = as_hvp(model_or_hvp, X, y)
    t0 = time.perf_counter()
    theta = flatten(hvp.params)
    g = _gradient(hvp)
    T = theta.abs()
    tg_norm = float((T * g).norm())
    if tg_norm == 0.0:
        raise ValueError("|θ| ⊙ ∇L is exactly zero; ASAM direction undefined")
    eps = rho * T * T * g / tg_norm
    value = _loss_at(hvp, theta + eps) - _loss_at(hvp, theta)
    return MeasureResult(value, None, time.perf_counter() - t0, 0, {"rho": rho})


def _perturbed_stats(hvp: HVP, theta: Tensor, draws: Tensor, sigma: float) -> tuple[float, float, float]:
    """(mean loss, its s.e., mean 0-1 error) over the networks θ + σ ε_k, one forward pass each."""
    ctx = _context(hvp)
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
    (seeded; the same draws for every σ, so the curve is a deterministic function of σ), found by
    ``n_bisect`` bisection steps on log σ. If even the upper end satisfies the constraint σ* is
    that end (``hit_limit="upper"``); if the lower end violates it, σ* is the lower end
    (``hit_limit="lower"``).

    Bound at σ*: Q = N(θ, σ*²I), P = N(μ_p, σ_p²I) with μ_p = ``prior_mean`` (default 0; pass the
    initialisation for a Dziugaite–Roy-style prior) and σ_p = ``prior_sigma`` (default σ*, so that
    KL = ‖θ − μ_p‖²/(2σ*²)); err̂(Q) is the mean 0-1 error of the K perturbed networks on the batch;
    m = ``n_train``. This is a *measure* in the form of a bound, not a certified bound: σ* is
    chosen on the data without a union bound and err̂(Q) is a Monte-Carlo estimate on a batch.
    Sign: σ* higher = flatter; bound lower = "better".
    """
    hvp = as_hvp(model_or_hvp, X, y)
    if _context(hvp)["loss"] != "cross_entropy":
        raise ValueError("pacbayes_flatness needs a cross-entropy classifier (0-1 error in the bound)")
    if n_draws < 2:
        raise ValueError("n_draws must be ≥ 2 (the loss increase is reported with a standard error)")
    t0 = time.perf_counter()
    theta = flatten(hvp.params)
    gen = torch.Generator().manual_seed(seed)
    draws = torch.randn((n_draws, theta.numel()), generator=gen, dtype=torch.float64).to(theta.dtype)
    base = _loss_at(hvp, theta)
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
        {k: prior_mean[k].to(theta.dtype) for k in hvp.params})
    kl = gaussian_kl(theta, sigma, mu, sigma if prior_sigma is None else prior_sigma)
    bound = pacbayes_bound_value(best_stats[2], kl, n_train, delta)
    return PacBayesResult(sigma, best_stats[0], best_stats[1], best_stats[2], kl, bound, n_evals,
                          time.perf_counter() - t0, hit)


# ----------------------------------------------------------------------------------------------
# Simplicity (complexity) — functions of the parameters only
# ----------------------------------------------------------------------------------------------
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
        out += np.array([lo, hi], dtype=np.float32).tobytes() + codes.numpy().tobytes()
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
    h = torch.ones(layers[0].in_features, dtype=torch.float64)
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


# ----------------------------------------------------------------------------------------------
# Everything for one network
# ----------------------------------------------------------------------------------------------
def measure_table(
    model: nn.Module,
    batch: tuple[Tensor, Tensor],
    probe: Tensor | None = None,
    *,
    n_train: int,
    dtype: torch.dtype = torch.float64,
    lanczos_tol: float = 1e-3,
    n_probes: int = 30,
    sam_rho: float = 0.05,
    asam_rho: float = 0.5,
    pb_max_increase: float = 0.1,
    pb_draws: int = 8,
    pb_bisect: int = 12,
    prior_mean: Params | None = None,
    seed: int = 0,
    weakness_kwargs: dict[str, Any] | None = None,
) -> dict[str, float]:
    """All measures of :data:`MEASURES` (plus, with ``probe``, every weakness estimator of
    :func:`weakness_lib.bennett.weakness.weakness_table`) for one network, in one call.

    ``batch`` = (X, y): the fixed curvature batch of training examples (reference default 2,048,
    float64). One HVP object is shared by λ_max, the trace, SAM, ASAM and PAC-Bayes. Extra keys:
    ``trace_se``, ``lambda_max_residual``, ``n_hvp``, ``pacbayes_kl``, ``pacbayes_error_q``,
    ``pacbayes_hit_limit`` (0 none, +1 upper, −1 lower), and ``cost_<group>_s`` wall times.
    """
    X, y = batch
    out: dict[str, float] = {}
    costs: dict[str, float] = {}
    t_all = time.perf_counter()
    hvp = curvature_hvp(model, X, y, dtype)
    lm = lambda_max(hvp, tol=lanczos_tol, seed=seed)
    tr = hessian_trace(hvp, n_probes=n_probes, seed=seed)
    sam = sam_sharpness(hvp, rho=sam_rho)
    asam = adaptive_sharpness(hvp, rho=asam_rho)
    pb = pacbayes_flatness(hvp, n_train=n_train, max_increase=pb_max_increase, n_draws=pb_draws,
                           seed=seed, n_bisect=pb_bisect, prior_mean=prior_mean)
    out.update(
        lambda_max=lm.value, lambda_max_residual=lm.details["residual"], trace=tr.value,
        trace_se=tr.stderr, n_hvp=hvp.calls, sam=sam.value, asam=asam.value,
        pacbayes_sigma=pb.sigma, pacbayes_bound=pb.bound, pacbayes_kl=pb.kl,
        pacbayes_error_q=pb.error_q,
        pacbayes_hit_limit={None: 0, "upper": 1, "lower": -1}[pb.hit_limit],
    )
    costs.update(lambda_max=lm.cost_s, trace=tr.cost_s, sam_asam=sam.cost_s + asam.cost_s,
                 pacbayes=pb.cost_s)
    t0 = time.perf_counter()
    out.update(
        lzma_bytes=float(compressed_size(model, "lzma")),
        zlib_bytes=float(compressed_size(model, "zlib")),
        l2_norm=l2_norm(model),
        path_norm=path_norm(model),
        log_spectral_sum=log_spectral_sum(model),
    )
    costs["simplicity"] = time.perf_counter() - t0
    if probe is not None:
        from weakness_lib.bennett.weakness import weakness_table

        t0 = time.perf_counter()
        out.update(weakness_table(model, probe, dtype=dtype, **(weakness_kwargs or {})))
        costs["weakness"] = time.perf_counter() - t0
    costs["total"] = time.perf_counter() - t_all
    out.update({f"cost_{k}_s": v for k, v in costs.items()})
    return out

