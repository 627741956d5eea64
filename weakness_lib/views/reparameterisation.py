"""The code of chapter 01 (claim B1, function-preserving rescalings inflate sharpness): tables,
figure and glue values from the stored table and the claim file B1 (read, never re-derived)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from weakness_lib.views import names, style, tables
from weakness_lib.views.chapter import glue as glue_all


def setting(result: Mapping[str, Any]) -> Any:
    """The trained network and the measurement settings (table), glued for the prose."""
    cfg, train, run = result["settings"], result["train"], result["stored"]
    t = cfg.train
    frame = pd.Series({
        "dataset": names.DATASETS.get(cfg.dataset, cfg.dataset),
        "architecture": "-".join(map(str, cfg.widths)),
        "training images (stratified)": cfg.n_train,
        "optimiser": names.optimiser(t, epochs=False),
        "epochs run (stop at 100 % train acc.)": train["epochs"],
        "final train accuracy": f'{train["train_acc"]:.4f}', "test accuracy": f'{train["test_acc"]:.4f}',
        "curvature batch (training images)": cfg.curvature_batch,
        "Lanczos tolerance": cfg.lanczos_tol, "Hutchinson probes": cfg.hutchinson_probes,
        "git commit of the run": str(run["git_commit"])[:12],
        "torch": run["torch"], "wall time of the stored run [s]": round(result["wall_s"], 1),
    }, name="value")
    glue_all(b1_train_epochs=int(train["epochs"]), b1_train_acc=100 * train["train_acc"],
             b1_test_acc=100 * train["test_acc"], b1_wall_s=result["wall_s"])
    return tables.table(frame)


def rescalings(result: Mapping[str, Any]) -> Any:
    """Every rescaling: λ_max, trace (± s.e.), predictions and Lanczos diagnostics."""
    def pm(values, ses):
        return [f"{t:.4g} ± {s:.2g}" for t, s in zip(values, ses, strict=True)]

    show = result["table"].assign(
        trace=lambda d: pm(d["trace"], d["trace_se"]),
        trace_predicted=lambda d: pm(d["trace_predicted"], d["trace_predicted_se"]),
        changed=lambda d: d["n_changed"].astype(int),
        trace_ratio_rescaled=lambda d: d["trace_ratio"],  # "trace_ratio" is Wen's 1-SAM / GD+WD
    )[["mode", "alpha", "lambda_max", "lambda_max_ratio", "trace", "trace_ratio_rescaled", "trace_predicted",
       "param_norm", "test_acc", "agreement", "changed", "max_abs_dlogit", "lanczos_hvps",
       "lanczos_residual"]]
    return tables.table(show, formats={
        "alpha": "{:g}", "lambda_max": "{:.4g}", "lambda_max_ratio": "{:.3g}×", "trace_ratio_rescaled": "{:.3g}×",
        "param_norm": "{:.4g}", "test_acc": "{:.4f}", "agreement": "{:.4f}", "max_abs_dlogit": "{:.1e}",
        "lanczos_residual": "{:.1e}"},
        # the answer first: the curvature moved while the function did not
        main=["mode", "alpha", "lambda_max_ratio", "trace_ratio_rescaled", "changed", "max_abs_dlogit", "test_acc"])


def ratios_figure(result: Mapping[str, Any]):  # -> Figure
    """λ_max and trace ratios against α, with the α^±2 guides and the paper's factor."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    table = result["table"]
    target = result["rule"]["target"]["hessian_inflation"]  # the paper's "two orders of magnitude"
    fig, axes = plt.subplots(1, 2, figsize=style.figsize(1, 2, panel_aspect=0.95), sharex=True)
    up = np.geomspace(1, table["alpha"].max(), 50)
    down = np.geomspace(table["alpha"].min(), 1, 50)
    for ax, col, title in [(axes[0], "lambda_max_ratio", r"$\lambda_{\max}$ ratio"),
                           (axes[1], "trace_ratio", "trace ratio")]:
        sns.lineplot(data=table, x="alpha", y=col, hue="mode", style="mode", markers=True,
                     dashes=False, ax=ax)
        ax.plot(up, up**2, ls="--", c="grey", lw=1, label=r"$\alpha^{2}$ guide")
        ax.plot(down, down**-2.0, ls=":", c="grey", lw=1, label=r"$\alpha^{-2}$ guide")
        ax.axhline(target, c="crimson", lw=0.8, label=f"paper: ×{target:g}")
        ax.set(xscale="log", yscale="log", ylim=(0.5, None), xlabel=r"rescaling factor $\alpha$",
               ylabel=f"{title} vs. α = 1", title=title)
        ax.get_legend().remove()
    fig.suptitle("Same function, different sharpness (MNIST MLP)")
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=3, frameon=False)
    return fig


def verdict(result: Mapping[str, Any], claim: Mapping[str, Any]) -> Any:
    """B1 in one table, from the claim file; glue the numbers the prose quotes."""
    table, d, words = result["table"], claim["details"], claim["verdict"].replace("_", " ")

    def ratio(mode: str, alpha: float) -> float:
        row = table[(table["mode"] == mode) & np.isclose(table["alpha"], alpha)]
        return float(row["lambda_max_ratio"].iloc[0]) if len(row) else float("nan")

    glue_all(b1_best_ratio=claim["our_value"], b1_best_mode=d["best_mode"],
             b1_best_alpha=d["best_alpha"], b1_best_trace_ratio=d["best_trace_ratio"],
             b1_changed=d["predictions_changed"], b1_max_dlogit=names.num(d["max_abs_dlogit"], 2),
             b1_ratio_l1_up=ratio("layer1", 10), b1_ratio_l1_down=ratio("layer1", 0.1),
             b1_lambda_max=float(table.loc[table["alpha"] == 1, "lambda_max"].iloc[0]),
             b1_verdict=words)
    summary = pd.Series({
        "largest λ_max inflation": f"{claim['our_value']:.4g}× ({d['best_mode']}, α = {d['best_alpha']:g})",
        "layer1, α = 10": f"{ratio('layer1', 10):.3g}×", "layer1, α = 0.1": f"{ratio('layer1', 0.1):.3g}×",
        "predictions changed (all rescalings, 10k test images each)": d["predictions_changed"],
        "max |Δlogit|": f"{d['max_abs_dlogit']:.1e}", "verdict": words}, name="B1")
    return tables.table(summary)
