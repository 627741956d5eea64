"""The head-to-head statistics: per measure and target, Spearman ρ (raw and hypothesis-oriented),
two-sided p, Holm-adjusted p, percentile-bootstrap 95 % CI, Kendall τ and the partial Spearman given
the final training loss (:func:`weakness_lib.bennett.stats.correlation_table`), computed once by the
runner as the study's summary (:func:`summarise`) and stored as exact JSON (NaN ↔ null).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import DegenerateDataWarning

from weakness_lib.bennett.stats import correlation_table
from weakness_lib.engine import base
from weakness_lib.studies.bennett.networks import (
    family_of,
    measure_families,
    orientation_of,
)
from weakness_lib.studies.bennett.settings import Population

#: the targets correlated with every measure (``test_acc`` is the primary one)
TARGETS: tuple[str, ...] = ("test_acc", "test_err", "gap_acc", "gap_loss")


PRIMARY_TARGET = "test_acc"


MIN_FOR_PARTIAL = 10  # partial Spearman given the train loss needs a few residual d.o.f.


SUMMARY_FORMAT = 1  # bump when the layout of the stored summary changes


_NON_MEASURES = {
    "key", "index", "seed", "epochs", "steps", "final_train_loss", "train_wall_s",
    "measure_wall_s", "weights_sha256", "train_loss", "train_acc", "test_loss", "test_acc",
    "test_err", "gap_acc", "gap_loss",
}


_TEXT_COLUMNS = ("target", "measure", "family")


def frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Stored rows (each with its ``key``) as a data frame, one row per network."""
    return pd.DataFrame(list(rows))


def measure_columns(df: pd.DataFrame) -> list[str]:
    """Numeric measure columns of a results frame (everything but ids, targets and timings)."""
    extra = measure_families()
    return [c for c in df.columns
            if c not in _NON_MEASURES and not c.startswith("_")
            and pd.api.types.is_numeric_dtype(df[c]) and family_of(c, extra) is not None]


def statistics(df: pd.DataFrame, cfg: Population) -> dict[str, Any]:
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
                n_resamples=cfg.bootstrap_resamples, seed=cfg.bootstrap_seed,
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


def summarise(cfg: Population | Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The expensive derived numbers (bootstrap correlation tables), as plain JSON; the runner
    computes them once after the units and stores them beside the table."""
    return stats_to_json(statistics(frame(rows), base.typed(cfg)))


def stored_statistics(table: Any) -> tuple[dict[str, Any], str]:
    """``(statistics, source)``: the stored summary of ``table`` when it matches its rows
    (``source="stored"``), else :func:`statistics` computed in memory (``"computed"``; not
    written — the runner stores summaries)."""
    summary = base.summary(table)
    if summary is not None and summary.get("format") == SUMMARY_FORMAT:
        return stats_from_json(summary), "stored"
    return statistics(table.to_frame(), base.typed(table.config)), "computed"
