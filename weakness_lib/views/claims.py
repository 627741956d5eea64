"""What the scorecard and the landing page show, read generically from the claim files.

Nothing here knows a claim by its id: a claim file added later (a new chapter's claims) appears in
the compact table, the verdict counts and — when it is a correlation — the headline forest plot.

* :func:`verdict_counts` — claims per verdict (the landing page's counts);
* correlation-type claims and the headline forest plot: :mod:`weakness_lib.views.correlation`;
* :func:`metric_unit`, :func:`compact_table`, :func:`wall_time`, :func:`provenance_text` — the
  scorecard's one-line-per-claim table and its provenance, from one provenance format.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from weakness_lib.core.claims import paper_words
from weakness_lib.views import names, style, tables
from weakness_lib.views.correlation import interval, is_correlation

BADGE = {"reproduced": "✅ reproduced", "partially_reproduced": "🟡 partially",
         "not_reproduced": "❌ not reproduced"}


def badge(claim: Mapping[str, Any]) -> str:
    """The claim's verdict as the inline badge the landing page and conclusions show."""
    return f'<span class="verdict">{html.escape(BADGE.get(claim["verdict"], claim["verdict"]))}</span>'


PAPERS = {"bennett2026": "Bennett 2026", "wen2023": "Wen, Li & Ma 2023",
          "ours": "our test of a thesis (no paper value)"}
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
    stated = re.search(r"[Tt]he claim's value is ([^.]{3,60})\.", metric)
    if is_correlation(claim):
        if stated:  # e.g. IV: "the smaller of the two datasets' partial ρ"
            return stated.group(1).strip(), "ρ"
        subject = metric.split(" between ", 1)[-1].split("(")[0].split(",")[0].strip()
        subject = re.sub(r"^the\s+|\s+estimator$", "", subject)
        return f"Spearman ρ, {subject[:40]}", "ρ"
    if stated:  # a metric that names its value in one sentence
        return stated.group(1).strip(), ""
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
        return f"{tables.fmt_number(value, 3)} ×"
    if unit == "pp":
        return f"{value:+.2f} pp"
    if unit == "ρ":
        return f"ρ = {value:+.3f}".replace("-", "−")
    if unit in ("accuracy", "share"):
        return f"{value:.3f}".replace("-", "−")
    return tables.fmt_number(value, 4)


def formatinterval(ci: Any, unit: str = "") -> str:
    lo, hi = interval(ci)
    if not math.isfinite(lo):
        return style.EM_DASH
    f = ((lambda v: f"{v:+.3f}".replace("-", "−")) if unit == "ρ" else
         (lambda v: names.signed(v, 2)) if unit == "pp" else (lambda v: tables.fmt_number(v, 3)))
    return f"[{f(lo)}, {f(hi)}]"


_VERDICT_WORDS = {"partially_reproduced": "partially reproduced", "not_reproduced": "not reproduced"}


def pretty_text(text: str) -> str:
    """Plain-text formulas of claim files as a reader writes them: ``4 sqrt(d+1)`` → 4√(d+1),
    ``<=`` → ≤, ``>=`` → ≥, ``+/-`` → ±, ``0.6 x max`` → 0.6 × max, e-notation → powers of ten
    (``8.15e-5`` → 8.15 × 10⁻⁵), a sign's hyphen → −, verdict and stored names → readers' words
    (``partially_reproduced``, ``measures.pacbayes_bound`` → PAC-Bayes bound, ``val_acc``)."""
    text = re.sub(r"sqrt\(([^()]+)\)", r"√(\1)", str(text))
    text = re.sub(r"(\d)\s+√", r"\1√", text)
    text = re.sub(r"(?<=\d) x (?=\w)", " × ", text)
    for code, words in _VERDICT_WORDS.items():
        text = text.replace(code, words)
    text = names.in_text(text.replace("measures.", ""), short=True)
    # a stored name written beside its own words reads once: "oracle val_acc" → "oracle", not
    # "validation oracle validation oracle"; "mean confidence (mean_conf on U)" → "… (on U)"
    text = re.sub(r"\b([\w-][\w -]{4,40}?) \1\b", r"\1", text)
    text = re.sub(r"\b([\w-][\w -]{4,40}?) \(\1 ", r"\1 (", text)
    return names.minus(tables.powers_of_ten(text.replace("<=", "≤").replace(">=", "≥").replace("+/-", "±")))


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
    """The stem of the chapter notebook (in the toc) that states ``claim_id``: the first whose
    title names it, else the first whose opening cell names it beside the word "claim"."""
    import json

    in_toc = {Path(p).name for p in toc_pages}
    pat = re.compile(rf"(?<![\w-]){re.escape(claim_id)}(?![\w-])")
    openings: list[tuple[str, str]] = []
    for nb in sorted(notebooks.glob("*.ipynb")):
        if nb.stem not in in_toc:
            continue
        cells = json.loads(nb.read_text(encoding="utf-8")).get("cells", [])
        first = next(("".join(c["source"]) for c in cells
                      if c["cell_type"] == "markdown" and "".join(c["source"]).strip()), "")
        openings.append((nb.stem, first))
    for stem, first in openings:
        title = first.strip().splitlines()[0] if first.strip() else ""
        if "claim" in title.lower() and pat.search(title):
            return stem
    for stem, first in openings:
        if "claim" in first.lower() and pat.search(first):
            return stem
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


