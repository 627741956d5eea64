"""Figures and tables of the Wen chapters (07–09) in the book's style, from stored rows.

:func:`training_curves` draws one panel per metric in a grid that fits the content column (four
metrics → 2×2) with one shared legend below; :func:`final_table` is the last-epoch table with
readable run labels, the Hutchinson estimate as "value ± s.e." and an em-dash (with a note)
where a run has no such estimate; :func:`setting_line` is the provenance sentence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from weakness_lib.studies.wen.settings import Scenario
from weakness_lib.views import style, tables

#: log-scaled metrics (when every value is positive)
LOG_METRICS = ("trace", "train_loss", "test_mse")
#: why a run may lack a Hutchinson estimate (the table's note)
NO_HUTCHINSON = ("not measured for this run: the logged trace of a plain ReLU net is the exact "
                 "closed form, so the Hutchinson estimate of the exact trace is taken only for "
                 "the normalised (Sim-BN/Sim-LN) nets")


def training_curves(history: pd.DataFrame, runs: Mapping[str, str], metrics: Mapping[str, str],
                    bound: tuple[str, float, str] | None = None, title: str = ""):  # -> Figure
    """One panel per metric (epoch on x), one colour per run and one line per seed.

    ``runs`` maps run names to legend labels, ``metrics`` column names to axis labels;
    ``bound`` = (metric, value, label) draws a dashed reference line on that panel.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    data = history[history["run"].isin(list(runs))].copy()
    data["run"] = data["run"].map(runs)
    nrows, ncols = style.grid(len(metrics))
    aspect = 0.68 if len(metrics) > 1 else 0.42  # one panel spans the column: keep it low
    fig, axes = plt.subplots(nrows, ncols, figsize=style.figsize(nrows, ncols, panel_aspect=aspect),
                             squeeze=False)
    order = [runs[r] for r in runs if runs[r] in set(data["run"])]
    for ax, (col, label) in zip(axes.flat, metrics.items(), strict=False):
        sns.lineplot(data=data, x="epoch", y=col, hue="run", hue_order=order, units="seed",
                     estimator=None, ax=ax, lw=1.1, alpha=0.85, legend=ax is axes.flat[0])
        if bound is not None and bound[0] == col:
            ax.axhline(bound[1], color="black", ls="--", lw=1, label=bound[2])
        if col in LOG_METRICS and (data[col] > 0).all():
            ax.set_yscale("log")
            style.log_ticks(ax, "y")
        ax.set(xlabel="epoch", ylabel=label)
        ax.xaxis.set_major_locator(plt.MaxNLocator(4))
    for ax in axes.flat[len(metrics):]:
        ax.set_visible(False)
    handles, labels = [], []
    for ax in axes.flat[: len(metrics)]:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    ncol = 2 if max(map(len, labels), default=0) <= 26 else 1  # long run names: one per line
    legend_rows = int(np.ceil(len(labels) / ncol)) + 1  # + its title, "one line per seed"
    height = fig.get_size_inches()[1] + 0.22 * legend_rows
    fig.set_size_inches(style.FIG_IN, height)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, (0.1 + 0.22 * legend_rows) / height, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=min(ncol, len(labels)), frameon=False,
               title="one line per seed")
    return fig


def final_table(final: pd.DataFrame, labels: Mapping[str, str]) -> Any:
    """The last-epoch numbers per run and seed (HTML, :func:`tables.table`)."""
    show = final.assign(run=final["run"].map(labels)).drop(columns=["arch", "algorithm"],
                                                             errors="ignore")
    if "final_trace_hutchinson" in show:
        se = show.pop("final_trace_hutchinson_se") if "final_trace_hutchinson_se" in show else None
        show["final_trace_hutchinson"] = [
            None if pd.isna(v) else f"{v:.4g}" + ("" if se is None or pd.isna(s) else f" ± {s:.2g}")
            for v, s in zip(show["final_trace_hutchinson"],
                            se if se is not None else [np.nan] * len(show), strict=True)]
    show = show.rename(columns=lambda c: c.removeprefix("final_").replace("_", " "))
    show = show.rename(columns={"trace hutchinson": "trace (Hutchinson)", "wall s": "wall time (s)"})
    return tables.table(show, digits=4, formats={"wall time (s)": "{:.0f}", "seed": "{:d}"},
                       missing=NO_HUTCHINSON)


def per_seed_table(per_seed: Mapping[str, Mapping[str, Any]], conditions: Sequence[str]) -> Any:
    """The verdict's per-seed numbers; single-letter columns are the rule's conditions (a)–(d)."""
    frame = pd.DataFrame(per_seed).T.rename_axis("seed").reset_index()
    frame = frame.rename(columns={c: f"({c})" for c in frame.columns if c in conditions})
    conds = [f"({c})" for c in conditions if f"({c})" in frame.columns]
    others = [c for c in frame.columns if c != "seed" and c not in conds]
    # every condition of the rule first, in view (a failed one is the reader's first question)
    main = ["seed", *conds, *others][:tables.MAX_COLUMNS]
    return tables.table(frame, digits=4, main=main, key=["seed", *conds])


def setting_line(cfg: Scenario, prov: Mapping[str, Any], wall_s: float) -> str:
    """The data and provenance sentence under the setting table (Markdown)."""
    seeds = ", ".join(str(s) for s in cfg.seeds)
    commit = str(prov.get("git_commit") or style.EM_DASH)[:12]
    return (f"d = {cfg.d}, n = {cfg.n_train} training points, {cfg.n_test:,} fresh test "
            f"points, seeds {seeds}. Stored run: commit `{commit}`, torch {prov.get('torch')}, "
            f"{str(prov.get('date', style.EM_DASH))[:10]}; summed wall time of all units "
            f"{wall_s:,.0f} s.")


def plot_curves(history, runs: dict[str, str], metrics: dict[str, str], bound=None, title=""):
    """Figure with one panel per metric (test accuracy, trace, …) vs epoch, one colour per run.

    ``runs`` maps run names to legend labels, ``metrics`` column names to axis labels;
    ``bound`` = (metric, value, label) draws a horizontal reference line.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    data = history[history["run"].isin(list(runs))].copy()
    data["algorithm"] = data["run"].map(runs)
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.4))
    axes = np.atleast_1d(axes)
    for ax, (col, label) in zip(axes, metrics.items(), strict=True):
        sns.lineplot(
            data=data,
            x="epoch",
            y=col,
            hue="algorithm",
            units="seed",
            estimator=None,
            ax=ax,
            lw=1.2,
            alpha=0.85,
        )
        if bound is not None and bound[0] == col:
            ax.axhline(bound[1], color="k", ls="--", lw=1, label=bound[2])
        if col in ("trace", "train_loss", "test_mse") and (data[col] > 0).all():
            ax.set_yscale("log")
        ax.set_ylabel(label)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
