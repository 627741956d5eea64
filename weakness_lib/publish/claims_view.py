"""What the scorecard and the landing page show, read generically from the claim files.

Nothing here knows a claim by its id: a claim file added later (a new chapter's claims) appears in
the compact table, the verdict counts and — when it is a correlation — the headline forest plot.

* :func:`is_correlation` — the rule for a *correlation-type* claim: its ``metric`` says the value is
  a Spearman ρ and ``our_value`` lies in [−1, 1].
* :func:`paper_targets` — the numeric ρ targets the paper states in ``paper_value``, by family.
* :func:`forest_frame` / :func:`forest_plot` — every correlation estimate (the claim's own and the
  registered secondary estimators stored in its ``details``) with its CI and the paper's target.
* :func:`metric_unit`, :func:`compact_table`, :func:`wall_time`, :func:`provenance_text` — the
  scorecard's one-line-per-claim table and its provenance, from one provenance format.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from weakness_lib.publish import style

BADGE = {"reproduced": "✅ reproduced", "partially_reproduced": "🟡 partially",
         "not_reproduced": "❌ not reproduced"}
PAPERS = {"bennett2026": "Bennett 2026", "wen2023": "Wen, Li & Ma 2023"}
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
    """The estimator family a metric or details key speaks of (first match of :data:`FAMILIES`)."""
    low = text.lower().replace("_", " ")
    hits = [(low.find(f), f) for f in FAMILIES if f in low]
    return min(hits)[1] if hits else "other"


def pretty_measure(name: str) -> str:
    """A stored measure column as a reader writes it: ``lambda_max`` → λ_max, ``w1_tau0.01`` →
    W1 τ=0.01, ``lzma_bytes`` → lzma bytes."""
    name = re.sub(r"^w(\d)\b", lambda m: f"W{m.group(1)}", name)
    name = re.sub(r"^w(\d)_tau", lambda m: f"W{m.group(1)} τ=", name)
    name = re.sub(r"^w(\d)_delta", lambda m: f"W{m.group(1)} δ=", name)
    return name.replace("_", " ").replace("lambda max", "λmax")


def paper_targets(paper_value: str) -> dict[str, float]:
    """``{family: ρ}`` for every "<family> ρ = <number>" in a claim's ``paper_value``."""
    out: dict[str, float] = {}
    for word, num in _TARGET_RE.findall(paper_value or ""):
        out.setdefault(family_of(word), _number(num))
    return out


def _ci(ci: Any) -> tuple[float, float]:
    if isinstance(ci, (list, tuple)) and len(ci) == 2 and all(isinstance(v, (int, float)) for v in ci):
        return float(ci[0]), float(ci[1])
    return math.nan, math.nan