def chapters(claims: Iterable[Mapping[str, Any]]) -> dict[str, str | None]:
    """``{claim: chapter stem}`` for the chapters listed in ``_toc.yml`` (None: not in the toc)."""
    from weakness_lib.core.paths import project_root

    toc = [line.split("file:", 1)[1].strip()
           for line in (project_root() / "_toc.yml").read_text(encoding="utf-8").splitlines() if "file:" in line]
    return {c["claim_id"]: chapter_of(c["claim_id"], project_root() / "notebooks", toc) for c in claims}


def compact_table(claims: list[Mapping[str, Any]], chapters: Mapping[str, str | None]) -> pd.DataFrame:
    """One line per claim, the answer first: id (linked to its chapter), verdict, our value with
    its metric and unit, 95 % CI, paper target and claim — HTML-ready cell text; a verdict with a caveat (those of
    the chapter's result box, :func:`weakness_lib.views.caveats.caveats`) says so under it."""
    from weakness_lib.views.caveats import caveats

    rows = []
    for c in claims:
        name, unit = metric_unit(c)
        stem = chapters.get(c["claim_id"])
        cid = html.escape(c["claim_id"])
        link = f'<a href="{stem}.html">{cid}</a>' if stem else cid
        rows.append({  # the answer first: on a phone the verdict and our value are on screen
            "claim": link,
            "verdict": BADGE.get(c["verdict"], html.escape(str(c["verdict"])))
                       + ("<br><small>with a caveat (below)</small>" if caveats(c) else ""),
            "our value": f"<b>{html.escape(format_value(c['our_value'], unit))}</b><br>"
                         f"<small>{html.escape(name)}</small>",
            "95 % CI": html.escape(formatinterval(c.get("ci95"), unit)).replace(", ", ",<br>"),
            "paper target": html.escape(headline(paper_words(c["paper_value"]), 56)),
            "what the paper claims": html.escape(headline(paper_words(c["statement"]), 64)),
        })
    return pd.DataFrame(rows)


def details_html(claim: Mapping[str, Any], chapter: str | None) -> str:
    """A collapsible section with a claim's full statement, target, metric, rule, the caveats of
    its result box (if any) and provenance."""
    from weakness_lib.views.caveats import caveats

    def esc(text: Any) -> str:
        return html.escape(pretty_text(str(text)))

    name, unit = metric_unit(claim)
    link = f'<p><a href="{chapter}.html">Read the chapter.</a></p>' if chapter else ""
    rows = [("Statement", esc(paper_words(claim["statement"]))), ("Paper target", esc(paper_words(claim["paper_value"]))),
            ("Our value", esc(f"{format_value(claim['our_value'], unit)} ({name}); 95 % CI "
                              f"{formatinterval(claim.get('ci95'), unit)}")),
            ("Metric", esc(claim["metric"])), ("Verdict rule (as registered)", esc(claim["verdict_rule"])),
            *([("Caveat", esc(" ".join(caveats(claim))))] if caveats(claim) else []),
            ("Provenance", esc(provenance_text(claim.get("provenance", {}))))]
    body = "".join(f"<p><b>{k}.</b> {v}</p>" for k, v in rows)
    return (f'<details class="claim-details"><summary><b>{html.escape(claim["claim_id"])}</b> '
            f'{BADGE.get(claim["verdict"], esc(claim["verdict"]))} — {esc(headline(paper_words(claim["statement"]), 70))}'
            f"</summary>{body}{link}</details>")
