"""Tables and figures of the Wen chapters, from stored rows (no computation).

:func:`history_frame` and :func:`final_frame` turn stored units into long/wide frames;
:func:`plot_curves` draws the training curves; :func:`constructions_frames` the constructions table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np


def history_frame(rows: Iterable[Mapping[str, Any]]):
    """Long DataFrame of the logged curves: one line per (run, seed, logged epoch)."""
    import pandas as pd

    frames = []
    for r in rows:
        if "history" not in r:
            continue
        h = pd.DataFrame(r["history"])
        h.insert(0, "seed", r["seed"])
        h.insert(0, "run", r["run"])
        frames.append(h)
    return pd.concat(frames, ignore_index=True)


def final_frame(rows: Iterable[Mapping[str, Any]]):
    """One line per unit with its final numbers and wall time (curves dropped)."""
    import pandas as pd

    cols = [
        "run",
        "arch",
        "algorithm",
        "seed",
        "epochs",
        "final_test_acc",
        "final_test_mse",
        "final_train_loss",
        "final_trace",
        "final_trace_hutchinson",
        "final_trace_hutchinson_se",
        "peak_test_acc",
        "peak_epoch",
        "final_active_frac",
        "_wall_s",
    ]
    df = pd.DataFrame([{k: r.get(k) for k in cols} for r in rows if "run" in r])
    return df.dropna(axis=1, how="all").rename(columns={"_wall_s": "wall_s"})


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


def constructions_frames(config: Mapping[str, Any], rows: list, cons: Mapping[str, Any]) -> dict:
    """Scenarios II and III: one line per construction (memoriser, generaliser) with its checks."""
    import pandas as pd

    table = pd.DataFrame({name: cons[name] for name in ("memoriser", "generaliser")}).T
    return {"constructions_table": table}


def no_frames(config: Mapping[str, Any], rows: list, cons: Mapping[str, Any]) -> dict:
    return {}


# -- statistics and verdict helpers (pure) -------------------------------------------------------


