"""Chapters 04/05, claims B6 (MNIST) and B7 (Fashion-MNIST): 100 networks differing only by seed.

Network i (i = 0…N−1) is ``build_mlp(widths, seed=s)`` trained with batch order ``s``, where
s = ``seed_base`` + i; data (stratified training subset, disjoint probe set U, curvature batch)
and every hyper-parameter are identical across networks (``configs/head_to_head_<ds>.yaml``).

Per network (one stored row, so an interrupted run loses at most the network in flight):
train/test loss and accuracy, test error and the gaps; every weakness estimator on U
(:func:`bennett_common.weakness_measures`); every sharpness and simplicity measure on the fixed
curvature batch (:func:`bennett_common.family_measures`); seed, steps, SHA-256 of the weights and
wall times. Then per measure and target: Spearman ρ (raw and hypothesis-oriented sign), two-sided
p, percentile-bootstrap 95 % CI, Holm-adjusted p, Kendall τ, partial Spearman given the final
training loss (:func:`weakness_lib.bennett.stats.correlation_table`).

Determinism rule for ``verify``: networks are trained one at a time (no ensembles), under
``torch_threads`` threads; :func:`retrain_and_measure` recomputes one stored row from its key
and must reproduce every stored number bit for bit.
"""

from __future__ import annotations

import functools
import json
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import DegenerateDataWarning
from torch import Tensor

from weakness_lib.bennett.stats import correlation_table
from weakness_lib.core.config import experiment_config
from weakness_lib.core.store import ResultsStore, Table, config_hash, write_json
from weakness_lib.studies.bennett_common import (
    claim_provenance,
    family_measures,
    family_of,
    orientation_of,
    performance,
    threads,
    train_network,
    wall_time,
    weakness_measures,
)
from weakness_lib.studies.common import claim_from_registration, dataset, fixed_batch, split_for

EXPERIMENTS: dict[str, str] = {"mnist": "head_to_head_mnist", "fashion_mnist": "head_to_head_fmnist"}
NOTEBOOKS: dict[str, str] = {
    "mnist": "04_head_to_head_mnist.ipynb",
    "fashion_mnist": "05_head_to_head_fmnist.ipynb",
}
CLAIM_IDS: dict[str, str] = {"mnist": "B6", "fashion_mnist": "B7"}
PAPER_RHO: dict[str, float] = {"mnist": 0.374, "fashion_mnist": 0.384}
PAPER_P: dict[str, float] = {"mnist": 0.00012, "fashion_mnist": 8.15e-5}
PAPER_SHARPNESS_RHO = -0.226  # MNIST only; compared with the RAW ρ(λ_max, test acc)
PAPER_SIMPLICITY_P = 0.848  # MNIST only
EXPERIMENT = EXPERIMENTS["mnist"]
NOTEBOOK = NOTEBOOKS["mnist"]
CLAIMS: tuple[str, ...] = ("B6", "B7")

MIN_FOR_PARTIAL = 10  # partial Spearman given the train loss needs a few residual d.o.f.
TARGETS: tuple[str, ...] = ("test_acc", "test_err", "gap_acc", "gap_loss")
ALIASES: dict[str, str] = {"fmnist": "fashion_mnist", "fashion-mnist": "fashion_mnist"}
_NON_MEASURES = {
    "key", "index", "seed", "epochs", "steps", "final_train_loss", "train_wall_s",
    "measure_wall_s", "weights_sha256", "train_loss", "train_acc", "test_loss", "test_acc",
    "test_err", "gap_acc", "gap_loss", "_finished", "_wall_s",
}


def canonical(name: str) -> str:
    """``mnist`` or ``fashion_mnist`` (aliases ``fmnist``, ``fashion-mnist`` accepted)."""
    name = ALIASES.get(name, name)
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown dataset {name!r}; expected 'mnist' or 'fashion_mnist'")
    return name


def config(ds: str, scale: str) -> dict[str, Any]:
    """The pre-registered config of the head-to-head study on ``ds`` at ``scale``."""
    return experiment_config(EXPERIMENTS[canonical(ds)], scale)


def table_for(ds: str, scale: str) -> Table:
    """The store table holding one row per network."""
    cfg = config(ds, scale)
    return ResultsStore(scale).table(cfg["experiment"], cfg)


@dataclass(frozen=True)
class Context:
    """Data shared by every network of one study (identical across seeds)."""

    X: Tensor
    y: Tensor
    Xt: Tensor
    yt: Tensor
    Xc: Tensor
    yc: Tensor
    probe_x: Tensor
    w2_x: Tensor


