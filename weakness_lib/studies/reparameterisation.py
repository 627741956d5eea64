"""Chapter 01, claim B1: Dinh rescalings inflate the Hessian of a trained MNIST MLP, not its predictions.

For each rescaling T (layer 1, layer 2, or chained; see :mod:`weakness_lib.bennett.reparam`) and each α of
the pre-registered grid, on the float64 copy of one trained network:

* λ_max of the Hessian of the mean cross-entropy on a fixed batch (Lanczos, with residual),
* its trace (Hutchinson, the same Rademacher probes for every α) with standard error,
* ‖θ‖₂, test accuracy, arg-max agreement with α = 1 and max |Δlogit| on the 10,000 test images,
* the trace *predicted* from the α = 1 block traces, tr H(T_α θ) = Σ_t s_t⁻² tr H_tt(θ), where
  s_t is the factor applied to parameter tensor t.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from weakness_lib.bennett.curvature import HVP, hutchinson_trace, top_eigenvalues
from weakness_lib.bennett.models import MLP
from weakness_lib.bennett.reparam import (
    block_scales,
    check_function_preserved,
    rescale_chain,
    rescale_layer,
)
from weakness_lib.core.config import experiment_config
from weakness_lib.core.store import ResultsStore, Table
from weakness_lib.studies.common import (
    claim_from_registration,
    dataset,
    fit_network,
    fixed_batch,
    split_for,
    train_or_load,
)

EXPERIMENT = "reparameterisation"
NOTEBOOK = "01_reparameterisation.ipynb"
CLAIMS = ("B1",)

MODES: dict[str, Callable[[MLP, float], MLP]] = {
    "layer1": lambda m, a: rescale_layer(m, 1, a),
    "layer2": lambda m, a: rescale_layer(m, 2, a),
    "chain": rescale_chain,
}


def mode_scales(mode: str, alpha: float, n_hidden: int) -> list[float]:
    """Hidden-layer output factors c_ℓ that :data:`MODES` ``[mode]`` applies."""
    if mode == "chain":
        return [alpha ** (ell + 1) for ell in range(n_hidden)]
    scales = [1.0] * n_hidden
    scales[int(mode[-1]) - 1] = alpha
    return scales


def measure(
    model: MLP, reference: MLP, Xc: torch.Tensor, yc: torch.Tensor, Xt: torch.Tensor,
    yt: torch.Tensor, cfg: dict[str, Any],
) -> dict[str, Any]:
    """Curvature and function measures of one (rescaled) float64 network."""
    t0 = time.perf_counter()
    hvp = HVP.for_model(model, Xc, yc)
    eig = top_eigenvalues(hvp, k=1, tol=cfg["lanczos_tol"], seed=cfg["curvature_seed"])
    tr = hutchinson_trace(hvp, cfg["hutchinson_probes"], seed=cfg["curvature_seed"])
    max_dlogit, agreement = check_function_preserved(reference, model, Xt)
    with torch.no_grad():
        test_acc = float((model(Xt).argmax(1) == yt).double().mean())
        norm = float(torch.sqrt(sum((p.double() ** 2).sum() for p in model.parameters())))
    return {
        "lambda_max": eig.lambda_max,
        "lanczos_hvps": eig.n_hvp,
        "lanczos_residual": float(eig.residuals[0]),
        "trace": tr.mean,
        "trace_se": tr.stderr,
        "block_samples": {k: tr.block_samples[:, j] for j, k in enumerate(tr.blocks)},
        "param_norm": norm,
        "test_acc": test_acc,
        "agreement": agreement,
        "n_changed": int(round((1 - agreement) * len(Xt))),
        "max_abs_dlogit": max_dlogit,
        "measure_s": time.perf_counter() - t0,
    }


def predicted_trace(
    block_samples: dict[str, list[float]], model: MLP, mode: str, alpha: float
) -> tuple[float, float]:
    """Σ_t s_t⁻² tr H_tt from the α = 1 per-probe block samples, with its standard error.

    H' = J⁻¹ H J⁻¹ makes this identity exact for the true traces (s_t is uniform within each
    tensor for these rescalings); the estimate inherits Hutchinson noise amplified by s_t⁻².
    """
    scales = block_scales(model, mode_scales(mode, alpha, len(model.layers) - 1))
    per_probe = sum(
        np.asarray(block_samples[n]) / float(s.reshape(-1)[0]) ** 2 for n, s in scales.items()
    )
    return float(per_probe.mean()), float(per_probe.std(ddof=1) / np.sqrt(len(per_probe)))


@dataclass
class Context:
    """One scale's config, results table, trained float64 network and fixed batches."""

    cfg: dict[str, Any]
    table: Table
    train_row: dict[str, Any]
    base: MLP
    Xc: torch.Tensor
    yc: torch.Tensor
    Xt: torch.Tensor
    yt: torch.Tensor


def context(scale: str, progress: bool = False) -> Context:
    """Load the pre-registered config and train (or load) the network of ``scale``."""
    cfg = experiment_config(EXPERIMENT, scale)
    table = ResultsStore(scale).table(EXPERIMENT, cfg)
    data = dataset(cfg["dataset"])
    split = split_for(data, cfg["n_train"], 0, cfg["split_seed"])
    model, train_row = train_or_load(
        table, "train", data, split.train, cfg["widths"], cfg["train"], cfg["seed"], progress
    )
    cb = split.train[fixed_batch(len(split.train), cfg["curvature_batch"], cfg["curvature_seed"])]
    return Context(cfg, table, train_row, model.double().eval(), data.train_x[cb].double(),
                   data.train_y[cb], data.test_x.double(), data.test_y)


