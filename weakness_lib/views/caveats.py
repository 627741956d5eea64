"""What a reader should know beside a verdict: the caveats a claim file supports.

:func:`caveats` reads the claim file and returns one sentence per caveat (possibly none); beside a
failed per-seed condition it also shows the paper's number from the claim's registration:

* the 95 % CI excludes the paper's value (``details.ci_contains_paper`` is false; for the
  large-batch claims, the paper's advantage at the same n from the registration);
* the other registered primary estimator points the other way (``details.w1``);
* the same estimate under the original, stricter rule (``details.secondary_weakness.rule_outcome``)
  would get another verdict;
* the validation oracle does as well (``details.oracle``; X5: ``details.validation_reference``);
* a per-seed condition of the verdict rule fails in some seed (``details.per_seed``);
* a "partially reproduced" confirmatory ρ is not significant (``details.confirmatory_p`` against
  the registered threshold): the verdict rests on its sign alone.

Used by the chapters' result boxes (:mod:`weakness_lib.views.result_box`) and the scorecard
(:mod:`weakness_lib.views.claims`), which import it; it imports neither.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from weakness_lib.views import names

WORDS = {"reproduced": "reproduced", "partially_reproduced": "partially reproduced",
         "not_reproduced": "not reproduced"}
ADMONITION = {"reproduced": "tip", "partially_reproduced": "warning", "not_reproduced": "danger"}


def _p(value: float) -> str:
    return names.num(value, 2)


def _ci(ci: Any) -> str:
    return f"[{names.signed(ci[0], 3)}, {names.signed(ci[1], 3)}]"


#: per-seed numbers shown beside a failed condition: (the condition's letter, the keys its per-seed
#: rows hold it by) → (how each reads, the registered target's keys of the paper's feature-column
#: norm and largest other column norm); WLM-I's condition (d) is Sim-BN 1-SAM's accuracy and features
_CONDITION_NUMBERS = {("d", "bn_acc", "bn_feature_ratio"):
                      ("Sim-BN 1-SAM", ("simbn_feature_col_norm", "simbn_other_col_norm_max"))}


def _registration(claim: Mapping[str, Any]) -> Mapping[str, Any]:
    """The claim's registration block (``target``: the paper's values, ``thresholds``: the rule's
    numbers) from its study's config, the study named by the claim's first table; empty when the
    claim names no table."""
    tables = (claim.get("provenance") or {}).get("tables") or []
    parts = str(tables[0].get("table", "")).split("/") if tables else []
    if len(parts) < 2:
        return {}
    from weakness_lib.engine.base import rule

    return rule(parts[-2], claim["claim_id"])


def _sign_only(claim: Mapping[str, Any], alpha: float | None) -> list[str]:
    """A "partially reproduced" confirmatory correlation whose p is not below the registered
    threshold: the verdict then rests on the sign of ρ alone, and the reader should know it."""
    p = (claim.get("details") or {}).get("confirmatory_p")
    if claim.get("verdict") != "partially_reproduced" or p is None or alpha is None or p < alpha:
        return []
    return [f"The confirmatory ρ is not significant (p = {_p(p)}, threshold {names.num(alpha)}): "
            "“partially” here says only that its sign is positive."]


def _seeds(seeds: list[str]) -> str:
    return ("seed " if len(seeds) == 1 else "seeds ") + ", ".join(seeds)


def _failed_conditions(details: Mapping[str, Any], target: Mapping[str, Any]) -> list[str]:
    """One sentence per registered per-seed condition that fails in some seed (the verdict may
    still be "reproduced" where the rule asks it in only some seeds), with its numbers where known
    and the paper's beside them where ``target`` (the registered paper values) has them."""
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
        for (cond, acc, ratio), (what, (feature, other)) in _CONDITION_NUMBERS.items():
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
            if feature in target and other in target:
                paper = float(target[feature]) / float(target[other])
                text += (f", against {paper:.2f}× in the paper ({names.num(float(target[feature]))} "
                         f"against {names.num(float(target[other]))})")
        out.append(text + ".")
    return out


def _paper_outside_ci(claim: Mapping[str, Any], target: Mapping[str, Any]) -> list[str]:
    """The large-batch claims (B5, B5-R): the 95 % CI of the advantage at the largest n excludes
    the paper's advantage at that n (``target.advantage_pp``; nothing where the paper gives none
    at that n, e.g. on the smoke grid)."""
    ci, n = claim.get("ci95"), (claim.get("details") or {}).get("n_large")
    by_n = {str(k): float(v) for k, v in ((target or {}).get("advantage_pp") or {}).items()}
    if not ci or n is None or str(n) not in by_n or ci[0] <= by_n[str(n)] <= ci[1]:
        return []
    return [f"The 95 % CI [{names.signed(ci[0], 2)}, {names.signed(ci[1], 2)}] pp excludes the "
            f"paper's {names.signed(by_n[str(n)], 2)} pp at n = {int(n):,}."]