@functools.lru_cache(maxsize=4)
def _context(ds: str, n_train: int, n_probe: int, split_seed: int, curvature_batch: int,
             curvature_seed: int, w2_probe: int) -> Context:
    data = dataset(ds)
    split = split_for(data, n_train, n_probe, split_seed)
    X, y = data.train_x[split.train], data.train_y[split.train]
    c = fixed_batch(len(split.train), curvature_batch, curvature_seed)
    probe_x = data.train_x[split.probe]
    w2 = fixed_batch(len(split.probe), w2_probe, split_seed)
    return Context(X=X, y=y, Xt=data.test_x, yt=data.test_y, Xc=X[c], yc=y[c],
                   probe_x=probe_x, w2_x=probe_x[w2])


def context(cfg: dict[str, Any]) -> Context:
    return _context(cfg["dataset"], cfg["n_train"], cfg["n_probe"], cfg["split_seed"],
                    cfg["curvature_batch"], cfg["curvature_seed"], cfg["w2_probe"])


def network_key(i: int) -> str:
    return f"net{i:03d}"


def key_index(key: str) -> int:
    if not (key.startswith("net") and key[3:].isdigit()):
        raise ValueError(f"not a network key: {key!r} (expected e.g. 'net007')")
    return int(key[3:])


def compute_row(cfg: dict[str, Any], i: int, progress: bool = False) -> dict[str, Any]:
    """Train network ``i`` from scratch and measure it (the unit of work and of ``verify``)."""
    ctx = context(cfg)
    seed = cfg["seed_base"] + i
    with threads(cfg["torch_threads"]):
        model, rec = train_network(ctx.X, ctx.y, cfg["widths"], cfg["train"], seed, progress)
        t0 = time.perf_counter()
        row: dict[str, Any] = {"index": i, **rec}
        row.update(performance(model, ctx.X, ctx.y, ctx.Xt, ctx.yt))
        row.update(weakness_measures(model, ctx.probe_x, ctx.w2_x, cfg["taus"], cfg["deltas"]))
        row.update(family_measures(model, ctx.Xc, ctx.yc, cfg))
        row["measure_wall_s"] = time.perf_counter() - t0
    return row


def retrain_and_measure(scale: str, key: str, dataset: str = "mnist") -> dict[str, Any]:
    """Recompute the stored row ``key`` (e.g. ``'net042'``) from its seed and config, for ``verify``.

    Compare with ``table_for(dataset, scale).get(key)``: every number except wall times
    (``*_wall_s``, ``_finished``) must be bit-identical.
    """
    cfg = config(dataset, scale)
    return compute_row(cfg, key_index(key))


def compute(ds: str, scale: str, progress: bool = False, limit: int | None = None) -> Table:
    """Fill the table network by network (resumable); ``limit`` stops after that many networks."""
    cfg = config(ds, scale)
    table = ResultsStore(scale).table(cfg["experiment"], cfg)
    n = cfg["n_networks"] if limit is None else min(limit, cfg["n_networks"])
    from tqdm import tqdm

    for i in tqdm(range(n), disable=not progress, desc=cfg["experiment"]):
        table.get_or_compute(network_key(i), lambda i=i: compute_row(cfg, i))
    return table


def load_results(dataset: str, scale: str) -> pd.DataFrame | None:
    """The stored per-network rows of the head-to-head study (no computation), or ``None``.

    One row per finished network with its weakness variants (``w1_tau…``, ``w1_delta…``,
    ``mean_A_…``, ``entropy_bits``, ``w2``…), sharpness/simplicity measures (incl.
    ``pacbayes_bound``), train/test accuracy and loss and the gaps.
    """
    table = table_for(dataset, scale)
    if not table.path.exists() or len(table) == 0:
        return None
    return table.to_frame()


def measure_columns(df: pd.DataFrame) -> list[str]:
    """Numeric measure columns of a results frame (everything but ids, targets and timings)."""
    cols = []
    for c in df.columns:
        if c in _NON_MEASURES or c.startswith("_") or not pd.api.types.is_numeric_dtype(df[c]):
            continue
        if family_of(c, _extra_families()) is None:
            continue
        cols.append(c)
    return cols


def _extra_families() -> dict[str, tuple[str, int]]:
    from weakness_lib.studies.bennett_common import measure_families

    return measure_families()


