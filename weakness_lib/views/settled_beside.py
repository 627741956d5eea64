"""Chapter 5c's words beside its result boxes and prose: the caveats a claim file alone cannot
give (IV's noise-only reference, B5-R beside B5, B6-60k-R beside the paper and B6-60k) and the
number of the first n = 60,000 population that the chapter quotes. Everything is read from claim
files and registrations; :mod:`weakness_lib.views.settled` re-exports it for the chapter."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from weakness_lib.engine.base import rule
from weakness_lib.views import names
from weakness_lib.views.names import DATASETS


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def signed(x: float | None, digits: int = 3) -> str:
    """This chapter's ρ format: :func:`names.signed` to three decimals unless told."""
    return names.signed(x, digits)


def pval(p: float | None) -> str:
    return "—" if _missing(p) else names.num(p, 2)


def interval(lo: float | None, hi: float | None, digits: int = 3) -> str:
    return "—" if _missing(lo) or _missing(hi) else f"[{signed(lo, digits)}, {signed(hi, digits)}]"


# ---------------------------------------------------------------------------------------------
# B6-60k-R and B7-60k
# ---------------------------------------------------------------------------------------------
def iv_caveat(iv: Mapping[str, Any]) -> str:
    """The noise-only reference beside IV's verdict: what a perfect accuracy predictor would show."""
    d = iv["details"]
    per = [f"{signed(d[ds]['given_oracle']['rho'], 3)} on {name} (Holm p = {pval(d[ds]['given_oracle'].get('p_holm'))})"
           for ds, name in DATASETS.items() if ds in d]
    refs = [f"{signed(d[ds]['oracle_noise']['reference_median'], 2)} on {name}"
            for ds, name in DATASETS.items() if ds in d]
    return (f"The value above is the smaller of the datasets' partial ρ: {', '.join(per)}. "
            "Through the oracle's sampling noise alone, a perfect predictor of test accuracy would "
            f"show a partial ρ of about {' and '.join(refs)}: compare W2's values with these, not with 0.")


def b5_caveat(b5: Mapping[str, Any], b5r: Mapping[str, Any]) -> str:
    """B5-R's advantage at the largest n beside B5's estimate from fewer seeds (whether its CI
    holds the paper's value is a caveat of its own, :mod:`weakness_lib.views.caveats`)."""
    d, r = b5["details"], b5r["details"]
    seeds = [max(int(p["seeds"]) for p in x["curve"]) for x in (r, d)]
    return (f"At n = {r['n_large']:,} the advantage is {signed(r['A_large_n'], 2)} ± "
            f"{r['se_large_n']:.2f} pp with {seeds[0]} fresh seeds, {signed(d['A_large_n'], 2)} ± "
            f"{d['se_large_n']:.2f} pp with B5's {seeds[1]}.")


def replication_caveat(first: Mapping[str, Any], again: Mapping[str, Any]) -> str:
    """What B6-60k-R's registration reports beside its verdict: whether its CI contains the paper's
    ρ and the ρ of the population it replicates (B6-60k, as stored today)."""
    lo, hi = again["ci95"]
    paper = float(rule("scale_60k_mnist_r", "B6-60k-R")["target"]["weakness"]["rho"])

    def holds(v: float) -> str:
        return "contains" if lo <= v <= hi else "excludes"

    a, b = holds(paper), holds(first["our_value"])
    joined = f"{a} both" if a == b else a
    return (f"Its 95 % CI {interval(lo, hi, digits=3)} {joined} the paper's {signed(paper, 3)} "
            f"{'and' if a == b else 'but ' + b} the first n = 60,000 population's "
            f"ρ = {signed(first['our_value'], 3)} (B6-60k, chapter 5b).")


def first_population_glue(scale: str) -> dict[str, str]:
    """``b6_60k_rho``: W2's ρ on the first n = 60,000 MNIST population (B6-60k), signed, or a dash
    where its claim is not derived at this scale."""
    from weakness_lib.views.chapter import derived

    first = derived(("B6-60k",), scale).get("B6-60k")
    return {"b6_60k_rho": signed(first["our_value"], 3) if first else "—"}


def caveats_beside(scale: str) -> dict[str, str]:
    """This chapter's own caveats for its result box (claim id → sentence), read from claim files
    beyond what each file says of itself: IV's noise-only reference, B5-R beside B5 and the paper,
    B6-60k-R beside the paper and B6-60k."""
    from weakness_lib.views.chapter import derived

    c = derived(("IV", "B5", "B5-R", "B6-60k", "B6-60k-R"), scale)
    out = {"IV": iv_caveat(c["IV"])} if "IV" in c else {}
    if "B5" in c and "B5-R" in c:
        out["B5-R"] = b5_caveat(c["B5"], c["B5-R"])
    if "B6-60k" in c and c.get("B6-60k-R", {}).get("ci95"):
        out["B6-60k-R"] = replication_caveat(c["B6-60k"], c["B6-60k-R"])
    return out
