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
test images (no labels used), to see which of sharpness or weakness tracks the shrinking gap.

Run order (:func:`run_order`): the extreme sizes (which decide the verdict) first, then the
intermediate sizes seed by seed, so that an interrupted run keeps complete verdict cells and a
balanced curve.

Study protocol (:mod:`weakness_lib.engine.base`): one stage, one unit ``"n<n>_<regime>_s<seed>"``
per network, listed in run order (the table keeps that order). :func:`compute_unit` trains and
measures one network from scratch, bit for bit under ``torch_threads`` threads; CPU only
(``device`` is accepted and ignored).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from weakness_lib.bennett.data import make_split
from weakness_lib.bennett.weakness import column
from weakness_lib.core.claims import Claim
from weakness_lib.engine import base
from weakness_lib.studies.bennett import settings
from weakness_lib.studies.bennett.common import LAMBDA_MAX_VERIFY, dataset, fixed_batch
from weakness_lib.studies.bennett.networks import (
    performance,
    train_network,
    wall_time,
    weakness_measures,
)

EXPERIMENT = "batch_size"
SETTINGS = settings.BatchSize  # the typed settings of configs/<study>.yaml
NOTEBOOK = "03_large_batch_vs_n.ipynb"
CLAIMS: tuple[str, ...] = ("B5",)
DEVICES: tuple[str, ...] = ("cpu",)  # where units can run (``device`` is ignored)
VERIFY = LAMBDA_MAX_VERIFY  # λ_max within lanczos_tol, its solver diagnostics reported
REGIMES: tuple[str, ...] = ("small", "large")
#: measures whose small-vs-large-batch ratio the chapter tracks (the W1 one at the primary τ)
TRACKED: tuple[str, ...] = ("lambda_max", "trace", "sam", column("w1", tau=0.01), column("w2"),
                            column("entropy_bits"))
Z95 = 1.96  # the registered metric's CI: ±1.96 paired standard errors


# -- units ----------------------------------------------------------------------------------------
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


def run_order(cfg: settings.BatchSize) -> list[tuple[int, str, int]]:
    """(n, regime, seed) in execution order: the smallest and largest n first (every seed, small
    then large), then the intermediate n seed by seed (all n for seed 0, then seed 1, …)."""
    ns = sorted(cfg.n_values)
    extremes = [ns[0], ns[-1]] if len(ns) > 1 else ns
    first = [(n, r, s) for n in extremes for s in cfg.seeds for r in REGIMES]
    rest = [(n, r, s) for s in cfg.seeds for n in ns[1:-1] for r in REGIMES]
    return first + rest


def units(cfg: settings.BatchSize | Mapping[str, Any]) -> list[list[str]]:
    """One stage: every (n, regime, seed) network, in :func:`run_order`."""
    return [[run_key(n, r, s) for n, r, s in run_order(base.typed(cfg))]]


def compute_unit(cfg: settings.BatchSize | Mapping[str, Any], key: str, device: str = "cpu") -> dict[str, Any]:
    """The row of ``key`` (e.g. ``'n2000_small_s3'``): train and measure that network from scratch.

    Pure (never writes the store); CPU only (``device`` is ignored); every number except the
    ``*_wall_s`` timings is reproduced bit for bit under ``cfg.torch_threads`` threads.
    """
    del device  # CPU only
    n, regime, seed = parse_key(key)
    return compute_row(base.typed(cfg), n, regime, seed)


def train_settings(cfg: settings.BatchSize, regime: str) -> dict[str, Any]:
    """TrainConfig fields of a regime: the small batch is capped in epochs, the large in steps."""
    common = {"optimizer": cfg.optimizer, "lr": cfg.lr, "stop_train_loss": cfg.stop_train_loss}
    if regime == "small":
        return {**common, "batch_size": cfg.batch_small, "epochs": cfg.max_epochs_small}
    if regime == "large":
        # one epoch has ≥ 1 step, so max_steps epochs never bind before the step cap
        return {**common, "batch_size": cfg.batch_large, "epochs": cfg.max_steps_large,
                "max_steps": cfg.max_steps_large}
    raise ValueError(f"unknown regime {regime!r}; expected one of {REGIMES}")


