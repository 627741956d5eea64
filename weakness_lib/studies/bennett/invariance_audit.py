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

Study protocol (:mod:`weakness_lib.engine.base`): one stage of units ``"<mode>_a<α>"``. Each unit
trains the audited network from its seed (once per process, cached), rescales its float64 copy
and measures it; the row records the SHA-256 of the trained weights, so units computed on
different workers can be checked to share one network. CPU only (``device`` is accepted and
ignored), under ``torch_threads`` threads.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from weakness_lib.bennett.models import MLP
from weakness_lib.bennett.reparam import check_function_preserved, rescale_chain, rescale_layer
from weakness_lib.core.claims import Claim
from weakness_lib.core.config import settings_hash
from weakness_lib.engine import base
from weakness_lib.studies.bennett import settings
from weakness_lib.studies.bennett.common import LAMBDA_MAX_VERIFY, context
from weakness_lib.studies.bennett.networks import (
    DISCRETE_WEAKNESS_PREFIXES,
    family_measures,
    family_of,
    measure_families,
    performance,
    predictions_digest,
    train_network,
    wall_time,
    weakness_measures,
)

EXPERIMENT = "invariance_audit"
SETTINGS = settings.InvarianceAudit  # the typed settings of configs/<study>.yaml
NOTEBOOK = "02_invariance_audit.ipynb"
CLAIMS: tuple[str, ...] = ("B2",)
DEVICES: tuple[str, ...] = ("cpu",)  # where units can run (``device`` is ignored)
VERIFY = LAMBDA_MAX_VERIFY  # λ_max within lanczos_tol, its solver diagnostics reported

MODES: dict[str, Callable[[MLP, float], MLP]] = {
    "layer1": lambda m, a: rescale_layer(m, 1, a),
    "chain": rescale_chain,
}
VERDICT_SHARPNESS: tuple[str, ...] = ("lambda_max", "trace", "sam")
VERDICT_SIMPLICITY: tuple[str, ...] = ("lzma_bytes", "l2_norm", "log_spectral_sum", "path_norm")
_DIAGNOSTIC = {"lambda_max_residual", "trace_se", "n_hvp", "pacbayes_kl", "pacbayes_error_q",
               "pacbayes_hit_limit"}


# -- units ----------------------------------------------------------------------------------------
def row_key(mode: str, alpha: float) -> str:
    return f"{mode}_a{alpha:g}"


def parse_key(key: str) -> tuple[str, float]:
    mode, _, a = key.rpartition("_a")
    if mode not in MODES:
        raise ValueError(f"not an audit key: {key!r} (expected e.g. 'layer1_a0.1')")
    return mode, float(a)


def units(cfg: settings.InvarianceAudit | Mapping[str, Any]) -> list[list[str]]:
    """One stage: every mode × every α of the grid (α = 1 included, once per mode)."""
    cfg = base.typed(cfg)
    return [[row_key(m, a) for m in cfg.modes for a in cfg.alphas]]


def compute_unit(cfg: settings.InvarianceAudit | Mapping[str, Any], key: str,
                 device: str = "cpu") -> dict[str, Any]:
    """The row of ``key`` (e.g. ``'chain_a0.1'``) from scratch; CPU only, ``device`` is ignored.

    Pure: never writes the store. Deterministic bit for bit under ``cfg.torch_threads``
    (every number except ``*_wall_s`` timings).
    """
    del device  # CPU only
    mode, alpha = parse_key(key)
    return compute_row(base.typed(cfg), mode, alpha)


def data_for(cfg: settings.InvarianceAudit):
    """(X, y, Xc, yc, probe, w2_probe, Xtest, ytest) of the registered split (the head-to-head's
    data context, :func:`weakness_lib.studies.bennett.common.context`)."""
    c = context(cfg)
    return c.X, c.y, c.Xc, c.yc, c.probe_x, c.w2_x, c.Xt, c.yt


_NETWORKS: dict[str, tuple[MLP, dict[str, Any]]] = {}
_NETWORKS_LOCK = threading.Lock()


def trained_network(cfg: settings.InvarianceAudit) -> tuple[MLP, dict[str, Any]]:
    """The audited network (float32, as trained) and its training record; trained once per process
    (a deterministic function of the settings, so the cache never changes a result)."""
    key = settings_hash(cfg.config)
    with _NETWORKS_LOCK:
        if key not in _NETWORKS:
            X, y, *_ = data_for(cfg)
            with base.threads(cfg.torch_threads):
                _NETWORKS[key] = train_network(X, y, cfg.widths, cfg.train, cfg.seed)
        return _NETWORKS[key]


def compute_row(cfg: settings.InvarianceAudit, mode: str, alpha: float) -> dict[str, Any]:
    """Rescale the float64 copy of the trained network by T_α (``mode``) and measure everything."""
    model, rec = trained_network(cfg)
    X, y, Xc, yc, probe, w2_x, Xt, yt = data_for(cfg)
    with base.threads(cfg.torch_threads):
        t0 = time.perf_counter()
        net0 = copy.deepcopy(model).double()
        net = MODES[mode](net0, float(alpha))
        max_dlogit, agreement = check_function_preserved(net0, net, Xt.double())
        row: dict[str, Any] = {"mode": mode, "alpha": float(alpha),
                               "weights_sha256_trained": rec["weights_sha256"],
                               "max_dlogit": max_dlogit, "agreement": agreement,
                               "predictions_sha256": predictions_digest(net, Xt)}
        row.update(performance(net, X.double(), y, Xt.double(), yt))
        row.update(weakness_measures(net, probe, w2_x, cfg.taus, cfg.deltas))
        row.update(family_measures(net, Xc, yc, cfg, cfg.n_train))
        row["measure_wall_s"] = time.perf_counter() - t0
    return row