def unit_row(ctx: Context, mode: str, alpha: float) -> dict[str, Any]:
    """The stored record of one rescaling (``mode`` = "identity" means α = 1)."""
    rescaled = ctx.base if mode == "identity" else MODES[mode](ctx.base, alpha)
    return {"mode": mode, "alpha": alpha,
            **measure(rescaled, ctx.base, ctx.Xc, ctx.yc, ctx.Xt, ctx.yt, ctx.cfg)}


def units(cfg: dict[str, Any]) -> list[tuple[str, float]]:
    return [("identity", 1.0)] + [
        (mode, float(a)) for mode in cfg["modes"] for a in cfg["alphas"] if a != 1
    ]


def unit_key(mode: str, alpha: float) -> str:
    return f"{mode}:{alpha:g}"


def recompute(scale: str, key: str) -> dict[str, Any]:
    """Recompute one stored row from scratch (for ``weakness-repro verify``).

    ``"train"`` re-trains the network from its seed; a rescaling key re-measures it.
    """
    ctx = context(scale)
    if key == "train":
        data = dataset(ctx.cfg["dataset"])
        split = split_for(data, ctx.cfg["n_train"], 0, ctx.cfg["split_seed"])
        return fit_network(data, split.train, ctx.cfg["widths"], ctx.cfg["train"], ctx.cfg["seed"])[1]
    mode, alpha = key.split(":")
    return unit_row(ctx, mode, float(alpha))


def run(scale: str, *, progress: bool = False) -> dict[str, Any]:
    """Train (or load) the network, measure every (mode, α), write claim B1; return the tables."""
    ctx = context(scale, progress)
    rows = []
    for mode, alpha in (pbar := _progress(units(ctx.cfg), progress)):
        pbar_set(pbar, f"{mode} α={alpha:g}")
        rows.append(ctx.table.get_or_compute(
            unit_key(mode, alpha), lambda m=mode, a=alpha: unit_row(ctx, m, a)))
    frame = summarise(rows, ctx.base)
    claim = write_b1(frame, ctx.table, ctx.cfg, scale)
    return {"config": ctx.cfg, "train": ctx.train_row, "table": frame, "claim": claim,
            "provenance": ctx.table.provenance, "wall_s": ctx.table.total_wall_s()}


def _progress(units, progress: bool):
    from tqdm import tqdm

    return tqdm(units, disable=not progress, desc="rescalings", leave=False)


def pbar_set(pbar, text: str) -> None:
    pbar.set_postfix_str(text)


def summarise(rows: list[dict[str, Any]], base: MLP) -> pd.DataFrame:
    """One row per (mode, α) with ratios to α = 1; the identity row is repeated in every mode."""
    frame = pd.DataFrame(rows)
    ident = frame[frame["mode"] == "identity"].iloc[0]
    modes = [m for m in frame["mode"].unique() if m != "identity"]
    frame = pd.concat(
        [frame[frame["mode"] != "identity"]]
        + [ident.to_frame().T.assign(mode=m) for m in modes],
        ignore_index=True,
    ).infer_objects()
    frame["alpha"] = frame["alpha"].astype(float)
    for col in ("lambda_max", "trace", "param_norm"):
        frame[col] = frame[col].astype(float)
        frame[f"{col}_ratio"] = frame[col] / float(ident[col])
    predicted = [
        predicted_trace(ident["block_samples"], base, m, a)
        for m, a in zip(frame["mode"], frame["alpha"])
    ]
    frame["trace_predicted"] = [p[0] for p in predicted]
    frame["trace_predicted_se"] = [p[1] for p in predicted]
    frame["sharpness_ratio"] = frame["lambda_max_ratio"]
    return frame.sort_values(["mode", "alpha"]).reset_index(drop=True)


def write_b1(frame: pd.DataFrame, table, cfg: dict[str, Any], scale: str):
    """Apply the pre-registered verdict rule and write ``claims/B1.json``."""
    preserved = bool((frame["n_changed"] == 0).all() and (frame["max_abs_dlogit"] < 1e-10).all())
    best = frame.loc[frame["lambda_max_ratio"].idxmax()]
    ratio = float(best["lambda_max_ratio"])
    if preserved and ratio >= 100:
        verdict = "reproduced"
    elif preserved and ratio >= 10:
        verdict = "partially_reproduced"
    else:
        verdict = "not_reproduced"
    at = {f"{m}@{a:g}": round(float(r), 2) for m, a, r in
          zip(frame["mode"], frame["alpha"], frame["lambda_max_ratio"])}
    return claim_from_registration(
        EXPERIMENT, "B1", our_value=ratio, ci95=None, verdict=verdict, scale=scale,
        provenance={**table.provenance, "config_hash": table.hash, "config": cfg,
                    "wall_s": table.total_wall_s(), "results_file": str(table.path.name)},
        details={
            "best_mode": best["mode"], "best_alpha": float(best["alpha"]),
            "best_trace_ratio": float(best["trace_ratio"]),
            "predictions_changed": int(frame["n_changed"].sum()),
            "max_abs_dlogit": float(frame["max_abs_dlogit"].max()),
            "lambda_max_ratio_by_rescaling": at,
        },
    )
