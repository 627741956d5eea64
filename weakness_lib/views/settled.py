"""Chapter 05c, "Settled at full scale": B6-60k-R, B7-60k, IV and B5-R.

Reads stored tables (through each study's ``analyse``, which reads stored statistics only) and claim
files; computes nothing that a study stores. Every caveat a reader would ask about is derived from
the numbers here, so the page cannot say more than they show.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import pandas as pd

from weakness_lib.engine.base import rule
from weakness_lib.views import names
from weakness_lib.views.chapter import claim  # noqa: F401  (the chapter reads it from here)
from weakness_lib.views.names import label, minus  # noqa: F401  (readers' names, one place)
from weakness_lib.views.settled_beside import (  # noqa: F401  (the chapter reads them here)
    _missing,
    b5_caveat,
    caveats_beside,
    first_population_glue,
    interval,
    iv_caveat,
    pval,
    replication_caveat,
    signed,
)

DATASETS = names.DATASETS  # the datasets as a reader names them (one place)
#: the measures the B6-60k-R/B7-60k registrations report beside W2, in that order
REPORTED: tuple[str, ...] = ("w2", "w1_tau0.01", "val_acc", "mean_conf", "lambda_max", "sam",
                             "lzma_bytes")
VERDICTS: dict[str, str] = {"reproduced": "✅ reproduced", "partially_reproduced": "🟡 partially reproduced",
                            "not_reproduced": "❌ not reproduced"}


def population_table(result: Mapping[str, Any]) -> pd.DataFrame:
    """W2 (the registered test) and the measures reported beside it: Spearman ρ with test
    accuracy, its 95 % CI, p and the Holm-adjusted p over every measure of the study."""
    t = result["stats"]["tables"]["test_acc"].set_index("measure")
    rows = []
    for m in REPORTED:
        if m not in t.index:
            continue
        r = t.loc[m]
        rows.append({"measure": label(m), "ρ with test accuracy": signed(r["rho"]),
                     "95 % CI": interval(r["ci_lo"], r["ci_hi"]), "p": pval(r["p"]),
                     "Holm p": pval(r["p_holm"])})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# IV
# ---------------------------------------------------------------------------------------------
def iv_table(iv: Mapping[str, Any]) -> pd.DataFrame:
    """Per dataset: the registered partial ρ (given the oracle) and what the registration reports
    beside it, in readers' words."""
    rows = []
    for ds, name in DATASETS.items():
        d = iv["details"].get(ds)
        if d is None:
            continue
        g, conf, both, diff = d["given_oracle"], d["given_confidence"], d["given_both"], d["difference"]
        rows.append({
            "dataset": name,
            "W2 given the oracle: partial ρ": signed(g["rho"]),
            "95 % CI": interval(g.get("ci_lo"), g.get("ci_hi")),
            "Holm p": pval(g.get("p_holm")),
            "given mean confidence": signed(conf["rho"]),
            "given both": signed(both["rho"]),
            "ρ(W2) − ρ(oracle)": f"{signed(diff['difference'])} {interval(diff['ci_lo'], diff['ci_hi'])}",
        })
    return pd.DataFrame(rows)


def noise_table(iv: Mapping[str, Any]) -> pd.DataFrame:
    """Per dataset: how noisy the oracle is, and the partial ρ a perfect predictor of accuracy
    would show only because of that noise (median and 95 % range over simulations)."""
    rows = []
    for ds, name in DATASETS.items():
        d = iv["details"].get(ds)
        if d is None:
            continue
        n = d["oracle_noise"]
        rows.append({
            "dataset": name, "oracle images": f"{n['images']:,}",
            "binomial s.e. (median)": f"{n['se_median']:.4f}",
            "spread between networks (sd)": f"{n['sd_between']:.4f}",
            "reliability": "—" if n["reliability"] is None else minus(f"{n['reliability']:.2f}"),
            "noise-only partial ρ": f"{signed(n['reference_median'])} "
                                    f"{interval(n['reference_lo'], n['reference_hi'])}",
        })
    return pd.DataFrame(rows)


