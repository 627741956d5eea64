"""The verdict of claim B1 (chapter 01) by the registered rule of ``configs/reparameterisation.yaml``:
:func:`verdict_b1` from the evidence, :func:`b1_facts` (our value, verdict, details) from the
ratio table of :func:`weakness_lib.studies.bennett.reparameterisation.ratio_table`."""

from __future__ import annotations

from typing import Any

import pandas as pd

from weakness_lib.engine import base


def verdict_b1(evidence: dict[str, Any], rule: dict[str, Any] | None = None) -> str:
    """The registered B1 rule (``configs/reparameterisation.yaml``, thresholds read from there).

    ``evidence``: ``predictions_changed`` (summed over all rescalings), ``max_abs_dlogit`` (max
    over all rescalings) and ``max_inflation`` (largest λ_max ratio to α = 1).
    """
    th = (rule or base.rule("reparameterisation", "B1"))["thresholds"]
    preserved = (evidence["predictions_changed"] <= th["max_predictions_changed"]
                 and evidence["max_abs_dlogit"] < th["max_abs_dlogit"])
    ratio = evidence["max_inflation"]
    if preserved and ratio >= th["inflation_reproduced"]:
        return "reproduced"
    if preserved and ratio >= th["inflation_partial"]:
        return "partially_reproduced"
    return "not_reproduced"


def b1_facts(frame: pd.DataFrame, rule: dict[str, Any] | None = None) -> dict[str, Any]:
    """Our value, verdict and details of claim B1 from :func:`ratio_table`."""
    best = frame.loc[frame["lambda_max_ratio"].idxmax()]
    details = {
        "best_mode": str(best["mode"]), "best_alpha": float(best["alpha"]),
        "best_trace_ratio": float(best["trace_ratio"]),
        "predictions_changed": int(frame["n_changed"].sum()),
        "max_abs_dlogit": float(frame["max_abs_dlogit"].max()),
        "lambda_max_ratio_by_rescaling": {
            f"{m}@{a:g}": round(float(r), 2)
            for m, a, r in zip(frame["mode"], frame["alpha"], frame["lambda_max_ratio"])},
    }
    our = float(best["lambda_max_ratio"])
    evidence = {"predictions_changed": details["predictions_changed"],
                "max_abs_dlogit": details["max_abs_dlogit"], "max_inflation": our}
    return {"our_value": our, "ci95": None, "verdict": verdict_b1(evidence, rule), "details": details}