# -- analysis (stored rows only) ------------------------------------------------------------------
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


def audit_evidence(df: pd.DataFrame, summary: pd.DataFrame) -> dict[str, Any]:
    """The numbers the B2 rule is applied to, from the stored rows ``df`` and :func:`change_summary`.

    ``not_exact``: discrete weakness estimators / test accuracy / test arg-max predictions that
    are not bitwise identical to α = 1 somewhere; ``max_entropy_rel_diff`` (``None`` if entropy
    was not measured); ``max_dlogit``; ``sharpness_changes`` and ``simplicity_changes`` (largest
    change factor per verdict measure); ``min_agreement``.
    """
    s = summary.set_index("measure")
    discrete = [c for c in s.index if _is_discrete_weakness(c)] + ["test_acc"]
    broken = [c for c in discrete if not s.loc[c, "exact"]]
    if df["predictions_sha256"].nunique() != 1:
        broken.append("test arg-max predictions")
    entropy = float(s.loc["entropy_bits", "max_rel_diff"]) if "entropy_bits" in s.index else None
    return {"not_exact": broken, "max_entropy_rel_diff": entropy,
            "max_dlogit": float(df["max_dlogit"].max()),
            "sharpness_changes": {c: float(s.loc[c, "max_change"]) for c in VERDICT_SHARPNESS if c in s.index},
            "simplicity_changes": {c: float(s.loc[c, "max_change"]) for c in VERDICT_SIMPLICITY if c in s.index},
            "min_agreement": float(df["agreement"].min())}


def b2_checks(evidence: dict[str, Any], rule: dict[str, Any] | None = None) -> dict[str, Any]:
    """``evidence`` with the rule's checks (thresholds from ``configs/invariance_audit.yaml``)."""
    th = (rule or base.rule(EXPERIMENT, "B2"))["thresholds"]
    entropy = evidence["max_entropy_rel_diff"]
    entropy_ok = entropy is not None and bool(entropy <= th["entropy_rtol"])
    logits_ok = bool(evidence["max_dlogit"] < th["max_abs_dlogit"])
    sharp, simp = evidence["sharpness_changes"].values(), evidence["simplicity_changes"].values()
    return {"invariance_holds": not evidence["not_exact"] and entropy_ok and logits_ok,
            **evidence, "entropy_within_rtol": entropy_ok, "logits_within_tol": logits_ok,
            "sharpness_ge_factor": any(v >= th["change_factor"] for v in sharp),
            "simplicity_ge_factor": any(v >= th["change_factor"] for v in simp),
            "sharpness_ge_reported_factor": any(v >= th["reported_sharpness_factor"] for v in sharp),
            "thresholds": dict(th)}


def verdict_b2(evidence: dict[str, Any], rule: dict[str, Any] | None = None) -> str:
    """The registered B2 rule on :func:`audit_evidence` (thresholds from the registration YAML):
    (i) invariance (bitwise discrete measures, entropy within rtol, |Δlogit| below tolerance) and
    (ii) a change ≥ the factor in sharpness AND in simplicity; (ii) for one family: partial."""
    c = b2_checks(evidence, rule)
    if c["invariance_holds"] and c["sharpness_ge_factor"] and c["simplicity_ge_factor"]:
        return "reproduced"
    if c["invariance_holds"] and (c["sharpness_ge_factor"] or c["simplicity_ge_factor"]):
        return "partially_reproduced"
    return "not_reproduced"


def b2_facts(df: pd.DataFrame, summary: pd.DataFrame,
             rule: dict[str, Any] | None = None) -> dict[str, Any]:
    """Our value (largest sharpness change), verdict and details of claim B2."""
    rule = rule or base.rule(EXPERIMENT, "B2")
    evidence = audit_evidence(df, summary)
    sharp = evidence["sharpness_changes"]
    return {"our_value": max(sharp.values()) if sharp else 1.0, "ci95": None,
            "verdict": verdict_b2(evidence, rule), "facts": b2_checks(evidence, rule)}


def analyse(scale: str) -> dict[str, Any]:
    """Everything chapter 02 shows, from the stored table of ``scale`` (no computation, no writes):
    ``frame`` (per mode × α), ``factors`` (long), ``summary`` (per measure), ``tables`` (measures
    × α per mode), ``facts`` (the rule's evidence and checks), ``B2`` (our value, verdict),
    ``rule`` (the registration block), ``config``, ``wall`` and ``provenance``."""
    t = base.load_table(EXPERIMENT, scale)
    cfg, rule = base.typed(t.config), base.settings(EXPERIMENT, scale).rule("B2")  # the table's registration
    df = t.to_frame()
    factors = factor_table(df)
    summary = change_summary(factors)
    b2 = b2_facts(df, summary, rule)
    return {"frame": df, "factors": factors, "summary": summary,
            "tables": {m: wide_table(factors, m) for m in cfg.modes},
            "facts": b2["facts"], "verdict": b2["verdict"], "B2": b2,
            "rule": rule, "config": t.config, "settings": cfg, "wall": wall_time(t),
            "provenance": base.provenance(t)}


def claims(result: dict[str, Any]) -> list[Claim]:
    """Claim B2 from :func:`analyse` (verdict by the registered rule; not written here)."""
    b2 = result["B2"]
    details = {**b2["facts"], "summary": result["summary"].to_dict(orient="records")}
    return [base.registered_claim(EXPERIMENT, "B2", our_value=b2["our_value"], ci95=b2["ci95"],
                                  verdict=b2["verdict"], provenance=result["provenance"],
                                  details=details)]
