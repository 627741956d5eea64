"""Weakness against a validation set, in the landing page's words: the populations where the
paired-bootstrap difference ρ(W2) − ρ(oracle) is stored (:func:`oracle_rows`), and claim IV per
dataset — does W2 add information given the oracle, and what would the oracle's sampling noise
alone give a perfect predictor (:func:`iv_sentence`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from weakness_lib.engine.base import rule
from weakness_lib.views import names
from weakness_lib.views.claims import badge as _badge

Claim = Mapping[str, Any]


def oracle_rows(claims: Iterable[Claim]) -> list[tuple[str, float, float, tuple[float, float]]]:
    """``(claim, ρ(W2), ρ(oracle), CI of the difference)`` for every claim that stores the oracle."""
    out = []
    for c in claims:
        o = (c.get("details") or {}).get("oracle")
        if isinstance(o, Mapping) and o.get("difference_ci95"):
            out.append((c["claim_id"], float(c["our_value"]), float(o["oracle_rho"]),
                        tuple(o["difference_ci95"])))
    return out




def iv_sentence(iv: Claim | None) -> str:
    """Claim IV per dataset: W2's partial ρ given the validation oracle, whether it adds
    information by the registered rule (ρ > 0 and Holm p below IV's registered threshold, read
    from ``configs/weakness_vs_validation.yaml``), and, where it does, what a perfect
    predictor of test accuracy would show through the oracle's sampling noise alone."""
    d = (iv or {}).get("details") or {}
    rows = [(name, d[k]["given_oracle"], d[k].get("oracle_noise") or {})
            for k, name in names.DATASETS.items() if isinstance(d.get(k), Mapping)]
    if not rows:
        return ""
    alpha = float(rule("weakness_vs_validation", "IV")["thresholds"]["p"])
    adds = [(n, g, z) for n, g, z in rows if g["rho"] > 0 and (g.get("p_holm") or 1) < alpha]
    text = ("Given that accuracy, W2 still adds information about test accuracy (claim IV, partial ρ) on "
            + ("; ".join(f"{n} ({names.signed(g['rho'])}, Holm p = {names.num(g['p_holm'], 2)})" for n, g, _ in adds)
               if adds else "no dataset")
            + (" but not on " + "; ".join(f"{n} ({names.signed(g['rho'], 3)})" for n, g, _ in rows if (n, g, _) not in adds)
               if len(adds) < len(rows) else "")
            + f" {_badge(iv)}. ")
    noisy = [(n, z["reference_median"]) for n, _, z in adds if z.get("reference_median") is not None]
    images = {z.get("images") for *_, z in adds} - {None}
    if noisy:
        text += (f"Where it does, the oracle's {names.num(images.pop()) + ' ' if len(images) == 1 else ''}"
                 "images are too few to rank networks this similar: a "
                 "perfect predictor of test accuracy would show a partial ρ of "
                 + " and ".join(f"{names.signed(r)} on {n}" for n, r in noisy)
                 + " through that noise alone, so the addition may only reflect a validation set that "
                   "is too small.")
    return text
