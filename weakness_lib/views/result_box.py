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

Nothing is recomputed: every number is the claim file's.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any

from weakness_lib.views import names
from weakness_lib.views.claims import BADGE, format_value, formatinterval, metric_unit, pretty_text

WORDS = {"reproduced": "reproduced", "partially_reproduced": "partially reproduced",
         "not_reproduced": "not reproduced"}
ADMONITION = {"reproduced": "tip", "partially_reproduced": "warning", "not_reproduced": "danger"}


def _rho(value: float) -> str:
    return names.minus(f"{value:+.3f}")


def _p(value: float) -> str:
    return names.num(value, 2)


def _ci(ci: Any) -> str:
    return f"[{_rho(ci[0])}, {_rho(ci[1])}]"


#: per-seed numbers shown beside a failed condition: (the condition's letter, the keys its per-seed
#: rows hold it by) → how each reads; WLM-I's condition (d) is Sim-BN 1-SAM's accuracy and features
_CONDITION_NUMBERS = {("d", "bn_acc", "bn_feature_ratio"): "Sim-BN 1-SAM"}


def _seeds(seeds: list[str]) -> str:
    return ("seed " if len(seeds) == 1 else "seeds ") + ", ".join(seeds)


def _failed_conditions(details: Mapping[str, Any]) -> list[str]:
    """One sentence per registered per-seed condition that fails in some seed (the verdict may
    still be "reproduced" where the rule asks it in only some seeds), with its numbers where known."""
    per_seed = details.get("per_seed")
    if not isinstance(per_seed, Mapping):
        return []
    rows = {str(s): r for s, r in per_seed.items() if isinstance(r, Mapping)}
    letters = sorted({k for r in rows.values() for k, v in r.items() if len(k) == 1 and isinstance(v, bool)})
    out = []
    for letter in letters:
        failed = [s for s, r in rows.items() if r.get(letter) is False]
        if not failed:
            continue
        text = f"Condition ({letter}) of the rule fails in {_seeds(failed)} ({len(failed)} of {len(rows)} seeds)"
        for (cond, acc, ratio), what in _CONDITION_NUMBERS.items():
            if cond != letter or not all(acc in r and ratio in r for r in rows.values()):
                continue
            passed = [s for s in rows if s not in failed]
            text += (f": {what} reaches a test accuracy of "
                     f"{', '.join(f'{rows[s][acc]:.3f}' for s in failed)} there"
                     + (f" ({', '.join(f'{rows[s][acc]:.3f}' for s in passed)} in {_seeds(passed)})"
                        if passed else ""))
            ratios = [float(r[ratio]) for r in rows.values()]
            text += (f", and its x₁, x₂ columns of W₁ are on average {sum(ratios) / len(ratios):.2f}× "
                     f"the largest other column ({min(ratios):.2f}× to {max(ratios):.2f}× over the seeds)")
        out.append(text + ".")
    return out


def caveats(claim: Mapping[str, Any]) -> list[str]:
    """One sentence per caveat a reader should see beside the verdict (possibly none)."""
    d, out = claim.get("details") or {}, []
    ci = claim.get("ci95")
    if d.get("ci_contains_paper") is False and ci:
        out.append(f"The 95 % CI {_ci(ci)} excludes the paper's value.")
    w1, ours = d.get("w1"), claim.get("our_value")
    if isinstance(w1, Mapping) and isinstance(ours, (int, float)) and w1.get("rho") is not None \
            and (w1["rho"] > 0) != (ours > 0):
        out.append(f"The other registered primary estimator, {names.label(w1['measure'])}, points the "
                   f"other way: ρ = {_rho(w1['rho'])} (p = {_p(w1['p'])}).")
    sec = d.get("secondary_weakness")
    if isinstance(sec, Mapping) and sec.get("rule_outcome") and sec["rule_outcome"] != claim["verdict"] \
            and sec.get("measure") == d.get("confirmatory_weakness"):
        out.append(f"Under the original head-to-head rule, which also asks the CI to contain the "
                   f"paper's value, the same estimate would be {WORDS[sec['rule_outcome']]}.")
    oracle = d.get("oracle")
    if isinstance(oracle, Mapping) and not oracle.get("weakness_better_than_oracle", True):
        lo, hi = oracle["difference_ci95"]
        out.append(f"A plain validation set does as well or better: the validation oracle's ρ = "
                   f"{_rho(oracle['oracle_rho'])}; ρ({names.label(oracle['measure']).split(' (')[0]}) − "
                   f"ρ(oracle) = {_rho(oracle['difference'])}, 95 % CI {_ci([lo, hi])}.")
    return out + _failed_conditions(d)


def summary(claim: Mapping[str, Any]) -> dict[str, str]:
    """The box's parts for one claim: ``verdict``, ``ours``, ``paper`` and ``caveats`` (text)."""
    _, unit = metric_unit(claim)
    ours = format_value(claim.get("our_value"), unit)
    if claim.get("ci95"):
        ours += f", 95 % CI {formatinterval(claim['ci95'], unit)}"
    paper = pretty_text(claim["paper_value"]) if claim.get("paper") != "ours" else \
        "none (our test of the paper's thesis)"
    return {"verdict": BADGE[claim["verdict"]], "ours": names.minus(ours), "paper": paper,
            "caveats": " ".join(caveats(claim))}


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


def html_box(claims: Iterable[Mapping[str, Any]]) -> str:
    """The same boxes as HTML (what a notebook cell displays; MyST admonitions are not parsed in
    cell outputs)."""
    parts = []
    for c in claims:
        s = summary(c)
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


def show(notebook: str, scale: str = "full") -> Any:
    """Display the result boxes of the chapter ``notebook``'s claims that are derived at ``scale``
    (read from the claim files; a claim not derived yet is left out)."""
    from IPython.display import HTML

    from weakness_lib.core.claims import claims_dir
    from weakness_lib.views.chapter import claim

    found = [claim(i, scale) for i in chapter_claims(notebook)
             if (claims_dir(scale) / f"{i}.json").exists()]
    return HTML(html_box(found))