def _trained_condition(claim: Mapping[str, Any]) -> list[str]:
    """B4: the trained-network condition (c) fails on every dataset, so "partially" rests on the
    exact finite identity alone; with the primary estimator's ρ per dataset (predicted < 0)."""
    d = claim.get("details") or {}
    failed = d.get("c_trained_networks")
    if not isinstance(failed, Mapping) or any(failed.values()) or not failed:
        return []
    sets = ((d.get("trained_networks") or {}).get("datasets") or {})
    rhos = []
    for ds in failed:
        rows = (sets.get(ds) or {}).get("table") or []
        primary = (sets.get(ds) or {}).get("primary")
        rho = next((r["rho"] for r in rows if r.get("weakness") == primary), None)
        if rho is not None:
            rhos.append(f"{names.signed(rho, 3)} on {names.DATASETS.get(ds, ds)}")
    return [f"On trained networks the bound does not fall as the primary weakness estimator rises "
            f"(ρ = {', '.join(rhos)}; predicted negative): condition (c) fails on every dataset, "
            "so “partially” rests on the exact finite identity alone."]


#: the robustness population's hyper-parameters as a sentence names them
_HPARAM = {"n_train": "the training-set size", "lr": "the learning rate", "width": "the width",
           "depth": "the depth"}


def _environments(claim: Mapping[str, Any]) -> list[str]:
    """X5: how many environments kept any Hoeffding weight, and which hyper-parameters they vary
    (a worst case over environments that vary one hyper-parameter says nothing about the others)."""
    per = (((claim.get("details") or {}).get("environments_with_weight") or {}).get("per_dataset") or {})
    out = []
    for ds, e in per.items():
        hp = e.get("per_hparam") or {}
        none = [_HPARAM.get(h, names.label(h)) for h, v in hp.items() if not v.get("kept")]
        if not none:
            continue
        kept = ", ".join(f"{v['kept']} vary {_HPARAM.get(h, names.label(h))}" for h, v in hp.items()
                         if v.get("kept"))
        out.append(f"On {names.DATASETS.get(ds, ds)} only {e['kept']} of {e['total']} environments keep "
                   f"any weight ({kept}), none varying {' or '.join(none)}: the worst case says "
                   "nothing about those.")
    return out


def _reference(claim: Mapping[str, Any]) -> list[str]:
    """X5: on each dataset where a plain validation set ranks the gaps as well as the weakness
    estimator (Ψ at least as high, worst-case sign error at most as high; the claim's
    ``validation_reference``), both estimators' numbers."""
    per = (((claim.get("details") or {}).get("validation_reference") or {}).get("per_dataset") or {})
    out = []
    for ds, r in per.items():
        if not r.get("as_good"):
            continue
        out.append(f"On {names.DATASETS.get(ds, ds)} a plain validation set scores as well (a comparison "
                   f"the registration did not make): the validation oracle's Ψ = {names.signed(r['psi'], 3)}, "
                   f"95 % CI {_ci(r['psi_ci'])}, worst-case sign error {names.num(r['sign_error_max'], 2)}; "
                   f"{names.label(r['measure']).split(' (')[0]}'s Ψ = {names.signed(r['measure_psi'], 3)}, "
                   f"worst-case sign error {names.num(r['measure_sign_error_max'], 2)}.")
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
                   f"other way: ρ = {names.signed(w1['rho'], 3)} (p = {_p(w1['p'])}).")
    sec = d.get("secondary_weakness")
    if isinstance(sec, Mapping) and sec.get("rule_outcome") and sec["rule_outcome"] != claim["verdict"]:
        if sec.get("measure") == d.get("confirmatory_weakness"):
            out.append(f"Under the original head-to-head rule, which also asks the CI to contain the "
                       f"paper's value, the same estimate would be {WORDS[sec['rule_outcome']]}.")
        elif not d.get("confirmatory_weakness") and sec.get("ci95_raw"):
            out.append(f"The registered secondary weakness estimator, {names.label(sec['measure'])}, "
                       f"would be {WORDS[sec['rule_outcome']]} under the same rule: ρ = "
                       f"{names.signed(sec['rho_raw'], 3)}, 95 % CI {_ci(sec['ci95_raw'])} "
                       f"(p = {_p(sec['p'])}).")
    oracle = d.get("oracle")
    if isinstance(oracle, Mapping) and not oracle.get("weakness_better_than_oracle", True):
        lo, hi = oracle["difference_ci95"]
        out.append(f"A plain validation set does as well or better: the validation oracle's ρ = "
                   f"{names.signed(oracle['oracle_rho'], 3)}; ρ({names.label(oracle['measure']).split(' (')[0]}) − "
                   f"ρ(oracle) = {names.signed(oracle['difference'], 3)}, 95 % CI {_ci([lo, hi])}.")
    out += _reference(claim) + _trained_condition(claim) + _environments(claim)
    needs_rule = d.get("per_seed") or d.get("confirmatory_p") is not None or "n_large" in d
    reg = _registration(claim) if needs_rule else {}
    alpha = (reg.get("thresholds") or {}).get("p")
    return (_sign_only(claim, None if alpha is None else float(alpha)) + out
            + _paper_outside_ci(claim, reg.get("target") or {})
            + _failed_conditions(d, reg.get("target") or {}))