def probe_sets(cfg: settings.BatchSize):
    """Fixed probe images for the weakness estimators: test images (labels unused)."""
    data = dataset(cfg.dataset)
    idx = fixed_batch(len(data.test_x), cfg.n_probe, cfg.probe_seed)
    probe = data.test_x[idx]
    return probe, probe[: cfg.w2_probe]


def compute_row(cfg: settings.BatchSize, n: int, regime: str, seed: int) -> dict[str, Any]:
    """Train and measure one (n, regime, seed) network from scratch."""
    from weakness_lib.bennett.measures import (
        curvature_hvp,
        hessian_trace,
        lambda_max,
        sam_sharpness,
    )

    data = dataset(cfg.dataset)
    idx = make_split(data.train_y, n, 0, seed).train
    X, y = data.train_x[idx], data.train_y[idx]
    tcfg = train_settings(cfg, regime)
    probe, w2_x = probe_sets(cfg)
    with base.threads(cfg.torch_threads):
        model, rec = train_network(X, y, cfg.widths, tcfg, seed)
        t0 = time.perf_counter()
        row: dict[str, Any] = {"n": n, "regime": regime, "batch_size": min(tcfg["batch_size"], n), **rec}
        row["stopped_by"] = "loss" if rec["final_train_loss"] < cfg.stop_train_loss else "cap"
        row.update(performance(model, X, y, data.test_x, data.test_y))
        c = fixed_batch(n, cfg.curvature_batch, seed)
        hvp = curvature_hvp(model, X[c], y[c])
        lm = lambda_max(hvp, tol=cfg.lanczos_tol, seed=seed)
        tr = hessian_trace(hvp, n_probes=cfg.hutchinson_probes, seed=seed)
        row.update(lambda_max=lm.value, lambda_max_residual=lm.details["residual"], trace=tr.value,
                   trace_se=tr.stderr, sam=sam_sharpness(hvp).value)
        row.update(weakness_measures(model, probe, w2_x, cfg.taus, cfg.deltas))
        row["measure_wall_s"] = time.perf_counter() - t0
    return row


# -- analysis (stored rows only) ------------------------------------------------------------------
def paper_advantage(rule: dict[str, Any] | None = None) -> dict[int, float]:
    """The paper's advantage (pp) per n, from the registration YAML (``target.advantage_pp``)."""
    target = (rule or base.rule(EXPERIMENT, "B5"))["target"]["advantage_pp"]
    return {int(n): float(v) for n, v in target.items()}


def advantage_table(df: pd.DataFrame, paper: dict[int, float] | None = None) -> pd.DataFrame:
    """Per n: mean test accuracy per regime, paired advantage A(n) ± se (percentage points),
    the paper's value where it gives one (``paper``, default from the registration YAML),
    and the paired mean difference large − small of the tracked sharpness/weakness measures."""
    paper = paper_advantage() if paper is None else paper
    rows = []
    for n, g in df.groupby("n"):
        wide = g.pivot(index="seed", columns="regime", values="test_acc").dropna()
        d = 100.0 * (wide["small"] - wide["large"])
        k = len(d)
        row = {"n": int(n), "seeds": k,
               "acc_small": 100.0 * wide["small"].mean(), "acc_large": 100.0 * wide["large"].mean(),
               "advantage_pp": float(d.mean()) if k else math.nan,
               "se_pp": float(d.std(ddof=1) / math.sqrt(k)) if k > 1 else math.nan,
               "paper_pp": paper.get(int(n), math.nan)}
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
    return mean.join(se.add_suffix("_se")).reset_index()


