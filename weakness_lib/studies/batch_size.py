"""Chapter 03, claim B5: does the small-vs-large-batch generalisation gap vanish as n grows?

Grid (``configs/batch_size.yaml``): MNIST training-set sizes n, two batch sizes (small, large),
seeds s. Cell (n, regime, s) trains ``build_mlp(widths, seed=s)`` with batch order s on the first
n images of ``data.stratified_order(train labels, s)`` (nested, class-stratified subsets), Adam
with the same learning rate for both batch sizes, until the full training cross-entropy is below
``stop_train_loss`` at an epoch end or the cap is reached. Small and large batch share the
initialisation and the subset of a seed, so the advantage is computed *paired*:

    d_s(n) = acc_test(small, s) − acc_test(large, s),   A(n) = mean_s d_s(n),
    se(n) = sd_s(d_s(n)) / √S     (in percentage points; A > 0 ⇔ small batches generalise better).

Per run we also store λ_max and the Hutchinson trace (float64, fixed batch of the run's own
training images), SAM ε-sharpness, and the weakness estimators W1/W2 on a fixed probe set of
test images (no labels used), to see which of sharpness or weakness tracks the vanishing gap.

Run order (:func:`run_order`): the extreme sizes (which decide the verdict) first, then the
intermediate sizes seed by seed, so that an interrupted run keeps complete verdict cells and a
balanced curve.
Determinism: one network at a time under ``torch_threads`` threads; :func:`retrain_and_measure`
recomputes any stored row bit for bit.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pandas as pd

from weakness_lib.bennett.data import make_split
from weakness_lib.core.config import experiment_config
from weakness_lib.core.store import ResultsStore, Table
from weakness_lib.studies.bennett_common import (
    claim_provenance,
    performance,
    threads,
    train_network,
    wall_time,
    weakness_measures,
)
from weakness_lib.studies.common import claim_from_registration, dataset, fixed_batch

EXPERIMENT = "batch_size"
NOTEBOOK = "03_large_batch_vs_n.ipynb"
CLAIMS: tuple[str, ...] = ("B5",)
REGIMES: tuple[str, ...] = ("small", "large")
PAPER_ADVANTAGE: dict[int, float] = {2000: 1.6, 60000: 0.02}  # percentage points (paper, C6)
TRACKED: tuple[str, ...] = ("lambda_max", "trace", "sam", "w1_tau0.01", "w2", "entropy_bits")


def config(scale: str) -> dict[str, Any]:
    return experiment_config(EXPERIMENT, scale)


def table_for(scale: str) -> Table:
    cfg = config(scale)
    return ResultsStore(scale).table(EXPERIMENT, cfg)


def run_key(n: int, regime: str, seed: int) -> str:
    return f"n{n}_{regime}_s{seed}"


def parse_key(key: str) -> tuple[int, str, int]:
    """Inverse of :func:`run_key`: ``'n2000_small_s3'`` → (2000, 'small', 3)."""
    try:
        n, regime, s = key.split("_")
        out = int(n[1:]), regime, int(s[1:])
    except ValueError as exc:
        raise ValueError(f"not a batch-size run key: {key!r} (expected e.g. 'n2000_small_s3')") from exc
    if regime not in REGIMES or not n.startswith("n") or not s.startswith("s"):
        raise ValueError(f"not a batch-size run key: {key!r}")
    return out


def run_order(cfg: dict[str, Any]) -> list[tuple[int, str, int]]:
    """(n, regime, seed) in execution order: the smallest and largest n first (every seed, small
    then large), then the intermediate n seed by seed (all n for seed 0, then seed 1, …)."""
    ns = sorted(cfg["n_values"])
    extremes = [ns[0], ns[-1]] if len(ns) > 1 else ns
    first = [(n, r, s) for n in extremes for s in cfg["seeds"] for r in REGIMES]
    rest = [(n, r, s) for s in cfg["seeds"] for n in ns[1:-1] for r in REGIMES]
    return first + rest


def train_settings(cfg: dict[str, Any], regime: str) -> dict[str, Any]:
    """TrainConfig fields of a regime: the small batch is capped in epochs, the large in steps."""
    common = {"optimizer": cfg["optimizer"], "lr": cfg["lr"], "stop_train_loss": cfg["stop_train_loss"]}
    if regime == "small":
        return {**common, "batch_size": cfg["batch_small"], "epochs": cfg["max_epochs_small"]}
    if regime == "large":
        # one epoch has ≥ 1 step, so max_steps epochs never bind before the step cap
        return {**common, "batch_size": cfg["batch_large"], "epochs": cfg["max_steps_large"],
                "max_steps": cfg["max_steps_large"]}
    raise ValueError(f"unknown regime {regime!r}; expected one of {REGIMES}")


def probe_sets(cfg: dict[str, Any]):
    """Fixed probe images for the weakness estimators: test images (labels unused)."""
    data = dataset(cfg["dataset"])
    idx = fixed_batch(len(data.test_x), cfg["n_probe"], cfg["probe_seed"])
    probe = data.test_x[idx]
    return probe, probe[: cfg["w2_probe"]]


def compute_row(cfg: dict[str, Any], n: int, regime: str, seed: int,
                progress: bool = False) -> dict[str, Any]:
    """Train and measure one (n, regime, seed) network from scratch."""
    from weakness_lib.bennett.measures import (
        curvature_hvp,
        hessian_trace,
        lambda_max,
        sam_sharpness,
    )

    data = dataset(cfg["dataset"])
    idx = make_split(data.train_y, n, 0, seed).train
    X, y = data.train_x[idx], data.train_y[idx]
    tcfg = train_settings(cfg, regime)
    probe, w2_x = probe_sets(cfg)
    with threads(cfg["torch_threads"]):
        model, rec = train_network(X, y, cfg["widths"], tcfg, seed, progress)
        t0 = time.perf_counter()
        row: dict[str, Any] = {"n": n, "regime": regime, "batch_size": min(tcfg["batch_size"], n), **rec}
        row["stopped_by"] = "loss" if rec["final_train_loss"] < cfg["stop_train_loss"] else "cap"
        row.update(performance(model, X, y, data.test_x, data.test_y))
        c = fixed_batch(n, cfg["curvature_batch"], seed)
        hvp = curvature_hvp(model, X[c], y[c])
        lm = lambda_max(hvp, tol=cfg["lanczos_tol"], seed=seed)
        tr = hessian_trace(hvp, n_probes=cfg["hutchinson_probes"], seed=seed)
        row.update(lambda_max=lm.value, lambda_max_residual=lm.details["residual"], trace=tr.value,
                   trace_se=tr.stderr, sam=sam_sharpness(hvp).value)
        row.update(weakness_measures(model, probe, w2_x, cfg["taus"], cfg["deltas"]))
        row["measure_wall_s"] = time.perf_counter() - t0
    return row


def retrain_and_measure(scale: str, key: str) -> dict[str, Any]:
    """Recompute stored row ``key`` (e.g. ``'n2000_small_s3'``) from scratch, for ``verify``;
    every number except ``*_wall_s`` / ``_finished`` must match the stored row bit for bit."""
    n, regime, seed = parse_key(key)
    return compute_row(config(scale), n, regime, seed)


def compute(scale: str, progress: bool = False) -> Table:
    """Fill the grid run by run (resumable: one stored row per network)."""
    cfg = config(scale)
    table = ResultsStore(scale).table(EXPERIMENT, cfg)
    from tqdm import tqdm

    for n, regime, seed in tqdm(run_order(cfg), disable=not progress, desc=EXPERIMENT):
        table.get_or_compute(run_key(n, regime, seed),
                             lambda n=n, r=regime, s=seed: compute_row(cfg, n, r, s))
    return table


def advantage_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per n: mean test accuracy per regime, paired advantage A(n) ± se (percentage points),
    and the paired mean log-ratio large/small of the tracked sharpness/weakness measures."""
    rows = []
    for n, g in df.groupby("n"):
        wide = g.pivot(index="seed", columns="regime", values="test_acc").dropna()
        d = 100.0 * (wide["small"] - wide["large"])
        k = len(d)
        row = {"n": int(n), "seeds": k,
               "acc_small": 100.0 * wide["small"].mean(), "acc_large": 100.0 * wide["large"].mean(),
               "advantage_pp": float(d.mean()) if k else math.nan,
               "se_pp": float(d.std(ddof=1) / math.sqrt(k)) if k > 1 else math.nan,
               "paper_pp": PAPER_ADVANTAGE.get(int(n), math.nan)}
        for m in TRACKED:
            if m in g:
                w = g.pivot(index="seed", columns="regime", values=m).dropna()
                row[f"{m}_small"] = float(w["small"].mean())
                row[f"{m}_large"] = float(w["large"].mean())
                row[f"{m}_diff"] = float((w["large"] - w["small"]).mean())
        rows.append(row)
    return pd.DataFrame(rows).sort_values("n").reset_index(drop=True)


