"""The code of chapter 03 (claim B5, the small-batch advantage against n): tables, figures and
glue values from the stored table and the claim file B5 (read, never re-derived)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from weakness_lib.bennett.weakness import column
from weakness_lib.studies.bennett.batch_size import TRACKED
from weakness_lib.views import names, style, tables
from weakness_lib.views.chapter import glue as glue_all
from weakness_lib.views.invariance_audit import py

W1 = column("w1", tau=0.01)


def _paper(result: Mapping[str, Any]) -> pd.Series:
    return pd.Series(result["paper_advantage"]).sort_index()  # n → paper's advantage (pp)


def _tracked(result: Mapping[str, Any]) -> list[str]:
    return [m for m in TRACKED if m in result["frame"]]


def advantage_table(result: Mapping[str, Any]) -> Any:
    """A(n) = acc(small batch) − acc(large batch) per n, beside the paper's."""
    cfg, adv = result["settings"], result["advantage"]
    show = adv[["n", "seeds", "acc_small", "acc_large", "advantage_pp", "se_pp", "paper_pp"]].rename(columns={
        "acc_small": f"test acc, batch {cfg.batch_small} (%)",
        "acc_large": f"test acc, batch {cfg.batch_large} (%)",
        "advantage_pp": "advantage A(n) = small − large (pp)", "se_pp": "s.e. (pp)", "paper_pp": "paper (pp)"})
    return tables.table(show, formats={"n": "{:,.0f}"}, digits=3,
                        missing="the paper reports the advantage only at n = 2,000 and n = 60,000")


def advantage_figure(result: Mapping[str, Any]):  # -> Figure
    """A(n) with its paired standard error, and the paper's two values."""
    import matplotlib.pyplot as plt

    adv, paper = result["advantage"], _paper(result)
    fig, ax = plt.subplots(figsize=style.figsize(panel_aspect=0.5))
    ax.errorbar(adv["n"], adv["advantage_pp"], yerr=adv["se_pp"], fmt="o-", capsize=4,
                label="ours: mean ± s.e. (paired)")
    ax.scatter(paper.index, paper.values, marker="*", s=220, c="crimson", zorder=5,
               label="paper: " + " → ".join(f"{v:+g} %" for v in paper.values))
    ax.axhline(0, c="grey", lw=1)
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(sorted(adv["n"]), [f"{n:,}" for n in sorted(adv["n"])])
    ax.set_xlabel("training-set size n")
    ax.set_ylabel("advantage = acc(small) − acc(large)  [pp]")
    ax.set_title("Small-batch advantage vs n (MNIST)")
    ax.legend()
    return fig


def measures_figure(result: Mapping[str, Any]):  # -> seaborn FacetGrid
    """Test accuracy and every tracked measure against n, per batch-size regime."""
    import seaborn as sns

    frame, tracked = result["frame"], _tracked(result)
    long = frame.melt(id_vars=["n", "regime", "seed"], value_vars=["test_acc", *tracked], var_name="measure")
    long["measure"] = long["measure"].map(names.short)  # the panel titles: readers' names
    g = sns.relplot(data=long, x="n", y="value", hue="regime", col="measure", col_wrap=2, kind="line",
                    marker="o", errorbar="se", **style.facet(2, panel_aspect=0.62),
                    facet_kws={"sharey": False})
    ns = sorted(frame["n"].unique())
    for ax in g.axes.flat:
        ax.set_xscale("log")
        ax.minorticks_off()
        ax.set_xticks(ns, [f"{n // 1000}k" if n >= 1000 else str(n) for n in ns])
    g.set_titles("{col_name}")
    g.set_axis_labels(names.label("n"), "")
    style.legend_below(g, ncol=2)
    return g