def forest_frame(claims: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per correlation estimate: claim, family, label, estimate, CI and paper target.

    The claim's own value is its primary estimate; every ``details`` entry that carries
    ``rho_raw`` (the registered secondary estimators) adds a row of its family.
    """
    rows = []
    for c in claims:
        if not is_correlation(c):
            continue
        targets = paper_targets(str(c.get("paper_value", "")))
        metric = str(c.get("metric", ""))
        subject = metric.split(" between ", 1)[-1]
        fam = family_of(subject)
        if fam == "pac-bayes":  # ρ(bound, weakness): the paper gives no number
            label = "PAC-Bayes bound (vs weakness)"
        else:
            primary = (c.get("details") or {}).get(f"primary_{fam}")
            label = f"{fam} ({pretty_measure(primary)}, primary)" if isinstance(primary, str) \
                else f"{fam} (primary)"
        lo, hi = _ci(c.get("ci95"))
        rows.append({"claim": c["claim_id"], "family": fam, "label": label,
                     "estimate": float(c["our_value"]), "ci_lo": lo, "ci_hi": hi,
                     "target": targets.get(fam, math.nan), "verdict": c.get("verdict")})
        for key, d in (c.get("details") or {}).items():
            if not (isinstance(d, Mapping) and isinstance(d.get("rho_raw"), (int, float))):
                continue
            fam_k = family_of(key)
            lo, hi = _ci(d.get("ci95_raw"))
            measure = pretty_measure(str(d.get("measure", key)))
            role = f"{measure}, secondary" if "secondary" in key else measure
            rows.append({"claim": c["claim_id"], "family": fam_k,
                         "label": f"{fam_k} ({role})", "estimate": float(d["rho_raw"]),
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
        labels.append(f"{r.claim} {fam}" + (f"\n{rest.rstrip(')')}" if rest else ""))
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


def verdict_counts(claims: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Number of claims per verdict (all three verdicts present, possibly 0)."""
    counts = dict.fromkeys(BADGE, 0)
    for c in claims:
        counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
    return counts


# ---------------------------------------------------------------------------------------------
# The compact scorecard
# ---------------------------------------------------------------------------------------------
#: (pattern in the metric, short name, unit) — first match wins; the fallback is the metric's
#: first words and no unit
_METRICS: tuple[tuple[str, str, str], ...] = (
    (r"percentage points", "small − large batch advantage at the largest n", "pp"),
    (r"inflation", "largest λ_max inflation", "×"),
    (r"change factor", "largest sharpness change factor", "×"),
    (r"^fraction of", "fraction of checks that hold", "share"),
    (r"accuracy .* minus", "test-accuracy gap", "accuracy"),
    (r"test accuracy", "test accuracy", "accuracy"),
)


def metric_unit(claim: Mapping[str, Any]) -> tuple[str, str]:
    """(short metric name, unit) of a claim's value, from its ``metric`` text."""
    metric = str(claim.get("metric", ""))
    if is_correlation(claim):
        subject = metric.split(" between ", 1)[-1].split("(")[0].split(",")[0].strip()
        subject = re.sub(r"^the\s+|\s+estimator$", "", subject)
        return f"Spearman ρ, {subject[:40]}", "ρ"
    for pattern, name, unit in _METRICS:
        if re.search(pattern, metric, re.IGNORECASE):
            return name, unit
    words = metric.split()
    return " ".join(words[:6]) + (" …" if len(words) > 6 else ""), ""


def format_value(value: Any, unit: str) -> str:
    """A claim's value with its unit."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return style.EM_DASH
    if unit == "×":
        return f"{style.fmt_number(value, 3)} ×"
    if unit == "pp":
        return f"{value:+.2f} pp"
    if unit == "ρ":
        return f"ρ = {value:+.3f}".replace("-", "−")
    if unit in ("accuracy", "share"):
        return f"{value:.3f}"
    return style.fmt_number(value, 4)


def format_ci(ci: Any, unit: str = "") -> str:
    lo, hi = _ci(ci)
    if not math.isfinite(lo):
        return style.EM_DASH
    f = (lambda v: f"{v:+.3f}".replace("-", "−")) if unit == "ρ" else (lambda v: style.fmt_number(v, 3))
    return f"[{f(lo)}, {f(hi)}]"


def pretty_text(text: str) -> str:
    """Plain-text formulas of claim files as a reader writes them: ``4 sqrt(d+1)`` → 4√(d+1),
    ``<=`` → ≤, ``>=`` → ≥, ``+/-`` → ±."""
    text = re.sub(r"sqrt\(([^()]+)\)", r"√(\1)", str(text))
    text = re.sub(r"(\d)\s+√", r"\1√", text)
    return text.replace("<=", "≤").replace(">=", "≥").replace("+/-", "±")


def headline(text: str, limit: int = 80) -> str:
    """The first sentence (or ';'-clause outside parentheses) of a statement, cut at ``limit``
    characters at a word boundary."""
    text = pretty_text(text).strip()
    first = text
    for m in re.finditer(r"[.;](\s|$)", text):
        prefix = text[: m.start()]
        if prefix.count("(") == prefix.count(")"):
            first = prefix
            break
    if len(first) <= limit:
        return first
    return first[: limit - 1].rsplit(" ", 1)[0].rstrip(",:;") + " …"


def chapter_of(claim_id: str, notebooks: Path, toc_pages: Iterable[str]) -> str | None:
    """The stem of the chapter notebook whose title names ``claim_id`` (and that is in the toc)."""
    import json

    in_toc = {Path(p).name for p in toc_pages}
    pat = re.compile(rf"(?<![\w-]){re.escape(claim_id)}(?![\w-])")
    for nb in sorted(notebooks.glob("*.ipynb")):
        if nb.stem not in in_toc:
            continue
        cells = json.loads(nb.read_text(encoding="utf-8")).get("cells", [])
        title = next(("".join(c["source"]).splitlines()[0] for c in cells
                      if c["cell_type"] == "markdown" and "".join(c["source"]).strip()), "")
        if "claim" in title.lower() and pat.search(title):
            return nb.stem
    return None


def wall_time(prov: Mapping[str, Any]) -> float | None:
    """Compute time of a claim in seconds, from the one provenance format (``wall_s``; else the
    sum over its ``tables``); None if neither is recorded."""
    value = prov.get("wall_s")
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    tables = [t.get("wall_s") for t in prov.get("tables", [])]
    if tables and all(isinstance(t, (int, float)) for t in tables):
        return float(sum(tables))
    return None


def provenance_text(prov: Mapping[str, Any]) -> str:
    """One line: the tables a claim was derived from, their compute time, and where it was derived."""
    tables = "; ".join(
        f"{t.get('table', style.EM_DASH)} ({t.get('units', style.EM_DASH)} units, created "
        f"{str(t.get('created', style.EM_DASH))[:10]}, torch {t.get('torch', style.EM_DASH)})"
        for t in prov.get("tables", []))
    wall = wall_time(prov)
    wall_txt = f"{wall:,.0f} s" if wall is not None else f"{style.EM_DASH} (not recorded)"
    derived = prov.get("derived", {})
    commit = str(derived.get("git_commit") or style.EM_DASH)[:12]
    return (f"{tables or style.EM_DASH}; compute time {wall_txt}; derived at commit {commit} "
            f"on {str(derived.get('date') or style.EM_DASH)[:10]}")


def compact_table(claims: list[Mapping[str, Any]], chapters: Mapping[str, str | None]) -> pd.DataFrame:
    """One line per claim: id (linked to its chapter), claim, paper target, our value with its
    metric and unit, 95 % CI and verdict — HTML-ready cell text."""
    import html

    rows = []
    for c in claims:
        name, unit = metric_unit(c)
        stem = chapters.get(c["claim_id"])
        cid = html.escape(c["claim_id"])
        link = f'<a href="{stem}.html">{cid}</a>' if stem else cid
        rows.append({
            "claim": link,
            "what the paper claims": html.escape(headline(c["statement"], 64)),
            "paper target": html.escape(headline(c["paper_value"], 56)),
            "our value": f"<b>{html.escape(format_value(c['our_value'], unit))}</b><br>"
                         f"<small>{html.escape(name)}</small>",
            "95 % CI": html.escape(format_ci(c.get("ci95"), unit)).replace(", ", ",<br>"),
            "verdict": BADGE.get(c["verdict"], html.escape(str(c["verdict"]))),
        })
    return pd.DataFrame(rows)


def details_html(claim: Mapping[str, Any], chapter: str | None) -> str:
    """A collapsible section with a claim's full statement, target, metric, rule and provenance."""
    import html

    def esc(text: Any) -> str:
        return html.escape(pretty_text(str(text)))

    name, unit = metric_unit(claim)
    link = f'<p><a href="{chapter}.html">Read the chapter.</a></p>' if chapter else ""
    rows = [("Statement", esc(claim["statement"])), ("Paper target", esc(claim["paper_value"])),
            ("Our value", esc(f"{format_value(claim['our_value'], unit)} ({name}); 95 % CI "
                              f"{format_ci(claim.get('ci95'), unit)}")),
            ("Metric", esc(claim["metric"])), ("Verdict rule", esc(claim["verdict_rule"])),
            ("Provenance", esc(provenance_text(claim.get("provenance", {}))))]
    body = "".join(f"<p><b>{k}.</b> {v}</p>" for k, v in rows)
    return (f'<details class="claim-details"><summary><b>{html.escape(claim["claim_id"])}</b> '
            f'{BADGE.get(claim["verdict"], esc(claim["verdict"]))} — {esc(headline(claim["statement"], 70))}'
            f"</summary>{body}{link}</details>")
