"""Chapter 02, claim B2: which measures survive a function-preserving (Dinh) rescaling?

One MNIST MLP is trained (``configs/invariance_audit.yaml``), cast to float64, and rescaled by
T_α for every α of the grid and every mode (``layer1``: (W₁, b₁) ← α(W₁, b₁), W₂ ← W₂/α;
``chain``: hidden layer ℓ's output multiplied by α^ℓ; see :mod:`weakness_lib.bennett.reparam`). Each
rescaled network f' computes the same function as f up to float64 round-off, so any measure
defined over what the network *does* must be unchanged, while parameter-space measures may move.

Per (mode, α) we store every weakness estimator (W1 at each τ and δ, mean |A|, |A| = 1 fraction,
entropy, W2 and its vertical-flip control), every sharpness and simplicity measure of
:func:`weakness_lib.bennett.measures.measure_table` on a fixed float64 curvature batch, the test
accuracy and loss, the SHA-256 of the 10,000 test arg-max predictions, their agreement with α = 1
and max |Δlogit|. The change factor of a measure v is

    factor(α) = v(α) / v(1),   change = max_α max(|factor|, 1/|factor|)   (1 = unchanged),

and a measure is *exactly invariant* when v(α) and v(1) are bitwise-equal floats at every α.
"""

from __future__ import annotations

import copy
import functools
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from weakness_lib.bennett.models import MLP
from weakness_lib.bennett.reparam import check_function_preserved, rescale_chain, rescale_layer
from weakness_lib.core.config import experiment_config
from weakness_lib.core.store import ResultsStore, Table
from weakness_lib.studies.bennett_common import (
    DISCRETE_WEAKNESS_PREFIXES,
    claim_provenance,
    family_measures,
    family_of,
    measure_families,
    performance,
    predictions_digest,
    threads,
    train_network,
    wall_time,
    weakness_measures,
)
from weakness_lib.studies.common import claim_from_registration, dataset, fixed_batch, split_for

EXPERIMENT = "invariance_audit"
NOTEBOOK = "02_invariance_audit.ipynb"
CLAIMS: tuple[str, ...] = ("B2",)

MODES: dict[str, Callable[[MLP, float], MLP]] = {
    "layer1": lambda m, a: rescale_layer(m, 1, a),
    "chain": rescale_chain,
}
VERDICT_SHARPNESS: tuple[str, ...] = ("lambda_max", "trace", "sam")
VERDICT_SIMPLICITY: tuple[str, ...] = ("lzma_bytes", "l2_norm", "log_spectral_sum", "path_norm")
ENTROPY_RTOL = 1e-9
LOGIT_TOL = 1e-10
_DIAGNOSTIC = {"lambda_max_residual", "trace_se", "n_hvp", "pacbayes_kl", "pacbayes_error_q",
               "pacbayes_hit_limit"}


def config(scale: str) -> dict[str, Any]:
    return experiment_config(EXPERIMENT, scale)


def table_for(scale: str) -> Table:
    cfg = config(scale)
    return ResultsStore(scale).table(EXPERIMENT, cfg)


def row_key(mode: str, alpha: float) -> str:
    return f"{mode}_a{alpha:g}"


def parse_key(key: str) -> tuple[str, float]:
    mode, _, a = key.rpartition("_a")
    if mode not in MODES:
        raise ValueError(f"not an audit key: {key!r} (expected e.g. 'layer1_a0.1')")
    return mode, float(a)


@functools.lru_cache(maxsize=2)
def _data(ds: str, n_train: int, n_probe: int, split_seed: int, curvature_batch: int,
          curvature_seed: int, w2_probe: int):
    data = dataset(ds)
    split = split_for(data, n_train, n_probe, split_seed)
    X, y = data.train_x[split.train], data.train_y[split.train]
    c = fixed_batch(len(split.train), curvature_batch, curvature_seed)
    probe = data.train_x[split.probe]
    w2 = fixed_batch(len(split.probe), w2_probe, split_seed)
    return X, y, X[c], y[c], probe, probe[w2], data.test_x, data.test_y


def data_for(cfg: dict[str, Any]):
    """(X, y, Xc, yc, probe, w2_probe, Xtest, ytest) of the registered split."""
    return _data(cfg["dataset"], cfg["n_train"], cfg["n_probe"], cfg["split_seed"],
                 cfg["curvature_batch"], cfg["curvature_seed"], cfg["w2_probe"])