def iv_glue(iv: Mapping[str, Any]) -> dict[str, Any]:
    """Numbers for the IV prose, keyed ``iv_<dataset>_<what>``."""
    out: dict[str, Any] = {"iv_verdict": VERDICTS[iv["verdict"]], "iv_value": iv["our_value"]}
    for ds in DATASETS:
        d = iv["details"].get(ds)
        if d is None:
            continue
        out[f"iv_{ds}_partial"] = d["given_oracle"]["rho"]
        out[f"iv_{ds}_p_holm"] = d["given_oracle"].get("p_holm")
        out[f"iv_{ds}_reference"] = d["oracle_noise"]["reference_median"]
        out[f"iv_{ds}_reliability"] = d["oracle_noise"]["reliability"]
    return out


# ---------------------------------------------------------------------------------------------
# B5 with 5 and with 20 seeds
# ---------------------------------------------------------------------------------------------
def b5_table(b5: Mapping[str, Any], b5r: Mapping[str, Any]) -> pd.DataFrame:
    """The large-batch advantage (percentage points, paired by seed) at the smallest and largest
    n: B5's 5 seeds beside B5-R's 20 fresh seeds, with ±1 s.e. and the verdict of each."""
    rows = []
    for name, c in (("B5 (chapter 03)", b5), ("B5-R (fresh seeds)", b5r)):
        d = c["details"]
        seeds = max(int(p["seeds"]) for p in d["curve"])
        rows.append({
            "study": name, "paired seeds": seeds,
            f"advantage at n = {d['n_small']:,} [pp]": f"{signed(d['A_small_n'], 2)} ± {d['se_small_n']:.2f}",
            f"advantage at n = {d['n_large']:,} [pp]": f"{signed(d['A_large_n'], 2)} ± {d['se_large_n']:.2f}",
            "95 % CI at the largest n": interval(*(c["ci95"] or (None, None)), digits=2),
            "verdict": VERDICTS[c["verdict"]],
        })
    return pd.DataFrame(rows)


#: the claims the chapter needs, and those it shows once computed (B5-R: registered, run last)
REQUIRED: tuple[str, ...] = ("B6-60k-R", "B7-60k", "IV", "B5")
LATER: tuple[str, ...] = ("B5-R",)


def claims(scale: str) -> dict[str, Mapping[str, Any]]:
    """The chapter's claim files at ``scale``: every one of :data:`REQUIRED` (a missing one raises
    :class:`~weakness_lib.engine.base.MissingResults` naming its command), those of :data:`LATER`
    that are derived."""
    from weakness_lib.views.chapter import derived

    return {**{c: claim(c, scale) for c in REQUIRED}, **derived(LATER, scale)}


#: what B5's rule says of the curve, per verdict (the rule: configs/batch_size_r.yaml)
_B5_READING = {
    "reproduced": "the gap vanishes as n grows, as the paper says",
    "partially_reproduced": "the gap shrinks significantly as n grows but stays more than {k} standard "
                            "errors above zero at the largest n, so it does not vanish",
    "not_reproduced": "the gap does not shrink as the rule asks",
}


def b5_glue(claims: Mapping[str, Mapping[str, Any]], scale: str) -> dict[str, Any]:
    """Numbers for the B5-R prose, keyed ``b5_*`` / ``b5r_*`` (a dash for each until B5-R is derived)."""
    from weakness_lib.engine.base import settings

    curve = (claims["B5"].get("details") or {}).get("curve") or []
    out: dict[str, Any] = {"b5_seeds": max((int(p["seeds"]) for p in curve), default=0)}
    seeds = settings("batch_size_r", scale).seeds
    out["b5r_seed_range"] = f"{min(seeds)}–{max(seeds)}"
    keys = ("b5r_seeds", "b5r_n_small", "b5r_n_large", "b5r_small", "b5r_large", "b5r_ci", "b5r_paper",
            "b5r_verdict")
    if "B5-R" not in claims:
        return {**out, **dict.fromkeys(keys, "—")}
    c = claims["B5-R"]
    d, reg = c["details"], rule("batch_size_r", "B5-R")
    target = _paper_at_largest_n(reg)
    return {**out, "b5r_seeds": max(int(p["seeds"]) for p in d["curve"]),
            "b5r_n_small": f"{d['n_small']:,}", "b5r_n_large": f"{d['n_large']:,}",
            "b5r_small": f"{signed(d['A_small_n'], 2)} ± {d['se_small_n']:.2f}",
            "b5r_large": f"{signed(d['A_large_n'], 2)} ± {d['se_large_n']:.2f}",
            "b5r_ci": interval(*(c["ci95"] or (None, None)), digits=2), "b5r_paper": signed(target, 2),
            "b5r_verdict": VERDICTS[c["verdict"]]}