def statistics(df: pd.DataFrame, cfg: dict[str, Any]) -> dict[str, Any]:
    """Correlation tables (one per target) over every non-constant measure column.

    Each table has the raw ρ, p, Holm p, percentile bootstrap CI, Kendall τ, partial Spearman
    given the final training loss, the family and the hypothesis-oriented ρ (and CI).
    """
    extra = _extra_families()
    cols = measure_columns(df)
    constant = [c for c in cols if df[c].nunique(dropna=False) <= 1 or df[c].isna().any()]
    usable = [c for c in cols if c not in constant]
    orientation = {c: orientation_of(c, extra) for c in usable}
    tables = {}
    for target in TARGETS:
        if df[target].nunique() <= 1:
            continue
        with warnings.catch_warnings():  # tiny (smoke) samples: degenerate bootstrap → NaN CI
            warnings.simplefilter("ignore", DegenerateDataWarning)
            t = correlation_table(
                df, usable, target, control="train_loss" if len(df) >= MIN_FOR_PARTIAL else None,
                orientation=orientation,
                n_resamples=cfg["bootstrap_resamples"], seed=cfg["bootstrap_seed"],
                ci_method="percentile",
            )
        t.insert(1, "family", [family_of(m, extra) for m in t["measure"]])
        t.insert(2, "sign", [orientation[m] for m in t["measure"]])
        lo, hi = t["sign"] * t["ci_lo"], t["sign"] * t["ci_hi"]
        t["ci_lo_oriented"], t["ci_hi_oriented"] = np.minimum(lo, hi), np.maximum(lo, hi)
        t.insert(0, "target", target)
        tables[target] = t
    return {"tables": tables, "constant": constant}


def _rows_digest(table: Table) -> str:
    rows = [{k: v for k, v in r.items() if not k.startswith("_")} for r in table.rows()]
    return config_hash({"rows": rows})


def _numeric(t: pd.DataFrame) -> pd.DataFrame:
    """Undo the JSON round trip (NaN is stored as null) for every numeric column."""
    for c in t.columns:
        if c not in ("target", "measure", "family"):
            t[c] = pd.to_numeric(t[c], errors="coerce")
    return t


def cached_statistics(table: Table, cfg: dict[str, Any]) -> dict[str, Any]:
    """:func:`statistics`, stored beside the table keyed by a digest of the rows (fast re-runs)."""
    path = table.artifact(f"stats_{_rows_digest(table)}.json")
    if path.exists():
        data = json.loads(path.read_text())
        return {"tables": {k: _numeric(pd.DataFrame(v)) for k, v in data["tables"].items()},
                "constant": data["constant"]}
    out = statistics(table.to_frame(), cfg)
    write_json(path, {"tables": {k: v.to_dict(orient="list") for k, v in out["tables"].items()},
                      "constant": out["constant"]})
    return out


def _lookup(t: pd.DataFrame, measure: str) -> dict[str, Any] | None:
    hit = t[t["measure"] == measure]
    return None if hit.empty else hit.iloc[0].to_dict()


def verdict_for(rho: float, p: float, ci: tuple[float, float], paper_rho: float) -> str:
    """The pre-registered rule of B6/B7 (configs/head_to_head_*.yaml)."""
    if not rho > 0:
        return "not_reproduced"
    if p < 0.05 and ci[0] <= paper_rho <= ci[1]:
        return "reproduced"
    return "partially_reproduced"


