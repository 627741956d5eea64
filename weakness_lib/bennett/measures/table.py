"""Every sharpness and simplicity measure of one network (plus, optionally, its weakness), in one call."""

from __future__ import annotations

import time
from typing import Any

import torch
from torch import Tensor, nn

from weakness_lib.bennett.measures.pacbayes import pacbayes_flatness
from weakness_lib.bennett.measures.sharpness import (
    adaptive_sharpness,
    curvature_hvp,
    hessian_trace,
    lambda_max,
    sam_sharpness,
)
from weakness_lib.bennett.measures.simplicity import (
    compressed_size,
    l2_norm,
    log_spectral_sum,
    path_norm,
)
from weakness_lib.curvature import Params

__all__ = ["measure_table"]


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
    """All measures of :data:`~weakness_lib.bennett.measures.MEASURES` (plus, with ``probe``, every
    weakness estimator of :func:`weakness_lib.bennett.weakness.weakness_table`) for one network.

    ``batch`` = (X, y): the fixed curvature batch of training examples (reference default 2,048,
    float64). One HVP object is shared by the trace, SAM, ASAM and PAC-Bayes; λ_max runs certified
    Lanczos (relative accuracy ``lanczos_tol``) on the retained-graph product of the same loss.
    Extra keys: ``trace_se``, ``lambda_max_residual`` (the certified bound ≤ ``lanczos_tol``),
    ``n_hvp`` (products used by λ_max and the trace), ``pacbayes_kl``, ``pacbayes_error_q``,
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
        trace_se=tr.stderr, n_hvp=lm.n_hvp + hvp.calls, sam=sam.value, asam=asam.value,
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
