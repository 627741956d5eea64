"""Chapters 04/05, claims B6 (MNIST) and B7 (Fashion-MNIST): 100 networks differing only by seed.

Two registered studies share this module, ``head_to_head_mnist`` and ``head_to_head_fmnist``
(registry ``params={"dataset": ...}``); each has its pre-registration ``configs/<study>.yaml``.

Network i (i = 0…N−1, unit ``net<iii>``) is ``build_mlp(widths, seed=s)`` trained with batch order
``s``, where s = ``seed_base`` + i; data (stratified training subset, disjoint probe set U, curvature
batch) and every hyper-parameter are identical across networks.

Protocol (:mod:`weakness_lib.studies.base`):

``units(cfg)``
    one stage, ``net000`` … ``net<N−1>``.
``compute_unit(cfg, key, device="cpu")``
    trains network i from scratch and measures it: train/test loss and accuracy, test error and
    the gaps; every weakness estimator on U (:func:`bennett_common.weakness_measures`); every
    sharpness and simplicity measure on the fixed curvature batch
    (:func:`bennett_common.family_measures`); seed, steps, SHA-256 of the weights and wall times.
    Pure and, on the CPU under ``torch_threads`` threads, bit-for-bit deterministic.
``summarise(cfg, rows)``
    per target, the correlation table of every measure (:func:`statistics`: Spearman ρ raw and
    hypothesis-oriented, two-sided p, percentile-bootstrap 95 % CI, Holm p, Kendall τ, partial
    Spearman given the final training loss) as plain JSON (:func:`stats_to_json`).
``analyse(scale, dataset=...)``
    the stored rows, the stored summary (or :func:`statistics` in memory when it is absent or
    stale; nothing is written), the registered verdict and the paper comparison.
``claims(result)``
    the claim record B6 or B7.

Every paper value and threshold of the verdicts is read from the claim block of the study's YAML
(``target:`` and ``thresholds:``, via :func:`weakness_lib.studies.base.rule`).
"""

from __future__ import annotations

import functools
import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import DegenerateDataWarning
from torch import Tensor

from weakness_lib.bennett.stats import correlation_table
from weakness_lib.core.claims import Claim
from weakness_lib.studies import base, registry
from weakness_lib.studies.bennett_common import (
    family_measures,
    family_of,
    measure_families,
    orientation_of,
    performance,
    train_network,
    wall_time,
    weakness_measures,
)
from weakness_lib.studies.common import dataset, fixed_batch, split_for

#: where the runner may run units (see ``runner.execute_unit``). ``compute_unit`` trains and measures
#: on any ``device`` it is given, but the curvature measures of ``weakness_lib.bennett`` cross into
#: numpy/ARPACK without moving tensors back to the CPU, so "cuda" is listed only once they do.
DEVICES: tuple[str, ...] = ("cpu",)
#: readable dataset names (figure titles, prose)
DATASET_LABELS: dict[str, str] = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}
ALIASES: dict[str, str] = {"fmnist": "fashion_mnist", "fashion-mnist": "fashion_mnist"}
#: the targets correlated with every measure (``test_acc`` is the primary one)
TARGETS: tuple[str, ...] = ("test_acc", "test_err", "gap_acc", "gap_loss")
PRIMARY_TARGET = "test_acc"
#: the config keys naming the measures that the claim and the paper comparison report
ROLES: tuple[tuple[str, str], ...] = (
    ("weakness", "primary_weakness"), ("weakness (secondary)", "secondary_weakness"),
    ("sharpness", "primary_sharpness"), ("simplicity", "primary_simplicity"),
)
MIN_FOR_PARTIAL = 10  # partial Spearman given the train loss needs a few residual d.o.f.
SUMMARY_FORMAT = 1  # bump when the layout of the stored summary changes
SIGN_CONVENTION = ("raw ρ = Spearman(measure, test_acc); oriented = sign·ρ with "
                   "flatness = −sharpness, simplicity = −complexity")
_NON_MEASURES = {
    "key", "index", "seed", "epochs", "steps", "final_train_loss", "train_wall_s",
    "measure_wall_s", "weights_sha256", "train_loss", "train_acc", "test_loss", "test_acc",
    "test_err", "gap_acc", "gap_loss",
}
_TEXT_COLUMNS = ("target", "measure", "family")


# ---------------------------------------------------------------------------------------------
# Studies of this module (from the registry: one source)
# ---------------------------------------------------------------------------------------------
def studies() -> dict[str, str]:
    """``{dataset: study name}`` of the registered head-to-head studies."""
    return {s.params["dataset"]: s.name for s in registry.STUDIES.values() if s.module == __name__}


