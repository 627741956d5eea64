"""The landing page's conclusion: what holds of each paper's thesis, in plain words.

Every number is read from the claim files (and, for how much a population moves when it is
retrained under other CPU kernels, from ``benchmarks/results/rederive.json``); every qualitative
word that depends on a number is chosen by a rule on that number, so the text cannot say more than
the store does:

* a claim is quoted with its verdict, its value and its 95 % CI;
* "predicts no better than the validation oracle" is said only when every stored paired-bootstrap
  CI of ρ(W2) − ρ(oracle) reaches 0 or lies below it; whether W2 adds information given the oracle
  is claim IV's, per dataset, by its registered rule, with the oracle's noise-only reference;
* "points the other way" is said of W1 only when its ρ is negative on every head-to-head
  population that stores it.

The HTML is glued by the scorecard notebook and shown first on the landing page.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping
from typing import Any

from weakness_lib.views import names, populations
from weakness_lib.views.caveats import caveats
from weakness_lib.views.claims import badge as _badge
from weakness_lib.views.validation import iv_sentence, oracle_rows

Claim = Mapping[str, Any]


def _f2(x: float) -> str:
    return names.minus(f"{x:.2f}")


def _ci(ci: Any, fmt=names.signed) -> str:
    return f"[{fmt(ci[0])}, {fmt(ci[1])}]" if isinstance(ci, (list, tuple)) and len(ci) == 2 else ""


def _invariance(by_id: Mapping[str, Claim]) -> str:
    b1, b2 = by_id.get("B1"), by_id.get("B2")
    if not b1:
        return ""
    changed = (b1.get("details") or {}).get("predictions_changed")
    text = (f"<b>Flatness depends on the parameterisation.</b> A rescaling that changes "
            f"{names.num(changed) if changed is not None else 'no'} of the test predictions multiplies "
            f"the Hessian's largest eigenvalue by a factor of up to {names.num(b1['our_value'])} {_badge(b1)}")
    if b2:
        text += "; weakness, computed from what the network does, cannot move, while " + _moved(b2) \
            + f" {_badge(b2)}"
    return text + ". This half of the argument stands."


def _moved(b2: Claim) -> str:
    """How far the rescalings move sharpness and simplicity: each family's measure that moves most
    and its factor (B2's details), or B2's value where the details are missing."""
    d = b2.get("details") or {}
    parts = []
    for family, key in (("sharpness", "sharpness_changes"), ("simplicity", "simplicity_changes")):
        changes = d.get(key) or {}
        if changes:
            measure, factor = max(changes.items(), key=lambda kv: kv[1])
            parts.append(f"{family} by a factor of up to {names.num(factor)} ({names.label(measure)})")
    if not parts:
        return f"sharpness and simplicity change by a factor of up to {names.num(b2['our_value'])}"
    return "the rescalings change " + " and ".join(parts)


def _theory(by_id: Mapping[str, Claim]) -> str:
    b3, b4 = by_id.get("B3"), by_id.get("B4")
    parts = []
    if b3:
        parts.append(f"weakness is minimax-optimal in {names.num(100 * b3['our_value'])} % of the "
                     f"pre-registered finite cases {_badge(b3)}")
    if b4:
        parts.append(f"but the PAC-Bayes bound barely tracks our weakness estimate (ρ = "
                     f"{names.signed(b4['our_value'])}, CI {_ci(b4.get('ci95'))}) {_badge(b4)}")
    return ("<b>Theory.</b> On finite languages " + "; ".join(parts) + ".") if parts else ""


def _prediction(by_id: Mapping[str, Claim], moved: tuple[str, float, float] | None) -> str:
    """Does weakness predict which identically trained network generalises? (B6/B7 families)"""
    w1 = [(cid, *est["w1"]) for cid in populations.ROWS if cid in by_id
          and "w1" in (est := populations.estimates(by_id[cid]))]
    w2 = [by_id[c] for c in populations.ROWS if c in by_id
          and (by_id[c].get("details") or {}).get("confirmatory_weakness") == "w2"]
    if not (w1 or w2):
        return ""
    text = "<b>Does weakness predict which of 100 identically trained networks generalises?</b> "
    if w1:
        negative = all(r < 0 for _, r, *_ in w1)
        excluding = sum(hi < 0 for *_, hi in w1)
        text += ("The weakness estimator registered first, W1 (τ = 0.01), "
                 + (f"points the other way on every population (its CI excludes 0 on {excluding} of "
                    f"{len(w1)}): " if negative else "gives ")
                 + ", ".join(f"ρ = {names.signed(r)} ({cid})" for cid, r, *_ in w1) + ". ")
    if w2:
        text += ("The transformation-compatibility estimator W2, tested on fresh networks, gives "
                 + "; ".join(f"{populations.ROWS[c['claim_id']][0]} {populations.ROWS[c['claim_id']][1]}: "
                             f"ρ = {names.signed(c['our_value'])}, CI {_ci(c.get('ci95'))} {_badge(c)}" for c in w2)
                 + ". ")
    sharp = sharper_than_weakness(by_id)
    if sharp:
        text += ("Within one parameterisation, sharpness predicts too, in the paper's direction and "
                 "more strongly than W2, on "
                 + "; ".join(f"{populations.ROWS[cid][0]} ({populations.ROWS[cid][1]}: λ_max ρ = {names.signed(s)} vs W2 "
                             f"{names.signed(w)})" for cid, s, w in sharp)
                 + " (raw ρ; chapter 5 shows how much of it follows the final training loss). ")
    rows = oracle_rows(w2)
    if rows:
        never_better = all(ci[0] <= 0 for *_, ci in rows)
        text += (("But on none of the " + f"{len(rows)} populations where both were measured does W2 predict "
                  "significantly better than a plain validation set — accuracy on held-out labelled images: "
                  if never_better else "Against a plain validation set — accuracy on held-out labelled "
                  "images: ")
                 + "; ".join(f"oracle ρ = {names.signed(o)} vs W2 {names.signed(w)}, difference CI {_ci(ci)} ({cid})"
                             for cid, w, o, ci in rows) + ". ")
    if moved:
        cid, before, after = moved
        text += (f"And one population of 100 networks is a noisy judge: retrained with the same seeds under "
                 f"other CPU kernels, {cid}'s ρ moved from {names.signed(before, 3)} to {names.signed(after, 3)}.")
    return text


def sharper_than_weakness(by_id: Mapping[str, Claim]) -> list[tuple[str, float, float]]:
    """``(claim, ρ(λ_max), ρ(W2))`` of the populations where λ_max is negative with a CI below 0
    and larger in size than W2's ρ."""
    out = []
    for cid in populations.ROWS:
        est = populations.estimates(by_id[cid]) if cid in by_id else {}
        if "lambda_max" in est and "w2" in est:
            s, _, hi = est["lambda_max"]
            if s < 0 and hi < 0 and abs(s) > abs(est["w2"][0]):
                out.append((cid, s, est["w2"][0]))
    return out


def _others(by_id: Mapping[str, Claim]) -> str:
    parts = []
    if b5 := by_id.get("B5"):
        parts.append(f"the MNIST large-batch gap shrinks as n grows but is {names.signed(b5['our_value'])} pp "
                     f"(CI {_ci(b5.get('ci95'))}) at n = 60,000, "
                     f"not the paper's +0.02 pp {_badge(b5)}")
    if b5r := by_id.get("B5-R"):
        parts.append(f"with 20 fresh seeds it is {names.signed(b5r['our_value'])} pp (CI {_ci(b5r.get('ci95'))}) "
                     f"{_badge(b5r)}")
    if x5 := by_id.get("X5"):
        first = next(iter((x5.get("details") or {}).get("per_dataset") or {}), "")
        parts.append(f"across hyper-parameters the robust-predictivity score of W2"
                     f"{' on ' + names.DATASETS.get(first, first) if first else ''} is Ψ = "
                     f"{_f2(x5['our_value'])} (CI {_ci(x5.get('ci95'), _f2)}; "
                     f"0 is chance, 1 a perfect ranking) {_badge(x5)}" + _x5_reference(x5, first))
    return ("<b>Also:</b> " + "; ".join(parts) + ".") if parts else ""


def _x5_reference(x5: Claim, dataset: str) -> str:
    """', but a plain validation set scores as well there (Ψ = …)' where X5's claim file says so
    for ``dataset``, the one of its value."""
    per = (((x5.get("details") or {}).get("validation_reference") or {}).get("per_dataset") or {})
    ref = per.get(dataset)
    return f", but a plain validation set scores as well there (Ψ = {_f2(ref['psi'])})" \
        if ref and ref.get("as_good") else ""


def _bennett_verdict(by_id: Mapping[str, Claim]) -> str:
    rows = oracle_rows([by_id[c] for c in populations.ROWS if c in by_id])
    if not rows:
        return ""
    flat = ("<b>In short:</b> flatness, as the Hessian measures it, cannot be the cause of generalisation, since it changes when the "
            "function does not" + (", even though within one parameterisation it predicts test accuracy"
                                   if sharper_than_weakness(by_id) else "") + ". ")
    if all(ci[0] <= 0 for *_, ci in rows):
        iv = iv_sentence(by_id.get("IV"))
        return flat + ("That weakness is the cause is not established here either: where it predicts at all, "
                       "it predicts no better than accuracy on a held-out labelled set. "
                       + (iv if iv else "It tells a practitioner nothing that such a set does not."))
    return flat + ("Weakness adds information beyond a validation set on at least one population "
                   "(see chapter 5c).")


def _wen(by_id: Mapping[str, Claim]) -> str:
    one, two, three = by_id.get("WLM-I"), by_id.get("WLM-II"), by_id.get("WLM-III")
    parts = []
    if one:
        parts.append(f"(I) without a bias, both gradient descent with weight decay and 1-SAM generalise "
                     f"(lowest test accuracy {one['our_value']:.3f}) {_badge(one)}")
    if two:
        parts.append(f"(II) with a first-layer bias, 1-SAM ends flatter yet generalises worse: GD+WD beats "
                     f"it by {_f2(two['our_value'])} in accuracy (CI {_ci(two.get('ci95'), _f2)}) {_badge(two)}")
    if three:
        parts.append(f"(III) with a simplified LayerNorm, 1-SAM generalises again (accuracy "
                     f"{three['our_value']:.3f}, CI {_ci(three.get('ci95'), lambda v: f'{v:.3f}')}) {_badge(three)}")
    if not parts:
        return ""
    notes = [f"{html.escape(c['claim_id'])}: {html.escape(s)}" for c in (one, two, three) if c for s in caveats(c)]
    return ("<b>Wen, Li &amp; Ma (2023), two-layer ReLU networks on xor.</b> " + "; ".join(parts)
            + ". Whether the flattest solution generalises depends on small details of the architecture, "
              "so flatness alone does not decide generalisation — the same negative half as Bennett's."
            + (" <i>Caveat</i> — " + " ".join(notes) if notes else ""))


def largest_move(record: Mapping[str, Any] | None, ids: Iterable[str]) -> tuple[str, float, float] | None:
    """The correlation claim among ``ids`` whose value moved most under re-derivation."""
    if not record:
        return None
    best = None
    for c in record.get("claims", []):
        if c.get("claim_id") in ids and c.get("before") and c.get("after"):
            b, a = c["before"].get("value"), c["after"].get("value")
            if isinstance(b, float) and isinstance(a, float) and math.isfinite(a - b) \
                    and (best is None or abs(a - b) > abs(best[2] - best[1])):
                best = (c["claim_id"], b, a)
    return best


def _short_bennett(by_id: Mapping[str, Claim]) -> str:
    parts = []
    if b1 := by_id.get("B1"):
        changed = (b1.get("details") or {}).get("predictions_changed")
        parts.append(f"<b>Flatness depends on the parameterisation</b> {_badge(b1)}: a rescaling that "
                     f"changes {names.num(changed) if changed is not None else 'no'} predictions multiplies "
                     f"the Hessian's largest eigenvalue by up to {names.num(b1['our_value'])}, so flatness "
                     f"alone cannot be what makes a network generalise.")
    pops = [by_id[c] for c in populations.ROWS if c in by_id]
    w1 = [e["w1"] for c in pops if "w1" in (e := populations.estimates(c))]
    w2 = [e["w2"] for c in pops if "w2" in (e := populations.estimates(c))]
    rows = oracle_rows([c for c in pops if (c.get("details") or {}).get("confirmatory_weakness") == "w2"])
    if w2:
        text = "<b>That weakness is what generalises is not established:</b> "
        if w1 and all(r < 0 for r, _, _ in w1):
            text += (f"the weakness estimator registered first, W1, correlates negatively with test accuracy "
                     f"on all {len(w1)} populations (its CI lies below 0 on {sum(hi < 0 for _, _, hi in w1)}); ")
        rhos = [r for r, _, _ in w2]
        sign = "is positive on all" if all(r > 0 for r in rhos) else "has mixed signs over the"
        text += (f"the transformation-based estimator W2 {sign} {len(w2)} populations of 100 networks "
                 f"(ρ from {names.signed(min(rhos))} to {names.signed(max(rhos))}; its CI excludes 0 on "
                 f"{sum(lo > 0 for _, lo, _ in w2)})")
        if rows and all(ci[0] <= 0 for *_, ci in rows):
            text += (f", but on the {len(rows)} where it was compared it predicts no better than accuracy on "
                     f"held-out labelled images")
        parts.append(text + ".")
    return " ".join(parts)


def _short_wen(by_id: Mapping[str, Claim]) -> str:
    trio = [by_id.get("WLM-I"), by_id.get("WLM-II"), by_id.get("WLM-III")]
    if not all(trio):
        return ""
    one, two, three = trio
    all_ok = all(c["verdict"] == "reproduced" for c in trio)
    return (f"<b>{'All three scenarios reproduce' if all_ok else 'The three scenarios'}</b> "
            f"{_badge(one) if all_ok else ' '.join(_badge(c) for c in trio)}: on xor the flattest two-layer ReLU networks generalise "
            f"without a bias (I, lowest test accuracy {one['our_value']:.3f}"
            f"{'; one of the rule' + chr(39) + 's per-seed conditions fails, see below' if caveats(one) else ''}), while with a first-layer "
            f"bias 1-SAM ends flatter yet {'loses' if two['our_value'] > 0 else 'gains'} {_f2(abs(two['our_value']))} in accuracy against GD with weight decay "
            f"(II), and with a simplified LayerNorm it generalises again (III, {three['our_value']:.3f}). "
            f"Whether flatness helps depends on the architecture.")


def short_html(claims: list[Claim]) -> str:
    """The answer in a few sentences per paper, for the landing page's first screen."""
    by_id = {c["claim_id"]: c for c in claims}
    body = ['<div class="conclusion">']
    if text := _short_bennett(by_id):
        body.append(f"<p><b>Bennett (2026).</b> {text}</p>")
    if text := _short_wen(by_id):
        body.append(f"<p><b>Wen, Li &amp; Ma (2023).</b> {text}</p>")
    return "\n".join(body + ["</div>"])


def html_text(claims: list[Claim], rederive: Mapping[str, Any] | None = None) -> str:
    """The evidence behind the answer, as HTML: one section per paper, a few short paragraphs."""
    by_id = {c["claim_id"]: c for c in claims}
    moved = largest_move(rederive, populations.ROWS)
    bennett = [_invariance(by_id), _prediction(by_id, moved), _theory(by_id), _others(by_id),
               _bennett_verdict(by_id)]
    body = ['<div class="conclusion">', "<h3>Bennett (2026): are flat minima an illusion?</h3>"]
    body += [f"<p>{p}</p>" for p in bennett if p]
    if wen := _wen(by_id):
        body += ["<h3>Wen, Li &amp; Ma (2023): sharpness minimisation on xor</h3>", f"<p>{wen}</p>"]
    return "\n".join(body + ["</div>"])


def landing(claims: list[Claim], rederive: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What the landing page pastes from the scorecard notebook: ``answer`` and ``conclusion``
    (HTML) and ``headline_populations`` (the figure, or a sentence when no population is stored)."""
    from IPython.display import HTML

    from weakness_lib.views import style

    out: dict[str, Any] = {"answer": HTML(short_html(claims)), "conclusion": HTML(html_text(claims, rederive))}
    pops = populations.frame(claims)
    if len(pops):
        out["headline_populations"] = populations.plot(pops)
        style.check(out["headline_populations"])
    else:
        out["headline_populations"] = HTML("<p>No population of identically trained networks is stored "
                                           "at this scale.</p>")
    return out