def b5_reading(b5r: Mapping[str, Any]) -> str:
    """What B5's rule says of B5-R's curve, in words (its verdict's reading)."""
    k = names.num(rule("batch_size_r", "B5-R")["thresholds"]["se_multiple"])
    text = _B5_READING[b5r["verdict"]].format(k=k)
    return text[0].upper() + text[1:] + "."


def b5_section(claims: Mapping[str, Mapping[str, Any]]) -> Any:
    """B5 beside B5-R (:func:`b5_table`), or, until B5-R is computed, a sentence saying so."""
    from IPython.display import HTML

    from weakness_lib.views import tables

    if "B5-R" not in claims:
        curve = (claims["B5"].get("details") or {}).get("curve") or []
        seeds = f"{max(int(p['seeds']) for p in curve)} seeds" if curve else "seeds"
        return HTML("<p><b>Not computed yet.</b> B5-R is registered (<code>configs/batch_size_r.yaml</code>, "
                    "committed before any of its units) and runs after the two populations above; until "
                    f"it is in the results store, B5 rests on its {seeds} (chapter 03). Compute it with "
                    "<code>weakness-repro run batch_size_r --scale full</code>.</p>")
    table = tables.table(b5_table(claims["B5"], claims["B5-R"]),
                         caption="Small-batch advantage acc(batch 32) − acc(batch 2048), percentage points, "
                                 "±1 standard error over paired seeds.")
    return HTML(f"<p>{html.escape(b5_reading(claims['B5-R']))}</p>{table.data}")


# ---------------------------------------------------------------------------------------------
# The answer first: one box per claim, and the numbers the prose glues
# ---------------------------------------------------------------------------------------------
#: claim → the study that computes it (the populations are analysed by ``replication``)
POPULATIONS: dict[str, str] = {"B6-60k-R": "scale_60k_mnist_r", "B7-60k": "scale_60k_fmnist"}


def oracle_rho(result: Mapping[str, Any]) -> float:
    """The validation oracle's Spearman ρ with test accuracy in a stored population."""
    t = result["stats"]["tables"]["test_acc"].set_index("measure")
    return float(t.loc["val_acc", "rho"])


def paper_rho(result: Mapping[str, Any]) -> float:
    """The paper's weakness ρ, as registered for this population's claim."""
    return float(result["rule"]["target"]["weakness"]["rho"])


def _paper_at_largest_n(reg: Mapping[str, Any]) -> float:
    """The paper's advantage at the largest n it reports (60,000; the smoke grid stops earlier)."""
    by_n = reg["target"]["advantage_pp"]
    return float(by_n[max(by_n, key=int)])


def population_glue(cid: str, c: Mapping[str, Any], result: Mapping[str, Any]) -> dict[str, Any]:
    """Numbers for the populations' prose, keyed ``<b6r|b7>_<what>``."""
    tag = {"B6-60k-R": "b6r", "B7-60k": "b7"}[cid]
    w1 = (c.get("details") or {}).get("w1") or {}
    t = result["stats"]["tables"]["test_acc"].set_index("measure")
    out = {f"{tag}_rho": c["our_value"], f"{tag}_p": (c.get("details") or {}).get("confirmatory_p"),
           f"{tag}_verdict": VERDICTS[c["verdict"]], f"{tag}_oracle": oracle_rho(result),
           f"{tag}_w1": w1.get("rho"), f"{tag}_paper": paper_rho(result),
           f"{tag}_acc": float(result["frame"]["test_acc"].mean())}
    for m in ("lambda_max", "sam"):
        if m in t.index:
            out[f"{tag}_{m}"] = float(t.loc[m, "rho"])
    return out