def canonical(name: str) -> str:
    """``mnist`` or ``fashion_mnist`` (aliases ``fmnist``, ``fashion-mnist`` accepted)."""
    name = ALIASES.get(name, name)
    if name not in studies():
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(studies())}")
    return name


def study_for(ds: str) -> str:
    """The registered study name of the head-to-head on ``ds``."""
    return studies()[canonical(ds)]


def claim_id(study: str) -> str:
    """The claim of a head-to-head study (B6 or B7)."""
    (cid,) = registry.get(study).claims
    return cid


def claim_rule(study: str) -> dict[str, Any]:
    """The registered claim block of ``study`` (prose, ``target`` and ``thresholds``)."""
    return base.rule(study, claim_id(study))


# ---------------------------------------------------------------------------------------------
# Units
# ---------------------------------------------------------------------------------------------
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

    def to(self, device: str) -> Context:
        """The same tensors on ``device`` (the object itself on the CPU: nothing is copied)."""
        if device == "cpu":
            return self
        return Context(**{k: getattr(self, k).to(device) for k in self.__dataclass_fields__})


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


def context(cfg: Mapping[str, Any]) -> Context:
    """The (CPU) data of the study of ``cfg``, loaded once per process."""
    return _context(cfg["dataset"], cfg["n_train"], cfg["n_probe"], cfg["split_seed"],
                    cfg["curvature_batch"], cfg["curvature_seed"], cfg["w2_probe"])


def network_key(i: int) -> str:
    return f"net{i:03d}"


def key_index(key: str) -> int:
    if not (key.startswith("net") and key[3:].isdigit()):
        raise ValueError(f"not a network key: {key!r} (expected e.g. 'net007')")
    return int(key[3:])


def units(cfg: Mapping[str, Any]) -> list[list[str]]:
    """One stage: one unit per network, ``net000`` … (independent, any order)."""
    return [[network_key(i) for i in range(int(cfg["n_networks"]))]]


def compute_unit(cfg: Mapping[str, Any], key: str, device: str = "cpu") -> dict[str, Any]:
    """Train network ``key`` (e.g. ``'net042'``) from scratch on ``device`` and measure it there.

    Pure (never writes the store) and, on the CPU, bit-for-bit deterministic under
    ``cfg["torch_threads"]`` threads; every value is a plain Python number or string.
    """
    i = key_index(key)
    if not 0 <= i < int(cfg["n_networks"]):
        raise ValueError(f"{key!r} is not a unit of {cfg['experiment']} "
                         f"({cfg['n_networks']} networks)")
    ctx = context(cfg).to(device)
    seed = int(cfg["seed_base"]) + i
    with base.threads(cfg["torch_threads"]):
        model, rec = train_network(ctx.X, ctx.y, cfg["widths"], cfg["train"], seed, device=device)
        t0 = time.perf_counter()
        row: dict[str, Any] = {"index": i, **rec}
        row.update(performance(model, ctx.X, ctx.y, ctx.Xt, ctx.yt))
        row.update(weakness_measures(model, ctx.probe_x, ctx.w2_x, cfg["taus"], cfg["deltas"]))
        row.update(family_measures(model, ctx.Xc, ctx.yc, cfg))
        row["measure_wall_s"] = time.perf_counter() - t0
    return row


# ---------------------------------------------------------------------------------------------
# Statistics (the summary)
# ---------------------------------------------------------------------------------------------
def frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Stored rows (each with its ``key``) as a data frame, one row per network."""
    return pd.DataFrame(list(rows))


def measure_columns(df: pd.DataFrame) -> list[str]:
    """Numeric measure columns of a results frame (everything but ids, targets and timings)."""
    extra = measure_families()
    return [c for c in df.columns
            if c not in _NON_MEASURES and not c.startswith("_")
            and pd.api.types.is_numeric_dtype(df[c]) and family_of(c, extra) is not None]


def statistics(df: pd.DataFrame, cfg: Mapping[str, Any]) -> dict[str, Any]:
    """Correlation tables (one per target) over every non-constant measure column.

    Each table has the raw ρ, p, Holm p, percentile bootstrap CI, Kendall τ, partial Spearman
    given the final training loss, the family and the hypothesis-oriented ρ (and CI).
    ``constant`` lists the measure columns left out (constant across networks, or missing).
    """
    extra = measure_families()
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


def _plain(v: Any) -> Any:
    """A JSON value: Python scalar, NaN/inf → ``None``."""
    if hasattr(v, "item") and not isinstance(v, str):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def stats_to_json(stats: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`statistics` as plain JSON: each table a dict of column lists, NaN as ``None``.

    Exact: :func:`stats_from_json` of its JSON round trip gives the same frames (values, column
    order and dtypes).
    """
    return {
        "format": SUMMARY_FORMAT,
        "tables": {target: {c: [_plain(v) for v in t[c].tolist()] for c in t.columns}
                   for target, t in stats["tables"].items()},
        "constant": list(stats["constant"]),
    }


