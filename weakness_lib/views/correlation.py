"""Correlation-type claims and the headline forest plot, read generically from claim files.

* :func:`is_correlation` — the rule for a *correlation-type* claim: its ``metric`` says the value is
  a Spearman ρ ("Spearman … between …") and ``our_value`` is a finite number in [−1, 1]. It reads
  only the claim file, so claims added later (a new chapter's) are picked up without code changes.
* :func:`paper_targets` — the numeric ρ targets the paper states in ``paper_value``, by family.
* :func:`forest_frame` / :func:`forest_plot` — every correlation estimate (the claim's own and the
  other estimators stored in its ``details``) with its CI and the paper's target.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from weakness_lib.core.claims import paper_words
from weakness_lib.views import names, style

FAMILIES = ("weakness", "sharpness", "simplicity", "pac-bayes")
FAMILY_NAMES = {"weakness": "weakness", "sharpness": "sharpness", "simplicity": "simplicity",
                "pac-bayes": "PAC-Bayes bound", "other": "other"}
_RHO_RE = re.compile(r"\bspearman\b|\bρ\b|\brho\b", re.IGNORECASE)
_TARGET_RE = re.compile(r"([A-Za-z-]+)\s+ρ\s*=\s*([+\-−]?\d*\.?\d+(?:e[+\-−]?\d+)?)")


def _number(text: str) -> float:
    return float(text.replace("−", "-"))


def is_correlation(claim: Mapping[str, Any]) -> bool:
    """True if the claim's value is a Spearman ρ: its ``metric`` starts with / names Spearman ρ
    and its value is a finite number in [−1, 1]."""
    metric = str(claim.get("metric", ""))
    value = claim.get("our_value")
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return False
    head = metric.split(" between ")[0] if " between " in metric else metric[:40]
    return bool(_RHO_RE.search(head)) and "spearman" in metric.lower() and -1 <= value <= 1


def family_of(text: str) -> str:
    """The estimator family a metric, measure or details key speaks of: the first family word
    (:data:`FAMILIES`), else by measure name (W1/W2 → weakness, λ_max/trace → sharpness,
    lzma/norms → simplicity)."""
    low = text.lower().replace("_", " ")
    hits = [(low.find(f), f) for f in FAMILIES if f in low]
    if hits:
        return min(hits)[1]
    if re.search(r"\bw[12]\b|entropy|mean a\b", low):
        return "weakness"
    if re.search(r"lambda|λ|trace|\bsam\b|asam", low):
        return "sharpness"
    if re.search(r"lzma|zlib|norm|spectral", low):
        return "simplicity"
    return "other"


def paper_targets(paper_value: str) -> dict[str, float]:
    """``{family: ρ}`` for every "<family> ρ = <number>" in a claim's ``paper_value``."""
    out: dict[str, float] = {}
    for word, num in _TARGET_RE.findall(paper_words(paper_value or "")):
        out.setdefault(family_of(word), _number(num))
    return out


def interval(ci: Any) -> tuple[float, float]:
    if isinstance(ci, (list, tuple)) and len(ci) == 2 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in ci):
        return float(ci[0]), float(ci[1])
    return math.nan, math.nan


