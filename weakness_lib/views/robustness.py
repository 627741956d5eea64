"""Claim X5 reported beyond its verdict: the registered rule for every weakness variant, the
environments that kept a Hoeffding weight, and Ψ without same-configuration seed pairs.

* **Rule per variant** (registered: "reported for W1 (τ = 0.01) and every other weakness variant,
  not part of the verdict"). On one dataset a measure m is *robustly predictive* if
  (i) max_e err_e(m) < min_{s ∈ sharpness} max_e err_e(s) (worst-case sign error over the
  environments e that kept weight, strictly lower than that of every sharpness-family measure) and
  (ii) Ψ(m) > 0 with the lower end of its 95 % CI > 0. Read from the stored score tables only.
* **Environments that kept weight.** An environment (a, b) keeps weight when some pair of networks
  i ∈ a, j ∈ b has Hoeffding weight w_ij > 0, i.e. |g_i − g_j| above the noise of n_eval test
  images. w depends on the gaps only, so the count is the same for every measure. Environments are
  ordered pairs (the protocol's count: each unordered pair twice).
* **Ψ without same-configuration pairs** (sensitivity analysis, no verdict changes). Ψ's
  within-group τ counts, besides the pairs whose varied hyper-parameter differs, the pairs of seeds
  of one configuration, whose hyper-parameters are all equal; leaving those out scores only pairs
  whose hyper-parameter k differs (:func:`weakness_lib.bennett.robustness.psi_interval`).

The computation (:func:`~weakness_lib.studies.bennett.robustness_rules.rule_per_variant`, …) is the
study's (:mod:`weakness_lib.studies.bennett.robustness_rules`); the views here
(:func:`variant_table`, :func:`environment_table`, :func:`psi_sensitivity_table`,
:func:`glue_values`) only read the ``analyse`` result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from weakness_lib.views.names import DATASETS, label


# ---------------------------------------------------------------------------------------------
# Views (chapter 05b): read the analyse result only
# ---------------------------------------------------------------------------------------------
def _order(measures: Sequence[str], first: Sequence[str]) -> list[str]:
    return [m for m in first if m in measures] + [m for m in measures if m not in first]


def variant_table(result: Mapping[str, Any]) -> pd.DataFrame:
    """One row per (weakness variant, dataset): the registered rule's two parts and its outcome;
    the primary and secondary estimators first."""
    cfg, rules = result["settings"], result["per_variant"]
    rows = []
    for m in _order(list(rules), [cfg.primary_weakness, cfg.secondary_weakness]):
        for ds, name in DATASETS.items():
            r = rules[m].get(ds)
            if r is None or "psi" not in r:
                continue
            rows.append({"estimator": label(m), "dataset": name,
                         "worst-case sign error": r["sign_error_max"],
                         "below every sharpness measure": r["worst_case_lower_than_every_sharpness"],
                         "Ψ": r["psi"], "Ψ lo": r["psi_ci"][0], "Ψ hi": r["psi_ci"][1],
                         "CI excludes 0": r["psi_ci"][0] > 0 or r["psi_ci"][1] < 0,
                         "robustly predictive": r["holds"], "on both datasets": rules[m]["on_both"]})
    return pd.DataFrame(rows)


def environment_table(result: Mapping[str, Any]) -> pd.DataFrame:
    """Per dataset: "kept of all" environments overall and per varied hyper-parameter."""
    rows = []
    for ds, c in result["environments"].items():
        row = {"dataset": DATASETS.get(ds, ds), "all": f"{c['kept']} of {c['total']}"}
        row.update({label(h): f"{v['kept']} of {v['total']}"
                    for h, v in c["per_hparam"].items()})
        rows.append(row)
    return pd.DataFrame(rows)


def psi_sensitivity_table(result: Mapping[str, Any], families: Sequence[str] = ("sharpness",)) -> pd.DataFrame:
    """Ψ as registered and without same-configuration pairs, per dataset: the primary and secondary
    weakness estimators, every measure of ``families`` and the validation oracle."""
    cfg, psi = result["settings"], result["psi_between"]
    first = [cfg.primary_weakness, cfg.secondary_weakness]
    rows = []
    for ds, name in DATASETS.items():
        t, sc = psi.get(ds), result["scores"].get(f"{ds}/gap_acc")
        if t is None or sc is None:
            continue
        fam = sc.set_index("measure")["family"]
        keep = [m for m in t["measure"] if m in first or fam.get(m) in families or m == "val_acc"]
        for m in _order(keep, first):
            r = t[t["measure"] == m].iloc[0]
            rows.append({"estimator": label(m), "dataset": name, "Ψ (registered)": r["psi"],
                         "Ψ without same-configuration pairs": r["psi_between"],
                         "lo": r["psi_between_lo"], "hi": r["psi_between_hi"]})
    return pd.DataFrame(rows)


def _list(items: Sequence[str]) -> str:
    if not items:
        return "none"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def glue_values(result: Mapping[str, Any]) -> dict[str, Any]:
    """Numbers and phrases of the chapter's prose, keyed ``x5r_…`` (myst-nb glue names)."""
    rules, out = result["per_variant"], {"x5r_n_variants": len(result["per_variant"])}
    for ds, tag in (("mnist", "mnist"), ("fashion_mnist", "fmnist")):
        out[f"x5r_{tag}_robust"] = sum(bool(r.get(ds, {}).get("holds")) for r in rules.values())
        c = result["environments"].get(ds)
        if c is not None:
            out[f"x5r_{tag}_kept"], out[f"x5r_{tag}_total"] = c["kept"], c["total"]
            out[f"x5r_{tag}_none_kept"] = _list([label(h) for h, v in c["per_hparam"].items()
                                                 if v["kept"] == 0])
        t = result["psi_between"].get(ds)
        for key, m in (("w2", result["settings"].primary_weakness),
                       ("w1", result["settings"].secondary_weakness)):
            hit = pd.DataFrame() if t is None else t[t["measure"] == m]
            if len(hit):
                out[f"x5r_{tag}_{key}_psi"] = float(hit["psi"].iloc[0])
                out[f"x5r_{tag}_{key}_psi_between"] = float(hit["psi_between"].iloc[0])
    out["x5r_both"] = _list([label(m) for m, r in rules.items() if r["on_both"]])
    return out