def regime_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Mean ± se over seeds of accuracy, steps, epochs and every tracked measure per (n, regime)."""
    cols = ["test_acc", "train_loss", "steps", "epochs", *[m for m in TRACKED if m in df]]
    g = df.groupby(["n", "regime"])[cols]
    mean, se = g.mean(), g.sem()
    return mean.join(se, rsuffix="_se").reset_index()


def verdict_for(adv: pd.DataFrame) -> tuple[str, dict[str, float]]:
    """The pre-registered B5 rule on the smallest and largest n of the grid."""
    lo, hi = adv.iloc[0], adv.iloc[-1]
    a0, s0 = float(lo["advantage_pp"]), float(lo["se_pp"])
    a1, s1 = float(hi["advantage_pp"]), float(hi["se_pp"])
    facts = {"n_small": int(lo["n"]), "n_large": int(hi["n"]), "A_small_n": a0, "se_small_n": s0,
             "A_large_n": a1, "se_large_n": s1}
    if not all(np.isfinite([a0, s0, a1, s1])):
        return "not_reproduced", {**facts, "note": "standard errors undefined (too few seeds)"}
    clear_at_small = a0 - 2 * s0 > 0
    if clear_at_small and a1 - 2 * s1 <= 0 and a1 < a0:
        return "reproduced", facts
    if clear_at_small and a0 - a1 > 2 * math.sqrt(s0**2 + s1**2):
        return "partially_reproduced", facts
    return "not_reproduced", facts


def run(scale: str, *, progress: bool = False) -> dict[str, Any]:
    """Compute what is missing, write claim B5, return ``frame`` (per run), ``advantage`` (per n),
    ``regimes`` (per n × regime), ``claim``, ``config`` and ``wall``."""
    cfg = config(scale)
    table = compute(scale, progress=progress)
    df = table.to_frame()
    adv = advantage_table(df)
    verdict, facts = verdict_for(adv)
    hi = adv.iloc[-1]
    ci = None
    if np.isfinite(hi["se_pp"]):
        ci = [float(hi["advantage_pp"] - 1.96 * hi["se_pp"]), float(hi["advantage_pp"] + 1.96 * hi["se_pp"])]
    details = {**facts, "advantage_definition": "acc(batch small) − acc(batch large), paired by seed, percentage points",
               "curve": adv[["n", "seeds", "acc_small", "acc_large", "advantage_pp", "se_pp"]].to_dict(orient="records"),
               "runs_stopped_by_cap": int((df["stopped_by"] == "cap").sum()), "runs": len(df)}
    prov = claim_provenance(table, cfg)
    claim = claim_from_registration(EXPERIMENT, "B5", our_value=float(hi["advantage_pp"]), ci95=ci,
                                    verdict=verdict, provenance=prov, details=details, scale=scale)
    return {"frame": df, "advantage": adv, "regimes": regime_summary(df), "claim": claim,
            "verdict": verdict, "config": cfg, "wall": wall_time(table), "table": table}