def verdict_b5(facts: dict[str, float], rule: dict[str, Any] | None = None) -> str:
    """The registered B5 rule (``configs/batch_size.yaml``; the se multiple is read from there) on
    ``A_small_n``, ``se_small_n`` (smallest n of the grid) and ``A_large_n``, ``se_large_n``
    (largest n). Undefined standard errors (one seed) give ``not_reproduced``."""
    k = float((rule or base.rule(EXPERIMENT, "B5"))["thresholds"]["se_multiple"])
    a0, s0, a1, s1 = (float(facts[x]) for x in ("A_small_n", "se_small_n", "A_large_n", "se_large_n"))
    if not all(np.isfinite([a0, s0, a1, s1])):
        return "not_reproduced"
    clear_at_small = a0 - k * s0 > 0
    if clear_at_small and a1 - k * s1 <= 0 and a1 < a0:
        return "reproduced"
    if clear_at_small and a0 - a1 > k * math.sqrt(s0**2 + s1**2):
        return "partially_reproduced"
    return "not_reproduced"


def b5_facts(df: pd.DataFrame, adv: pd.DataFrame, rule: dict[str, Any] | None = None) -> dict[str, Any]:
    """Our value (A at the largest n), its CI (±1.96 paired se), verdict and details of B5."""
    lo, hi = adv.iloc[0], adv.iloc[-1]
    facts: dict[str, Any] = {
        "n_small": int(lo["n"]), "n_large": int(hi["n"]),
        "A_small_n": float(lo["advantage_pp"]), "se_small_n": float(lo["se_pp"]),
        "A_large_n": float(hi["advantage_pp"]), "se_large_n": float(hi["se_pp"])}
    if not all(np.isfinite([facts[k] for k in ("A_small_n", "se_small_n", "A_large_n", "se_large_n")])):
        facts["note"] = "standard errors undefined (too few seeds)"
    ci = None
    if np.isfinite(hi["se_pp"]):
        a, se = float(hi["advantage_pp"]), float(hi["se_pp"])
        ci = [a - Z95 * se, a + Z95 * se]
    details = {**facts,
               "advantage_definition": "acc(batch small) − acc(batch large), paired by seed, percentage points",
               "curve": adv[["n", "seeds", "acc_small", "acc_large", "advantage_pp", "se_pp"]].to_dict(orient="records"),
               "runs_stopped_by_cap": int((df["stopped_by"] == "cap").sum()), "runs": len(df)}
    return {"our_value": float(hi["advantage_pp"]), "ci95": ci, "verdict": verdict_b5(facts, rule),
            "details": details}


def analyse(scale: str, study: str = EXPERIMENT, claim: str = "B5") -> dict[str, Any]:
    """Everything chapter 03 shows, from the stored table of ``scale`` (no computation, no writes).

    ``study``/``claim``: another registered population of this recipe (B5-R: 20 fresh seeds at the
    grid's two ends) under the same rule, read from its own registration. Keys:
    ``frame`` (per run), ``advantage`` (per n), ``regimes`` (per n × regime), ``paper_advantage``
    (pp per n, from the registration), ``B5`` (our value, CI, verdict, details), ``rule``,
    ``config`` (stored mapping), ``settings`` (typed), ``wall`` and ``provenance``."""
    t = base.load_table(study, scale)
    df = t.to_frame()
    rule = base.settings(study, scale).rule(claim)  # the registration that names the table
    paper = paper_advantage(rule)
    adv = advantage_table(df, paper)
    b5 = b5_facts(df, adv, rule)
    return {"frame": df, "advantage": adv, "regimes": regime_summary(df), "paper_advantage": paper,
            "B5": b5, "verdict": b5["verdict"], "rule": rule, "config": t.config,
            "settings": base.typed(t.config),
            "wall": wall_time(t), "provenance": base.provenance(t), "study": study, "claim_id": claim}


def claims(result: dict[str, Any]) -> list[Claim]:
    """Claim B5 (or B5-R) from :func:`analyse` (verdict by the registered rule; not written here)."""
    b5 = result["B5"]
    return [base.registered_claim(result.get("study", EXPERIMENT), result.get("claim_id", "B5"),
                                  our_value=b5["our_value"], ci95=b5["ci95"],
                                  verdict=b5["verdict"], provenance=result["provenance"],
                                  details=b5["details"])]
