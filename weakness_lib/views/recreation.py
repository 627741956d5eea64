"""The re-creation of Bennett (2023) in chapter 06: w-maxing against MDL on binary arithmetic —
the table, the per-bit figure and the glued summary, from the analysed ``theory`` tables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from weakness_lib.views import style, tables
from weakness_lib.views.chapter import glue


def recreation(result: Mapping[str, Any]) -> None:
    """w-maxing vs MDL on binary arithmetic: table, per-bit figure and the glued summary."""
    import seaborn as sns
    from IPython.display import display

    rec = result["recreation"].copy()
    rec["ratio"] = rec["ratio_wmax_over_mdl"]
    show = rec[["op", "n_train", "n_trials", "rate_wmax", "rate_mdl", "ratio", "extent_wmax", "extent_mdl",
                "frac_mdl_wmaximiser"]].rename(columns={"n_train": "n_examples"})
    display(tables.table(show, formats={"rate_wmax": "{:.3g}", "rate_mdl": "{:.3g}", "ratio": "{:.3g}",
                                        "extent_wmax": "{:.2f}", "extent_mdl": "{:.2f}",
                                        "frac_mdl_wmaximiser": "{:.3f}"},
                         missing="MDL's rate is 0 there, so the ratio is undefined"))
    bits = rec.melt(id_vars=["op", "n_train"], value_name="rate", var_name="which",
                    value_vars=[c for c in rec.columns if c.startswith(("rate_wmax_bit", "rate_mdl_bit"))]).dropna()
    bits["proxy"] = np.where(bits["which"].str.contains("wmax"), "w-maxing", "MDL")
    bits["bit"] = bits["which"].str.extract(r"bit(\d)").astype(int)
    bits["target"] = bits["op"] + " bit " + bits["bit"].astype(str)
    g = sns.catplot(data=bits, x="n_train", y="rate", hue="proxy", col="target", col_wrap=3, kind="bar",
                    col_order=sorted(bits["target"].unique()), **style.facet(3, panel_aspect=0.8), sharey=False)
    g.set_axis_labels("training examples", "P(generalises)")  # short: rows' labels must not meet
    g.set_titles("{col_name}")
    style.legend_below(g, ncol=2)
    style.show(g)
    glue(**recreation_glue(rec, bits))


#: a success probability below this is negligible: the re-creation's summary counts who wins only
#: where at least one of the two methods reaches it
NEGLIGIBLE = 0.01


def _who_wins(wmax: pd.Series, mdl: pd.Series, where: pd.Series) -> dict[str, Any]:
    """Among the cells where either method succeeds with probability ≥ :data:`NEGLIGIBLE`: how many,
    how many each method wins (ties counted apart), and the largest rate in the other cells."""
    live = (wmax >= NEGLIGIBLE) | (mdl >= NEGLIGIBLE)
    dead = ~live
    return {"live": int(live.sum()), "wmax": int((live & (wmax > mdl)).sum()),
            "mdl": int((live & (mdl > wmax)).sum()), "tie": int((live & (mdl == wmax)).sum()),
            "dead": int(dead.sum()), "dead_max": float(pd.concat([wmax[dead], mdl[dead]]).max()) if dead.any() else 0.0,
            "wmax_where": list(where[live & (wmax > mdl)])}


def recreation_glue(rec: pd.DataFrame, bits: pd.DataFrame) -> dict[str, Any]:
    """The numbers the re-creation's prose quotes. Who wins is counted only where either method
    generalises with a probability of at least :data:`NEGLIGIBLE` (a win at 1e-8 against 0 says
    nothing), and the remaining cells are said apart with their largest rate."""
    wide = bits.pivot_table(index=["target", "n_train"], columns="proxy", values="rate").reset_index()
    add14 = rec[(rec.op == "add") & (rec.n_train == 14)].iloc[0]
    tasks = _who_wins(rec["rate_wmax"], rec["rate_mdl"], rec["op"] + " at n = " + rec["n_train"].astype(str))
    per_bit = _who_wins(wide["w-maxing"], wide["MDL"], wide["target"] + " at n = " + wide["n_train"].astype(str))
    live = rec[(rec["rate_wmax"] >= NEGLIGIBLE) | (rec["rate_mdl"] >= NEGLIGIBLE)]
    ratios = live["ratio"].dropna() if "ratio" in live else pd.Series(dtype=float)

    def rest(w: dict[str, Any], unit: str) -> str:
        if not w["dead"]:
            return ""
        return (f"; in the other {w['dead']} {unit} neither method reaches {pct} (the larger "
                f"rate there is {w['dead_max']:.2g})")

    def winners(w: dict[str, Any], unit: str, total: int) -> str:
        head = (f"in {w['live']} of the {total} {unit} at least one method generalises with probability "
                f"≥ {pct}; there MDL generalised more often in {w['mdl']} and w-maxing in {w['wmax']}")
        head += f" ({', '.join(w['wmax_where'])})" if w["wmax"] else ""
        return head + (f", with {w['tie']} ties" if w["tie"] else "")

    pct = f"{NEGLIGIBLE * 100:g} %"
    ratio_text = (f"; w-maxing's rate was {ratios.min():.2g}–{ratios.max():.2g} times MDL's there"
                  if len(ratios) else "")
    won = rec[rec["rate_wmax"] > rec["rate_mdl"]]
    where = ", ".join(won["op"] + " at n = " + won["n_train"].astype(str))
    if not len(won):
        won_text = "; w-maxing generalised more often in no setting at all"
    elif (won["rate_mdl"] == 0).all():
        won_text = (f"; w-maxing generalised more often only where MDL never generalises ({where}), and "
                    f"there with probability at most {won['rate_wmax'].max():.2g}")
    else:
        won_text = f"; over all settings w-maxing generalised more often in {len(won)} ({where})"
    return {
        "rec_threshold": NEGLIGIBLE,
        "rec_bit_wins": winners(per_bit, "(bit, n) cells", len(wide)) + rest(per_bit, "cells"),
        "rec_add14_wmax": float(add14.rate_wmax), "rec_add14_mdl": float(add14.rate_mdl),
        "rec_mdl_is_wmax": float(rec["frac_mdl_wmaximiser"].min()),
        "rec_summary": winners(tasks, "(operation, n) settings", len(rec)) + ratio_text + rest(tasks, "settings")
                       + won_text,
    }
