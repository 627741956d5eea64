"""Figures of chapter 5b: the forest plot of every estimator across populations and the
sign-error heat-map of the robustness population (data from :mod:`.confirmatory`).

Both only draw what the report's frames hold; sizes come from :mod:`weakness_lib.views.style` so
that every text is ≥ 8 pt in the book's column.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from weakness_lib.views.confirmatory import (
    DATASETS,
    FOREST,
    PAPER_RHO,
    POPULATIONS,
    ROBUST_LABEL,
    heatmap_frame,
)

__all__ = ["forest_plot", "heatmap_plot"]


def forest_plot(frame: pd.DataFrame) -> Any:
    """Per dataset, each estimator's raw ρ with test accuracy (or Ψ) with its CI, by population; the paper's
    weakness target as a dashed line."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from weakness_lib.views import style

    order = [v for v in FOREST.values() if v in set(frame["estimator"])]
    pops = list(dict.fromkeys([p for p, _, _ in POPULATIONS] + [ROBUST_LABEL]))
    pops = [p for p in pops if p in set(frame["population"])]
    colours = dict(zip(pops, sns.color_palette(style.PALETTE, len(pops)), strict=True))
    fig, axes = plt.subplots(1, 2, figsize=style.figsize(1, 2, panel_aspect=1.35), sharey=True)
    step = 0.8 / max(len(pops), 1)
    for ax, (ds, name_ds) in zip(axes, DATASETS.items(), strict=True):
        part = frame[frame["dataset"] == name_ds]
        for j, pop in enumerate(pops):
            sub = part[part["population"] == pop].set_index("estimator").reindex(order)
            y = [i - 0.4 + step * (j + 0.5) for i in range(len(order))]
            ok = sub["value"].notna().to_numpy()
            err = [(sub["value"] - sub["lo"]).to_numpy()[ok], (sub["hi"] - sub["value"]).to_numpy()[ok]]
            ax.errorbar(sub["value"].to_numpy()[ok], [v for v, k in zip(y, ok, strict=True) if k],
                        xerr=err, fmt="o", ms=3.5, lw=1.1, color=colours[pop], label=pop)
        ax.axvline(0, color="0.3", lw=0.8)
        ax.axvline(PAPER_RHO[ds], color="0.3", lw=0.9, ls="--")
        ax.text(PAPER_RHO[ds], -0.8, " paper", fontsize=9.5, color="0.3", va="center")  # inside
        ax.set_title(name_ds)
        ax.set_xlim(-1.0, 1.08)  # ρ and Ψ lie in [−1, 1]: nothing at the frame's edge
        ax.set_xlabel("ρ (raw sign) or Ψ")  # short: the two panels' labels must not meet
        ax.set_yticks(range(len(order)), order)
        ax.set_ylim(len(order) - 0.5, -1.1)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, frameon=False,
               bbox_to_anchor=(0.5, -0.02))
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return fig


def heatmap_plot(result: Mapping[str, Any]) -> Any:
    """The two datasets one above the other: mean sign error per measure and varied hyper-parameter."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from weakness_lib.views import style

    dsets = [d for d in DATASETS if f"{d}/gap_acc" in result["scores"]]
    fig, axes = plt.subplots(len(dsets), 1, figsize=style.figsize(len(dsets), 1, panel_aspect=0.75),
                             sharex=True, squeeze=False)
    for k, (ax, ds) in enumerate(zip(axes[:, 0], dsets, strict=True)):
        sns.heatmap(heatmap_frame(result, ds), ax=ax, vmin=0, vmax=1, center=0.5, cmap="vlag",
                    annot=True, fmt=".2f", annot_kws={"fontsize": 9.5},
                    cbar_kws={"label": "mean sign error\n(0.5 = chance)"})
        ax.grid(False)
        ax.set_title(DATASETS[ds])
        ax.set_xlabel("varied hyper-parameter" if k == len(dsets) - 1 else "")
        ax.set_ylabel("")
        ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    return fig