def differences(result: Mapping[str, Any]) -> None:
    """Show the measures' large − small differences per n, then the smallest and largest n side by
    side (glued: the λ_max ratios)."""
    from IPython.display import display

    adv, tracked = result["advantage"], _tracked(result)
    diff_cols = ["n", "advantage_pp"] + [f"{m}_diff" for m in tracked]
    display(tables.table(adv[diff_cols].rename(columns={f"{m}_diff": f"Δ {names.short(m)} (large − small)" for m in tracked}),
                         formats={"n": "{:,.0f}"}, digits=3))
    lo, hi = adv.iloc[0], adv.iloc[-1]

    def ratio(row, m):
        return row[f"{m}_large"] / row[f"{m}_small"]

    def values(row):
        return [row["advantage_pp"], ratio(row, "lambda_max"), ratio(row, "trace"), row[W1 + "_diff"], row["w2_diff"]]

    track = pd.DataFrame({
        "quantity": ["accuracy advantage (pp)", "λ_max ratio large/small", "trace ratio large/small",
                     "W1 τ=0.01 difference large − small (bits)", "W2 difference large − small"],
        f"n = {int(lo['n']):,}": values(lo), f"n = {int(hi['n']):,}": values(hi)})
    glue_all(b5_lmax_ratio_small_n=py(ratio(lo, "lambda_max")), b5_lmax_ratio_large_n=py(ratio(hi, "lambda_max")),
             **persistence(lo, hi))
    display(tables.table(track, digits=3))


def _weaker(lo: float, hi: float) -> str:
    """W1 and W2 are weakness estimators (larger = weaker): the large-batch networks' side, from the
    large − small difference at the smallest (``lo``) and largest (``hi``) n."""
    def word(diff: float) -> str:
        return "weaker" if diff > 0 else "less weak" if diff < 0 else "as weak"

    return word(hi) if word(lo) == word(hi) else f"{word(lo)} at the smallest n and {word(hi)} at the largest"


def persistence(lo: Mapping[str, Any], hi: Mapping[str, Any]) -> dict[str, Any]:
    """How much of each regime difference is left at the largest n, as a fraction of its size at the
    smallest n (|largest| / |smallest|): the accuracy advantage, λ_max and the two weakness
    estimators. By the chapter's test a quantity that caused the advantage would shrink with it; the
    glued values let the prose say which ones persist, weakness included."""
    def kept(col: str) -> float:
        return py(abs(hi[col]) / abs(lo[col])) if lo[col] else float("nan")

    w1, w2 = W1 + "_diff", "w2_diff"
    return {"b5_adv_kept": kept("advantage_pp"), "b5_lmax_diff_kept": kept("lambda_max_diff"),
            "b5_w1_diff_small_n": py(lo[w1]), "b5_w1_diff_large_n": py(hi[w1]), "b5_w1_kept": kept(w1),
            "b5_w2_diff_small_n": py(lo[w2]), "b5_w2_diff_large_n": py(hi[w2]), "b5_w2_kept": kept(w2),
            "b5_w1_large_is": _weaker(lo[w1], hi[w1]), "b5_w2_large_is": _weaker(lo[w2], hi[w2])}


def verdict(result: Mapping[str, Any], claim: Mapping[str, Any]):  # -> IPython Markdown
    """The verdict from the claim file B5; glue the numbers the prose quotes."""
    from IPython.display import Markdown

    d, paper, wall = claim["details"], _paper(result), result["wall"]["compute_s"]
    words = claim["verdict"].replace("_", " ")
    glue_all(b5_verdict=words, b5_adv_small_n=py(d["A_small_n"]), b5_se_small_n=py(d["se_small_n"]),
             b5_adv_large_n=py(d["A_large_n"]), b5_se_large_n=py(d["se_large_n"]),
             b5_n_small=py(d["n_small"]), b5_n_large=py(d["n_large"]),
             b5_runs_capped=py(d["runs_stopped_by_cap"]), b5_wall_s=py(wall))
    return Markdown(
        f"**Verdict (pre-registered rule): {words}.** A({d['n_small']}) = {d['A_small_n']:+.2f} ± "
        f"{d['se_small_n']:.2f} pp (paper: {paper.iloc[0]:+g} %), A({d['n_large']}) = {d['A_large_n']:+.2f} ± "
        f"{d['se_large_n']:.2f} pp (paper: {paper.iloc[-1]:+g} %). Runs that hit a cap instead of the loss "
        f"criterion: {d['runs_stopped_by_cap']} of {d['runs']}. Wall time (sum of runs): {wall:.0f} s.")


def regimes(result: Mapping[str, Any]) -> Any:
    """The two regimes' training statistics per n."""
    return tables.table(result["regimes"], digits=4, formats={"n": "{:,.0f}"},
                        # which measure tracks the gap: accuracy beside sharpness and weakness
                        main=["n", "regime", "test_acc", "lambda_max", "trace", "w1_tau0.01", "w2"])
