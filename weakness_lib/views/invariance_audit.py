"""The code of chapter 02 (claim B2, the invariance audit): tables, figure and glue values from
the stored table and the claim file B2 (the verdict and its facts are read, never re-derived)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from weakness_lib.bennett.weakness import column
from weakness_lib.views import names, style, tables
from weakness_lib.views.chapter import glue as glue_all

#: the measures drawn in the figure
PICK = [column("w1", tau=0.01), "w2", "entropy_bits", "test_acc", "lambda_max", "trace", "sam", "asam",
        "pacbayes_sigma", "pacbayes_bound", "lzma_bytes", "l2_norm", "path_norm"]


def py(value: Any) -> Any:
    """numpy scalar → Python number (glue formats only plain numbers)."""
    return value.item() if hasattr(value, "item") else value


def setting(result: Mapping[str, Any]) -> Any:
    """The audited network and the measurement settings (table)."""
    cfg, frame = result["settings"], result["frame"]
    t = cfg.train
    return tables.table(pd.Series({
        "dataset": names.DATASETS.get(cfg.dataset, cfg.dataset),
        "architecture": "-".join(map(str, cfg.widths)),
        "training images (stratified)": cfg.n_train,
        "optimiser": names.optimiser(t),
        "α grid": ", ".join(f"{a:g}" for a in cfg.alphas),
        "rescalings": "; ".join(MODES.get(m, m) for m in cfg.modes),
        "curvature batch (training images, float64)": cfg.curvature_batch,
        "weakness probe (held-out training images)": cfg.n_probe, "W2 probe": cfg.w2_probe,
        "test accuracy (float64, α = 1)": f'{frame.loc[frame["alpha"] == 1.0, "test_acc"].iloc[0]:.4f}',
        "wall time of the experiment (s, sum of units)": f'{result["wall"]["compute_s"]:.1f}',
    }))


def summary(result: Mapping[str, Any]) -> Any:
    """One line per measure: exact invariance and its largest change."""
    def factor(v: float) -> str:
        return f"{v:.3g}×"

    short = {"max_change": "largest change factor", "change_layer1": "first layer ×α",
             "change_chain": "chained", "max_rel_diff": "largest |v(α)/v(1) − 1|"}
    show = result["summary"][["measure", "family", "exact", *short]].rename(columns=short)
    return tables.table(show, key=["measure", "largest change factor"], formats={
        "largest change factor": factor, "first layer ×α": factor, "chained": factor,
        "largest |v(α)/v(1) − 1|": "{:.1e}"})


#: the two function-preserving rescalings as the chapter describes them
MODES = {"layer1": "First hidden layer ×α, next layer ×1/α",
         "chain": "Chained: hidden layer ℓ ×α^ℓ, output layer rescaled to compensate"}


def per_mode(result: Mapping[str, Any]) -> None:
    """Show, per rescaling mode, every measure's factor v(α)/v(1)."""
    from IPython.display import Markdown, display

    for mode, wide in result["tables"].items():
        display(Markdown(f"**{MODES.get(mode, mode)}** — factor v(α)/v(1)"))
        display(tables.table(wide, index=True, digits=3, missing="the measure is not defined at "
                             "this α (its value at α = 1 is 0 or it changes sign)"))


def factors_figure(result: Mapping[str, Any]):  # -> seaborn FacetGrid
    """The change of each measure under T_α, one panel per mode."""
    import seaborn as sns

    factors, threshold = result["factors"], result["rule"]["thresholds"]
    plot = factors[factors["measure"].isin(PICK) & (factors["factor"] > 0)]
    order = sorted(plot["family"].unique(), key=lambda f: f == "weakness")  # weakness drawn last
    g = sns.relplot(data=plot, x="alpha", y="factor", hue="family", style="family", hue_order=order,
                    style_order=order, units="measure", estimator=None, row="mode", kind="line",
                    markers=True, dashes=False, **style.facet(1, panel_aspect=0.42),
                    facet_kws={"sharey": True, "sharex": True})
    g.set_titles("rescaling mode {row_name}")
    for ax in g.axes.flat:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.axhline(threshold["change_factor"], c="grey", ls=":", lw=1)
        ax.axhline(1 / threshold["change_factor"], c="grey", ls=":", lw=1)
        ax.set_xlabel(r"rescaling factor $\alpha$")
    g.set_ylabels(r"factor $v(\alpha)/v(1)$")
    g.figure.suptitle("Change of each measure under the\nfunction-preserving rescaling $T_\\alpha$")
    style.legend_below(g, ncol=2)
    return g


def verdict(result: Mapping[str, Any], claim: Mapping[str, Any]):  # -> IPython Markdown
    """The verdict and its facts from the claim file B2; glue the numbers the prose quotes."""
    from IPython.display import Markdown

    facts, summary = claim["details"], result["summary"]
    threshold, words = facts["thresholds"], claim["verdict"].replace("_", " ")
    simplicity = max(facts["simplicity_changes"].values())
    glue_all(b2_verdict=words, b2_max_sharpness_change=py(claim["our_value"]),
             b2_max_simplicity_change=py(simplicity), b2_max_dlogit=names.num(py(facts["max_dlogit"]), 2),
             b2_n_exact=py(int(summary["exact"].sum())), b2_n_measures=py(len(summary)),
             b2_wall_s=py(result["wall"]["compute_s"]))
    invariant = ", ".join(names.label(m) for m in summary.loc[summary["exact"], "measure"])
    moving = ", ".join(f"{names.label(m)} ({names.num(c)}×)" for m, c in zip(
        summary["measure"], summary["max_change"], strict=True) if c >= threshold["change_factor"])
    return Markdown(
        f"**Verdict (pre-registered rule): {words}.** Invariance of test accuracy, predictions and "
        f"every discrete weakness estimator: **{style.yes_no(facts['invariance_holds'])}** (not exact: "
        f"{', '.join(names.label(m) for m in facts['not_exact']) or 'none'}; entropy within {threshold['entropy_rtol']:g}: "
        f"{style.yes_no(facts['entropy_within_rtol'])}; max |Δlogit| = {names.num(facts['max_dlogit'], 2)}). "
        f"Largest sharpness change {names.num(claim['our_value'])}× (≥ {threshold['reported_sharpness_factor']:g}×: "
        f"{style.yes_no(facts['sharpness_ge_reported_factor'])}); largest simplicity change "
        f"{names.num(simplicity)}×.\n\nBitwise invariant: {invariant}.\n\n"
        f"Changed by ≥ {threshold['change_factor']:g}×: {moving or 'none'}.")
