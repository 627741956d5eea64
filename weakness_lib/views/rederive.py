"""The appendix's numerics section: what pinning costs, and what re-deriving the store under it
moved, claim by claim. Reads ``benchmarks/results/numerics.json`` and ``rederive.json`` only."""

from __future__ import annotations

from typing import Any

import pandas as pd

from weakness_lib.views.bench import load_optional

#: reader's names of the benchmark's timings
TIMINGS = {"training_mlp784": "Training, 784-256-256-10 MLP",
           "training_lib": "Training, library train()",
           "curvature": "λ_max and trace",
           "gemm_float32": "Matrix product, float32",
           "gemm_float64": "Matrix product, float64"}
VERDICTS = {"reproduced": "reproduced", "partially_reproduced": "partially reproduced",
            "not_reproduced": "not reproduced"}


def _num(x: Any) -> str:
    """4 significant digits, thousands separators, a true minus sign."""
    if not isinstance(x, (int, float)):
        return "—"
    text = f"{x:,.0f}" if abs(x) >= 1e4 else f"{x:.4g}"
    return text.replace("-", "−")


def _rho(x: Any) -> str:
    return f"{x:+.3f}".replace("-", "−") if isinstance(x, (int, float)) else "—"


def cost_table(bench: dict[str, Any]) -> pd.DataFrame:
    """Per workload: pinned ÷ native (the key column, first), then the median seconds of each."""
    med, ratio = bench["results"]["median_s"], bench["results"]["pinned_over_native"]
    return pd.DataFrame([{"Workload": TIMINGS.get(k, k), "Pinned ÷ native": ratio[k],
                          "Native [s]": med["native"][k], "Pinned [s]": med["pinned"][k]}
                         for k in ratio])


def _change(c: dict[str, Any]) -> str:
    """How a claim's value changed: Δ for values within ±1 (correlations, fractions), else %."""
    if not c["rederived"]:
        return "pending"
    if not c["moved"]:
        return "none"
    b, a = (c["before"] or {}).get("value"), c["after"]["value"]
    if isinstance(b, (int, float)) and isinstance(a, (int, float)):
        if max(abs(a), abs(b)) <= 1:
            return f"Δ = {a - b:+.3f}".replace("-", "−")
        if b:
            return f"{(a - b) / abs(b):+.1%}".replace("-", "−")
    return "moved"


def verdict_words(c: dict[str, Any]) -> str:
    """A compared claim's verdict in words, "before → after" where it changed."""
    before, after = c["before"] or {}, c["after"]
    verdict = VERDICTS.get(after["verdict"], after["verdict"])
    if c["verdict_changed"]:
        verdict = f"{VERDICTS.get(before.get('verdict'), before.get('verdict'))} → {verdict}"
    return verdict


def claims_table(record: dict[str, Any]) -> pd.DataFrame:
    """Every claim: value under native dispatch and under pinned numerics, verdict, change."""
    rows = []
    for c in record["claims"]:
        before, after, verdict = c["before"] or {}, c["after"], verdict_words(c)
        rows.append({"Claim": c["claim_id"], "Native": _num(before.get("value")),
                     "Pinned": _num(after["value"]) if c["rederived"] else "—",
                     "Verdict": verdict, "Change": _change(c)})
    return pd.DataFrame(rows)


def summary(record: dict[str, Any]) -> dict[str, Any]:
    """Numbers for the prose (glued): studies re-derived, measured time, claims moved."""
    claims = record["claims"]
    done = [c for c in claims if c["rederived"]]
    return {"n_studies": len(record["studies"]), "n_rederived": len(record["rederived"]),
            "pending": record["pending"], "measured_min": record["measured_wall_s"] / 60,
            "end_to_end_min": record.get("end_to_end_wall_s", record["measured_wall_s"]) / 60,
            "complete": bool(record.get("complete")),
            "cpu": sorted({g.get("cpu", "?") for g in record["groups"]}),
            "n_claims": len(claims), "n_claims_rederived": len(done),
            "pending_claims": [c["claim_id"] for c in claims if not c["rederived"]],
            "moved": [c["claim_id"] for c in done if c["moved"]],
            "verdicts_changed": [c["claim_id"] for c in claims if c["verdict_changed"]],
            "beyond_ci": beyond_ci(done), "twin_test_acc": twin_range(record)}


def beyond_ci(claims: list[dict[str, Any]]) -> dict[str, float]:
    """``{claim: change}`` for each claim whose value moved by more than the half-width of its
    95 % CI before the re-derivation (a move the sampling error of one population does not cover)."""
    out = {}
    for c in claims:
        b, a = c["before"] or {}, c["after"]
        ci, v0, v1 = b.get("ci95"), b.get("value"), a.get("value")
        if ci and v0 is not None and v1 is not None and abs(v1 - v0) > (ci[1] - ci[0]) / 2:
            out[c["claim_id"]] = v1 - v0
    return out


def twin_range(record: dict[str, Any]) -> tuple[float, float] | None:
    """The lowest and highest rank correlation, over the re-derived populations, between each
    network's test accuracy and its native-dispatch twin's (same seed, same code)."""
    values = [t["test_acc"] for t in record.get("twin_agreement", {}).values() if "test_acc" in t]
    return (min(values), max(values)) if values else None


def secondary_before(record: dict[str, Any], claim_id: str) -> dict[str, float]:
    """A claim's secondary weakness estimator (ρ, p) under native dispatch, before re-derivation."""
    c = next(c for c in record["claims"] if c["claim_id"] == claim_id)
    sec = (c["before"] or {}).get("secondary_weakness") or {}
    return {"rho": float(sec.get("rho_raw", float("nan"))), "p": float(sec.get("p", float("nan")))}


def stability_note(record: dict[str, Any], claim_ids: list[str], study: str, label: str) -> str:
    """Markdown: the same registered tests before and after re-derivation, and how closely each
    re-derived network agrees with its native-dispatch twin (``study``'s test accuracy; ``label``
    names that population for readers)."""
    parts = []
    for cid in claim_ids:
        c = next(c for c in record["claims"] if c["claim_id"] == cid)
        b, a = c["before"] or {}, c["after"]
        parts.append(f"{cid} ρ = {_rho(b.get('value'))} ({VERDICTS.get(b.get('verdict'), '—')}) → "
                     f"{_rho(a['value'])} ({VERDICTS.get(a['verdict'], a['verdict'])})")
    twin = record.get("twin_agreement", {}).get(study, {})
    agree = (f" A re-derived network's test accuracy ranks with its twin's at only ρ = "
             f"{twin['test_acc']:.2f} (W2: {twin.get('w2', float('nan')):.2f}) in {label}."
             if "test_acc" in twin else "")
    return ("**The same registered tests, computed twice.** Before the store was re-derived under "
            "pinned numerics (same seeds, same code, the vendor's CPU kernels), W2's ρ and verdict "
            f"were: {'; '.join(parts)} (before → after).{agree} Training at this learning rate is "
            "chaotic: a last-bit difference in one product early on ends in a different network, so "
            "a population of 100 seed-only networks is, in part, a fresh sample each time it is "
            "recomputed, and its verdict can flip, as here. The pinned store's verdicts are "
            "the book's because anyone can re-check them bit for bit; the flip itself is a result.")


def load() -> tuple[dict | None, dict | None]:
    """``(numerics benchmark, re-derivation record)``; either may be missing (``None``)."""
    return load_optional("numerics"), load_optional("rederive")