_NETWORKS: dict[str, tuple[MLP, dict[str, Any]]] = {}


def trained_network(cfg: dict[str, Any]) -> tuple[MLP, dict[str, Any]]:
    """The audited network (float32, as trained) and its training record; trained once per process."""
    from weakness_lib.core.store import config_hash

    key = config_hash(cfg)
    if key not in _NETWORKS:
        X, y, *_ = data_for(cfg)
        with threads(cfg["torch_threads"]):
            _NETWORKS[key] = train_network(X, y, cfg["widths"], cfg["train"], cfg["seed"])
    return _NETWORKS[key]


def compute_row(cfg: dict[str, Any], mode: str, alpha: float) -> dict[str, Any]:
    """Rescale the float64 copy of the trained network by T_α (``mode``) and measure everything."""
    model, rec = trained_network(cfg)
    X, y, Xc, yc, probe, w2_x, Xt, yt = data_for(cfg)
    with threads(cfg["torch_threads"]):
        t0 = time.perf_counter()
        base = copy.deepcopy(model).double()
        net = MODES[mode](base, float(alpha))
        max_dlogit, agreement = check_function_preserved(base, net, Xt.double())
        row: dict[str, Any] = {"mode": mode, "alpha": float(alpha),
                               "weights_sha256_trained": rec["weights_sha256"],
                               "max_dlogit": max_dlogit, "agreement": agreement,
                               "predictions_sha256": predictions_digest(net, Xt)}
        row.update(performance(net, X.double(), y, Xt.double(), yt))
        row.update(weakness_measures(net, probe, w2_x, cfg["taus"], cfg["deltas"]))
        row.update(family_measures(net, Xc, yc, cfg))
        row["measure_wall_s"] = time.perf_counter() - t0
    return row


def retrain_and_measure(scale: str, key: str) -> dict[str, Any]:
    """Recompute stored row ``key`` (e.g. ``'chain_a0.1'``) from scratch (re-training the network);
    every number except ``*_wall_s`` / ``_finished`` must match bit for bit."""
    mode, alpha = parse_key(key)
    cfg = config(scale)
    _NETWORKS.clear()
    return compute_row(cfg, mode, alpha)


def compute(scale: str, progress: bool = False) -> Table:
    cfg = config(scale)
    table = ResultsStore(scale).table(EXPERIMENT, cfg)
    from tqdm import tqdm

    units = [(m, a) for m in cfg["modes"] for a in cfg["alphas"]]
    for mode, alpha in tqdm(units, disable=not progress, desc=EXPERIMENT):
        table.get_or_compute(row_key(mode, alpha), lambda m=mode, a=alpha: compute_row(cfg, m, a))
    return table


def audited_columns(df: pd.DataFrame) -> list[str]:
    """Measure columns to audit: weakness, sharpness, simplicity, control, and test accuracy/loss."""
    extra = measure_families()
    cols = [c for c in df.columns if c not in _DIAGNOSTIC and not c.endswith("_wall_s")
            and not c.startswith("_") and pd.api.types.is_numeric_dtype(df[c])
            and family_of(c, extra) is not None]
    return cols + ["test_acc", "test_loss", "train_acc", "train_loss"]


def _family(col: str) -> str:
    if col in ("test_acc", "test_loss", "train_acc", "train_loss"):
        return "performance"
    return family_of(col, measure_families()) or "other"


def factor_table(df: pd.DataFrame) -> pd.DataFrame:
    """Long table: one row per (measure, mode, α) with the value and factor v(α)/v(1)."""
    rows = []
    for mode, g in df.groupby("mode"):
        ref = g[g["alpha"] == 1.0]
        if ref.empty:
            continue
        ref = ref.iloc[0]
        for col in audited_columns(df):
            v1 = float(ref[col])
            for _, r in g.sort_values("alpha").iterrows():
                v = float(r[col])
                factor = v / v1 if v1 != 0 else (1.0 if v == 0 else math.inf)
                rows.append({"measure": col, "family": _family(col), "mode": mode,
                             "alpha": float(r["alpha"]), "value": v, "factor": factor,
                             "identical": v == v1})
    return pd.DataFrame(rows)