def stats_from_json(data: Mapping[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`stats_to_json` (``None`` → NaN in numeric columns)."""
    tables = {}
    for target, cols in data["tables"].items():
        t = pd.DataFrame({c: list(v) for c, v in cols.items()})
        for c in t.columns:
            if c not in _TEXT_COLUMNS:
                t[c] = pd.to_numeric(t[c], errors="coerce")
        tables[target] = t
    return {"tables": tables, "constant": list(data["constant"])}


def summarise(cfg: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The expensive derived numbers (bootstrap correlation tables), as plain JSON; the runner
    computes them once after the units and stores them beside the table."""
    return stats_to_json(statistics(frame(rows), cfg))


def stored_statistics(table: Any) -> tuple[dict[str, Any], str]:
    """``(statistics, source)``: the stored summary of ``table`` when it matches its rows
    (``source="stored"``), else :func:`statistics` computed in memory (``"computed"``; not
    written — the runner stores summaries)."""
    summary = base.summary(table)
    if summary is not None and summary.get("format") == SUMMARY_FORMAT:
        return stats_from_json(summary), "stored"
    return statistics(table.to_frame(), table.config), "computed"


# ---------------------------------------------------------------------------------------------
# Verdict (registered rule; numbers from the claim block's target/thresholds)
# ---------------------------------------------------------------------------------------------
def _lookup(t: pd.DataFrame | None, measure: str) -> dict[str, Any] | None:
    if t is None:
        return None
    hit = t[t["measure"] == measure]
    return None if hit.empty else hit.iloc[0].to_dict()


def verdict_for(rho: float, p: float, ci: Sequence[float], rule: Mapping[str, Any]) -> str:
    """The pre-registered rule of B6/B7: ``not_reproduced`` unless ρ > 0; ``reproduced`` if also
    p < ``thresholds.p`` and the CI contains the paper's ρ (``target.weakness.rho``);
    ``partially_reproduced`` otherwise."""
    paper_rho = float(rule["target"]["weakness"]["rho"])
    alpha = float(rule["thresholds"]["p"])
    if not rho > 0:
        return "not_reproduced"
    if p < alpha and ci[0] <= paper_rho <= ci[1]:
        return "reproduced"
    return "partially_reproduced"


def sharpness_consistent(r: Mapping[str, Any], rule: Mapping[str, Any]) -> bool | None:
    """Secondary, reported: raw ρ has the sign of the paper's ρ and its CI contains it (``None``
    when the paper gives no sharpness ρ)."""
    paper = rule["target"].get("sharpness", {}).get("rho")
    if paper is None:
        return None
    lo, hi = r["ci95_raw"]
    return bool(np.sign(r["rho_raw"]) == np.sign(paper) and lo <= paper <= hi)


def simplicity_consistent(r: Mapping[str, Any], rule: Mapping[str, Any]) -> bool | None:
    """Secondary, reported: if the paper says simplicity is predictive, oriented ρ > 0 with
    p < ``thresholds.p``; if it says it predicts nothing, p ≥ ``thresholds.p``."""
    predictive = rule["target"].get("simplicity", {}).get("predictive")
    if predictive is None:
        return None
    alpha = float(rule["thresholds"]["p"])
    if predictive:
        return bool(r["rho_oriented"] > 0 and r["p"] < alpha)
    return bool(r["p"] >= alpha)


def _role_details(r: Mapping[str, Any], measure: str) -> dict[str, Any]:
    return {"measure": measure, "rho_raw": float(r["rho"]), "rho_oriented": float(r["rho_oriented"]),
            "p": float(r["p"]), "p_holm": float(r["p_holm"]),
            "ci95_raw": [float(r["ci_lo"]), float(r["ci_hi"])]}


def evaluate(cfg: Mapping[str, Any], df: pd.DataFrame, stats: Mapping[str, Any],
             rule: Mapping[str, Any]) -> dict[str, Any]:
    """Apply the registered rule: ``verdict``, ``our_value`` (ρ of the primary weakness with test
    accuracy), ``p``, ``ci95`` (``None`` if degenerate) and ``details`` (secondary measures)."""
    acc = stats["tables"].get(PRIMARY_TARGET)
    primary = cfg["primary_weakness"]
    row = _lookup(acc, primary)
    details: dict[str, Any] = {
        "n_networks": len(df),
        "test_acc_mean": float(df["test_acc"].mean()),
        "test_acc_sd": float(df["test_acc"].std(ddof=1)) if len(df) > 1 else None,
        "train_acc_mean": float(df["train_acc"].mean()),
        "primary_weakness": primary,
        "constant_columns": list(stats["constant"]),
        "sign_convention": SIGN_CONVENTION,
    }
    if row is None:
        rho, p, ci = 0.0, 1.0, None
        details["note"] = f"{primary} constant across networks (or too few networks): ρ undefined"
        verdict = "not_reproduced"
    else:
        rho, p = float(row["rho"]), float(row["p"])
        ci = [float(row["ci_lo"]), float(row["ci_hi"])]
        verdict = verdict_for(rho, p, ci, rule)
        if not all(np.isfinite(ci)):  # degenerate bootstrap (tiny smoke runs): no interval
            ci = None
        details.update(primary_p_holm=float(row["p_holm"]), primary_kendall=float(row["kendall_tau"]),
                       primary_partial_rho=float(row.get("partial_rho", np.nan)))
    target = rule["target"]
    for _, key in ROLES[1:]:
        r = _lookup(acc, cfg[key])
        if r is not None:
            details[key] = _role_details(r, cfg[key])
    w2 = details.get("secondary_weakness")
    if w2 is not None:
        w2["rule_outcome"] = verdict_for(w2["rho_raw"], w2["p"], w2["ci95_raw"], rule)
    for key, check, fam in (("primary_sharpness", sharpness_consistent, "sharpness"),
                            ("primary_simplicity", simplicity_consistent, "simplicity")):
        r = details.get(key)
        outcome = None if r is None else check(r, rule)
        if outcome is not None:
            r["consistent_with_paper"] = outcome
            r["compared_with"] = " ".join(str(target[fam]["compared_with"]).split())
    return {"verdict": verdict, "our_value": rho, "rho": rho, "p": p, "ci95": ci, "details": details}


def paper_comparison(cfg: Mapping[str, Any], stats: Mapping[str, Any],
                     rule: Mapping[str, Any]) -> pd.DataFrame:
    """Ours vs the paper, one row per family (primary measures), raw and oriented signs."""
    acc = stats["tables"].get(PRIMARY_TARGET)
    target = rule["target"]
    rows = []
    for fam, key in ROLES:
        m = cfg[key]
        r = _lookup(acc, m)
        paper = target.get(fam.split(" ")[0], {}).get("text", "")
        rows.append({
            "family": fam, "measure": m, "paper": paper,
            **{out: None if r is None else r[col] for out, col in (
                ("rho_raw", "rho"), ("rho_oriented", "rho_oriented"), ("p", "p"),
                ("p_holm", "p_holm"), ("ci_lo", "ci_lo"), ("ci_hi", "ci_hi"))},
        })
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# What the chapter shows, and the claim
# ---------------------------------------------------------------------------------------------
def analyse(scale: str, dataset: str = "mnist") -> dict[str, Any]:
    """Everything chapter 04 (MNIST) or 05 (Fashion-MNIST) shows, from the stored table only.

    Keys: ``study``, ``dataset``, ``dataset_label``, ``claim_id``, ``scale``, ``config``, ``rule``
    (the registered claim block), ``frame`` (per network), ``stats`` (per-target correlation
    tables, ``stats_source`` = "stored" | "computed"), ``comparison`` (ours vs paper), ``outcome``
    (verdict, our value, CI, details), ``wall`` and ``table``. Raises
    :class:`~weakness_lib.studies.base.MissingResults` when a network is not stored.
    """
    ds = canonical(dataset)
    study = study_for(ds)
    table = base.load_table(study, scale)
    cfg = table.config
    rule = claim_rule(study)
    df = table.to_frame()
    stats, source = stored_statistics(table)
    return {
        "study": study, "dataset": ds, "dataset_label": DATASET_LABELS.get(ds, ds),
        "claim_id": claim_id(study), "scale": scale, "config": cfg, "rule": rule,
        "frame": df, "stats": stats, "stats_source": source,
        "comparison": paper_comparison(cfg, stats, rule),
        "outcome": evaluate(cfg, df, stats, rule),
        "wall": wall_time(table), "table": table,
    }


def claims(result: Mapping[str, Any]) -> list[Claim]:
    """The claim record (B6 or B7) of an :func:`analyse` result (pure: the runner writes it)."""
    out = result["outcome"]
    return [base.registered_claim(
        result["study"], result["claim_id"], our_value=out["our_value"], ci95=out["ci95"],
        verdict=out["verdict"], provenance=base.provenance(result["table"]), details=out["details"],
    )]
