"""The answer first: a result box at the top of each chapter, generated from its claim files.

For each claim: the verdict (by its registered rule), our value beside the paper's target, and what
a reader would ask next — the caveats :func:`caveats` reads from the claim file:

* the 95 % CI excludes the paper's value (``details.ci_contains_paper`` is false);
* the other registered primary estimator points the other way (``details.w1``);
* the same estimate under the original, stricter rule (``details.secondary_weakness.rule_outcome``)
  would get another verdict;
* the validation oracle does as well (``details.oracle``: the paired-bootstrap CI of
  ρ(weakness) − ρ(oracle) does not exclude 0);
* a registered per-seed condition fails in some seed (``details.per_seed[seed][letter]`` is
  false), which a rule over "≥ 2 of 3 seeds" lets pass: the seeds, and for the Sim-BN condition of
  claim WLM-I the Sim-BN numbers (``bn_acc``, ``bn_feature_ratio``) of every seed.

Nothing is recomputed: every number is the claim file's. A chapter may add its own caveat per
claim (``extra``), read from claim files too (chapter 5c: IV's noise-only reference, B5-R beside
B5's five seeds).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any

from weakness_lib.core.claims import paper_words
from weakness_lib.views import names
from weakness_lib.views.caveats import ADMONITION, WORDS, caveats  # noqa: F401 (re-exported)
from weakness_lib.views.claims import BADGE, format_value, formatinterval, metric_unit, pretty_text


def summary(claim: Mapping[str, Any], extra: str = "") -> dict[str, str]:
    """The box's parts for one claim: ``verdict``, ``ours``, ``paper`` and ``caveats`` (text: the
    claim file's, then ``extra``, a chapter's own caveat about this claim)."""
    name, unit = metric_unit(claim)
    ours = format_value(claim.get("our_value"), unit)
    if name:  # what the value measures: "1.49 × 10⁷ × (largest λ_max inflation)", "ρ = +0.55 (W2)"
        ours += f" ({name.removeprefix('Spearman ρ, ')})"
    if claim.get("ci95"):
        ours += f", 95 % CI {formatinterval(claim['ci95'], unit)}"
    paper = pretty_text(paper_words(claim["paper_value"])) if claim.get("paper") != "ours" else \
        "none (our test of the paper's thesis)"
    return {"verdict": BADGE[claim["verdict"]], "ours": names.minus(ours), "paper": paper,
            "caveats": " ".join([*caveats(claim), *([extra] if extra else [])])}


def markdown(claims: Iterable[Mapping[str, Any]]) -> str:
    """A MyST admonition per claim: verdict in the title, our value and the target, the caveats."""
    blocks = []
    for c in claims:
        s = summary(c)
        kind = ADMONITION[c["verdict"]] if not s["caveats"] else "warning"
        body = [f"**Ours:** {s['ours']} · **Paper:** {s['paper']}"]
        if s["caveats"]:
            body.append(f"**But:** {s['caveats']}")
        blocks.append(f":::{{{kind}}} Claim {c['claim_id']}: {s['verdict']}\n" + "\n\n".join(body) + "\n:::")
    return "\n\n".join(blocks)


def html_box(claims: Iterable[Mapping[str, Any]], extra: Mapping[str, str] | None = None) -> str:
    """The same boxes as HTML (what a notebook cell displays; MyST admonitions are not parsed in
    cell outputs); ``extra``: a chapter's own caveat per claim id, after the claim file's."""
    parts = []
    for c in claims:
        s = summary(c, (extra or {}).get(c["claim_id"], ""))
        kind = ADMONITION[c["verdict"]] if not s["caveats"] else "warning"
        caveat = f"<p><strong>But:</strong> {html.escape(s['caveats'])}</p>" if s["caveats"] else ""
        parts.append(f'<div class="admonition {kind} result-box"><p class="admonition-title">Claim '
                     f"{html.escape(c['claim_id'])}: {html.escape(s['verdict'])}</p>"
                     f"<p><strong>Ours:</strong> {html.escape(s['ours'])} · <strong>Paper:</strong> "
                     f"{html.escape(s['paper'])}</p>{caveat}</div>")
    return "\n".join(parts)


def chapter_claims(notebook: str) -> list[str]:
    """The claims of every registered study whose chapter is ``notebook`` (registry order)."""
    from weakness_lib.engine.registry import STUDIES

    return [c for s in STUDIES.values() if s.notebook == notebook for c in s.claims]


def show(notebook: str, scale: str = "full", extra: Mapping[str, str] | None = None) -> Any:
    """Display the result boxes of the chapter ``notebook``'s claims that are derived at ``scale``
    (read from the claim files; a claim not derived yet is left out), with the chapter's ``extra``
    caveats (claim id → sentence) after those of the claim files."""
    from IPython.display import HTML

    from weakness_lib.views.chapter import derived

    return HTML(html_box(list(derived(chapter_claims(notebook), scale).values()), extra))