def change_summary(factors: pd.DataFrame) -> pd.DataFrame:
    """Per measure: exactly invariant (bitwise, all α and modes)? largest change factor, per mode."""
    out = []
    for col, g in factors.groupby("measure", sort=False):
        f = g["factor"].abs().replace(0.0, np.nan)
        change = float(np.nanmax(np.maximum(f, 1.0 / f))) if f.notna().any() else math.inf
        row = {"measure": col, "family": g["family"].iloc[0], "exact": bool(g["identical"].all()),
               "max_change": change, "max_rel_diff": float((g["factor"] - 1.0).abs().max())}
        for mode, gm in g.groupby("mode"):
            fm = gm["factor"].abs().replace(0.0, np.nan)
            row[f"change_{mode}"] = float(np.nanmax(np.maximum(fm, 1.0 / fm))) if fm.notna().any() else math.inf
        out.append(row)
    return pd.DataFrame(out)


def wide_table(factors: pd.DataFrame, mode: str) -> pd.DataFrame:
    """Measures × α table of factors v(α)/v(1) for one mode (the chapter's main table)."""
    g = factors[factors["mode"] == mode]
    return g.pivot_table(index=["family", "measure"], columns="alpha", values="factor", sort=False)


def _is_discrete_weakness(col: str) -> bool:
    return col.startswith(DISCRETE_WEAKNESS_PREFIXES)


def verdict_for(df: pd.DataFrame, summary: pd.DataFrame) -> tuple[str, dict[str, Any]]:
    """The pre-registered B2 rule (configs/invariance_audit.yaml)."""
    s = summary.set_index("measure")
    discrete = [c for c in s.index if _is_discrete_weakness(c)] + ["test_acc"]
    broken = [c for c in discrete if not s.loc[c, "exact"]]
    if df["predictions_sha256"].nunique() != 1:
        broken.append("test arg-max predictions")
    entropy_ok = bool(s.loc["entropy_bits", "max_rel_diff"] <= ENTROPY_RTOL) if "entropy_bits" in s.index else False
    logits_ok = bool(df["max_dlogit"].max() < LOGIT_TOL)
    invariance = not broken and entropy_ok and logits_ok
    sharp = {c: float(s.loc[c, "max_change"]) for c in VERDICT_SHARPNESS if c in s.index}
    simp = {c: float(s.loc[c, "max_change"]) for c in VERDICT_SIMPLICITY if c in s.index}
    sharp_ok = any(v >= 10 for v in sharp.values())
    simp_ok = any(v >= 10 for v in simp.values())
    facts = {"invariance_holds": invariance, "not_exact": broken, "entropy_within_1e-9": entropy_ok,
             "max_dlogit": float(df["max_dlogit"].max()), "logits_within_1e-10": logits_ok,
             "sharpness_changes": sharp, "simplicity_changes": simp,
             "sharpness_ge_10x": sharp_ok, "simplicity_ge_10x": simp_ok,
             "sharpness_ge_100x": any(v >= 100 for v in sharp.values()),
             "min_agreement": float(df["agreement"].min())}
    if invariance and sharp_ok and simp_ok:
        return "reproduced", facts
    if invariance and (sharp_ok or simp_ok):
        return "partially_reproduced", facts
    return "not_reproduced", facts


def run(scale: str, *, progress: bool = False) -> dict[str, Any]:
    """Compute what is missing, write claim B2, return ``frame`` (per mode × α), ``factors``
    (long), ``summary`` (per measure), ``tables`` (measures × α per mode), ``claim``, ``wall``."""
    cfg = config(scale)
    table = compute(scale, progress=progress)
    df = table.to_frame()
    factors = factor_table(df)
    summary = change_summary(factors)
    verdict, facts = verdict_for(df, summary)
    prov = claim_provenance(table, cfg)
    our = max(facts["sharpness_changes"].values()) if facts["sharpness_changes"] else 1.0
    claim = claim_from_registration(
        EXPERIMENT, "B2", our_value=our, ci95=None, verdict=verdict, provenance=prov,
        details={**facts, "summary": summary.to_dict(orient="records")}, scale=scale)
    return {"frame": df, "factors": factors, "summary": summary,
            "tables": {m: wide_table(factors, m) for m in cfg["modes"]}, "claim": claim,
            "verdict": verdict, "facts": facts, "config": cfg, "wall": wall_time(table),
            "table": table}