def forest_frame(claims: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per correlation estimate: claim, family, label, estimate, CI and paper target.

    The claim's own value is its primary estimate; every ``details`` entry that carries
    ``rho_raw`` (the registered secondary estimators) adds a row of its family.
    """
    rows = []
    for c in claims:
        # a test of a thesis with no paper value (paper "ours", e.g. IV's partial ρ) has no target
        # to plot against; its chapter shows it
        if not is_correlation(c) or c.get("paper") == "ours":
            continue
        targets = paper_targets(str(c.get("paper_value", "")))
        details = c.get("details") or {}
        subject = str(c.get("metric", "")).split(" between ", 1)[-1]
        subject = re.split(r"\s\(|\sand\s", subject, maxsplit=1)[0].strip()
        fam = family_of(subject)
        if fam == "pac-bayes":  # ρ(bound, weakness): the paper gives no number
            name = "vs weakness"
        elif "primary" in subject and isinstance(details.get(f"primary_{fam}"), str):
            name = names.short(details[f"primary_{fam}"])  # "the primary weakness estimator"
        else:
            name = names.in_text(re.sub(r"^the\s+", "", subject), short=True)
        label = f"{FAMILY_NAMES.get(fam, fam)} ({name}, primary)" if fam != "pac-bayes" \
            else f"{FAMILY_NAMES[fam]} ({name})"
        lo, hi = interval(c.get("ci95"))
        rows.append({"claim": c["claim_id"], "family": fam, "label": label,
                     "estimate": float(c["our_value"]), "ci_lo": lo, "ci_hi": hi,
                     "target": targets.get(fam, math.nan), "verdict": c.get("verdict")})
        for key, d in details.items():
            if not isinstance(d, Mapping):
                continue
            rho = d.get("rho_raw", d.get("rho"))
            if not isinstance(rho, (int, float)) or isinstance(rho, bool) or not math.isfinite(rho):
                continue
            measure = names.short(str(d.get("measure", key)))
            if measure == name and math.isclose(rho, float(c["our_value"])):
                continue  # the claim's own estimate, repeated in its details
            fam_k = family_of(str(d.get("measure", ""))) if family_of(key) == "other" else family_of(key)
            lo, hi = interval(d.get("ci95_raw", d.get("ci95")))
            role = f"{measure}, secondary" if "secondary" in key else measure
            rows.append({"claim": c["claim_id"], "family": fam_k,
                         "label": f"{FAMILY_NAMES.get(fam_k, fam_k)} ({role})", "estimate": float(rho),
                         "ci_lo": lo, "ci_hi": hi, "target": targets.get(fam_k, math.nan),
                         "verdict": c.get("verdict")})
    return pd.DataFrame(rows, columns=["claim", "family", "label", "estimate", "ci_lo", "ci_hi",
                                       "target", "verdict"])


def forest_plot(frame: pd.DataFrame, width: float = 5.0):  # -> matplotlib Figure
    """Paper target (◆) against our estimate with its 95 % CI, one line per estimate.

    Narrower than the column (``width`` inches, two-line labels) so that the same PNG stays legible
    on a phone, where the browser shrinks it to the screen width.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    colours = dict(zip(FAMILIES + ("other",), sns.color_palette(style.PALETTE, 5), strict=True))
    n = max(1, len(frame))
    fig, ax = plt.subplots(figsize=(width, 1.5 + 0.46 * n))
    ys = list(range(n))[::-1]
    for y, (_, r) in zip(ys, frame.iterrows(), strict=False):
        col = colours[r["family"]]
        if math.isfinite(r["ci_lo"]):
            ax.plot([r["ci_lo"], r["ci_hi"]], [y, y], color=col, lw=2.2, solid_capstyle="butt")
        ax.plot(r["estimate"], y, "o", color=col, ms=7, label=FAMILY_NAMES.get(r["family"], r["family"]))
        if math.isfinite(r["target"]):
            ax.plot(r["target"], y, "D", mfc="white", mec="black", mew=1.4, ms=8,
                    label="paper target")
    ax.axvline(0, color="grey", lw=0.8)
    labels = []
    for r in frame.itertuples():
        fam, _, rest = r.label.partition(" (")
        labels.append(f"{r.claim} {fam}" + (f"\n{rest.removesuffix(')')}" if rest else ""))
    ax.set_yticks(ys, labels, fontsize=10.5)
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xlim(-1, 1)
    ax.set_xticks([-1, -0.5, 0, 0.5, 1], ["−1", "−0.5", "0", "0.5", "1"])
    ax.tick_params(axis="x", labelsize=10.5)
    ax.set_xlabel("Spearman ρ", fontsize=11)
    handles, names = ax.get_legend_handles_labels()
    uniq = dict(zip(names, handles, strict=True))
    ax.grid(axis="y", visible=False)
    fig.tight_layout(rect=(0, 0.75 / fig.get_size_inches()[1], 1, 1))
    fig.legend(uniq.values(), uniq.keys(), loc="lower center", ncol=min(3, len(uniq)),
               frameon=False, bbox_to_anchor=(0.5, 0), fontsize=10, handletextpad=0.3,
               columnspacing=1.0)
    return fig