def write_claim_file(ds: str, scale: str, cfg: dict[str, Any], df: pd.DataFrame,
                     stats: dict[str, Any], provenance: dict[str, Any]) -> dict[str, Any]:
    """Apply the registered verdict rule and write ``results/<scale>/claims/B6|B7.json``."""
    ds = canonical(ds)
    acc = stats["tables"].get("test_acc")
    primary = cfg["primary_weakness"]
    row = None if acc is None else _lookup(acc, primary)
    details: dict[str, Any] = {
        "n_networks": len(df),
        "test_acc_mean": float(df["test_acc"].mean()),
        "test_acc_sd": float(df["test_acc"].std(ddof=1)) if len(df) > 1 else None,
        "train_acc_mean": float(df["train_acc"].mean()),
        "primary_weakness": primary,
        "constant_columns": stats["constant"],
        "sign_convention": "raw ρ = Spearman(measure, test_acc); oriented = sign·ρ with "
                           "flatness = −sharpness, simplicity = −complexity",
    }
    if row is None:
        rho, p, ci = 0.0, 1.0, None
        details["note"] = f"{primary} constant across networks (or too few networks): ρ undefined"
        verdict = "not_reproduced"
    else:
        rho, p = float(row["rho"]), float(row["p"])
        ci = [float(row["ci_lo"]), float(row["ci_hi"])]
        verdict = verdict_for(rho, p, (ci[0], ci[1]), PAPER_RHO[ds])
        if not all(np.isfinite(ci)):  # degenerate bootstrap (tiny smoke runs): no interval
            ci = None
        details.update(primary_p_holm=float(row["p_holm"]), primary_kendall=float(row["kendall_tau"]),
                       primary_partial_rho=float(row.get("partial_rho", np.nan)))
    if acc is not None:
        for label, measure in (("secondary_weakness", cfg["secondary_weakness"]),
                               ("primary_sharpness", cfg["primary_sharpness"]),
                               ("primary_simplicity", cfg["primary_simplicity"])):
            r = _lookup(acc, measure)
            if r is not None:
                details[label] = {"measure": measure, "rho_raw": r["rho"], "rho_oriented": r["rho_oriented"],
                                  "p": r["p"], "p_holm": r["p_holm"], "ci95_raw": [r["ci_lo"], r["ci_hi"]]}
        w2 = details.get("secondary_weakness")
        if w2 is not None:
            details["secondary_weakness"]["rule_outcome"] = verdict_for(
                w2["rho_raw"], w2["p"], tuple(w2["ci95_raw"]), PAPER_RHO[ds])
        sh, si = details.get("primary_sharpness"), details.get("primary_simplicity")
        if ds == "mnist":
            if sh is not None:
                sh["consistent_with_paper"] = bool(sh["rho_raw"] < 0 and sh["ci95_raw"][0] <= PAPER_SHARPNESS_RHO <= sh["ci95_raw"][1])
                sh["compared_with"] = "paper ρ = −0.226, RAW sign ρ(λ_max, test acc)"
            if si is not None:
                si["consistent_with_paper"] = bool(si["p"] >= 0.05)
                si["compared_with"] = "paper p = 0.848 (simplicity predicts nothing)"
        elif si is not None:
            si["consistent_with_paper"] = bool(si["rho_oriented"] > 0 and si["p"] < 0.05)
            si["compared_with"] = "paper: simplicity 'at least somewhat predictive' (oriented ρ > 0, p < 0.05)"
    claim = claim_from_registration(
        cfg["experiment"], CLAIM_IDS[ds], our_value=rho, ci95=ci, verdict=verdict,
        provenance=provenance, details=details, scale=scale,
    )
    return {"claim_id": claim.claim_id, "verdict": verdict, "rho": rho, "p": p, "ci95": ci,
            "details": details}


def paper_comparison(ds: str, stats: dict[str, Any], cfg: dict[str, Any]) -> pd.DataFrame:
    """Ours vs the paper, one row per family (primary measures), raw and oriented signs."""
    ds = canonical(ds)
    acc = stats["tables"].get("test_acc", pd.DataFrame(columns=["measure"]))
    paper = {
        "mnist": {"weakness": "ρ = +0.374, p = 0.00012", "sharpness": "ρ = −0.226",
                  "simplicity": "p = 0.848"},
        "fashion_mnist": {"weakness": "ρ = +0.384, p = 8.15e-5", "sharpness": "not reported",
                          "simplicity": "'at least somewhat predictive'"},
    }[ds]
    rows = []
    for fam, key in (("weakness", "primary_weakness"), ("weakness (secondary)", "secondary_weakness"),
                     ("sharpness", "primary_sharpness"), ("simplicity", "primary_simplicity")):
        m = cfg[key]
        r = _lookup(acc, m)
        rows.append({
            "family": fam, "measure": m, "paper": paper.get(fam.split(" ")[0], ""),
            "rho_raw": None if r is None else r["rho"],
            "rho_oriented": None if r is None else r["rho_oriented"],
            "p": None if r is None else r["p"], "p_holm": None if r is None else r["p_holm"],
            "ci_lo": None if r is None else r["ci_lo"], "ci_hi": None if r is None else r["ci_hi"],
        })
    return pd.DataFrame(rows)


def run(scale: str, *, dataset: str = "mnist", progress: bool = False) -> dict[str, Any]:
    """Compute what is missing, write the claim (B6 for MNIST, B7 for Fashion-MNIST), return
    ``frame`` (per network), ``stats`` (per-target correlation tables), ``comparison`` (ours vs
    paper), ``claim``, ``config``, ``wall``."""
    ds = canonical(dataset)
    cfg = config(ds, scale)
    table = compute(ds, scale, progress=progress)
    df = table.to_frame()
    stats = cached_statistics(table, cfg)
    prov = claim_provenance(table, cfg)
    claim = write_claim_file(ds, scale, cfg, df, stats, prov)
    return {"frame": df, "stats": stats, "comparison": paper_comparison(ds, stats, cfg),
            "claim": claim, "config": cfg, "wall": wall_time(table), "table": table}
