"""The code of chapter 09 (Wen Scenario III, claim WLM-III) and its closing comparison of the three
scenarios: tables, figures and glue values from the analysed stored tables and the claim files
WLM-I to WLM-III (the verdicts are read from the claim files, never re-derived).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from weakness_lib.views import names, style, tables
from weakness_lib.views import wen as W
from weakness_lib.views.chapter import claim as read_claim
from weakness_lib.views.chapter import glue as glue_all
from weakness_lib.views.wen_chapters import ci_bounds, per_seed, run_mean

#: why the comparison table has empty cells
NOT_APPLICABLE = ("not applicable: Scenario I has no flattest memorising construction (Thm 3.1–3.2), "
                  "and the Sim-BN run has no baseline and no closed-form minimal trace")


def constructions(result: Mapping[str, Any]) -> Any:
    """The memorising and generalising Sim-LN constructions (table), glued for the prose."""
    cons = result["constructions"]
    ct = result["constructions_table"][[
        "train_mse", "trace", "dense_trace_small", "hutchinson", "test_acc", "test_acc_random_ties",
        "frac_test_outputs_zero", "first_layer_norm", "trace_at_projected_norm",
        "max_abs_df_at_projected_norm"]]
    glue_all(w3_mem_trace=cons["memoriser"]["trace"], w3_gen_trace=cons["generaliser"]["trace"],
          w3_mem_acc=cons["memoriser"]["test_acc"], w3_gen_acc=cons["generaliser"]["test_acc"])
    return tables.table(ct, index=True, digits=4)


def scale_sweep(result: Mapping[str, Any]):  # -> Figure
    """The Gauss–Newton trace along the first-layer scale (f unchanged)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    sweep = result["scale_sweep"].assign(run=lambda d: d["run"].map(result["labels"]))
    fig, ax = plt.subplots(figsize=style.figsize(panel_aspect=0.5))
    sns.lineplot(data=sweep, x="scale", y="trace", hue="run", units="seed", estimator=None,
                 marker="o", ax=ax)
    ax.axhline(result["bound"], ls="--", c="k", lw=1, label=f"bound {result['bound']:g}")
    ax.set(xscale="log", yscale="log", xlabel="first-layer scale c", ylabel="Gauss–Newton trace",
           title=f"f unchanged (max |Δf| = {names.num(sweep['max_abs_df_test'].max(), 1)})")
    style.log_ticks(ax, "x")
    style.log_ticks(ax, "y")
    ax.legend()
    fig.tight_layout()
    return fig


def training(result: Mapping[str, Any]):  # -> Figure
    """1-SAM and projected SGD on the Sim-LN net."""
    cfg = result["settings"]
    return W.training_curves(
        result["history"], result["labels"],
        {"test_acc": "test accuracy", "test_mse": "test MSE", "trace": "Gauss–Newton trace",
         "train_loss": "training loss"},
        bound=("trace", result["bound"], f"bound {result['bound']:g}"),
        title=f'Sim-LN, d = {cfg.d}, n = {cfg.n_train}, width {cfg.width}, ε = {cfg.ln_eps:g}')


def glue_w3(result: Mapping[str, Any], claim: Mapping[str, Any]) -> None:
    """The numbers of the verdict's prose, from the claim file and the stored rows."""
    s, f = per_seed(claim), result["final"]
    lo, hi = ci_bounds(claim)
    glue_all(w3_sam_acc=claim["our_value"], w3_sam_acc_lo=lo, w3_sam_acc_hi=hi,
          w3_sam_trace=float(s["sam_trace"].mean()),
          w3_sam_hutch=float(s["sam_trace_hutchinson"].mean()),
          w3_sam_hutch_seeds=", ".join(names.num(float(v), 4) for v in s["sam_trace_hutchinson"]),
          w3_hutch_below=f"in {int((s['sam_trace_hutchinson'] < 2).sum())} of {len(s)} seeds the "
                         "estimate is below 2",
          w3_sgd_acc=float(s["sgd_acc"].mean()), w3_sgd_trace=float(s["sgd_trace"].mean()),
          w3_std_acc=run_mean(f, "sam1_simln_standard", "final_test_acc"),
          w3_std_trace=run_mean(f, "sam1_simln_standard", "final_trace"),
          w3_verdict=claim["verdict"].replace("_", " "), w3_wall=result["wall_s"],
          w3_sam_loss=names.num(run_mean(f, "sam1_simln_projected", "final_train_loss"), 2))


def side_by_side(result: Mapping[str, Any]) -> None:
    """Show the three scenarios side by side (table and figure), with each verdict read from its
    claim file, and glue the comparison's numbers."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    sbs = result["side_by_side"].copy()
    verdicts = {c: read_claim(c, result["scale"])["verdict"] for c in sbs["claim"].unique()}
    sbs["verdict"] = sbs["claim"].map(verdicts)
    display(tables.table(sbs.assign(verdict=sbs["verdict"].str.replace("_", " ")), digits=3,
                         missing=NOT_APPLICABLE, key=["scenario", "verdict"],
                         main=["scenario", "claim", "verdict", "flattest memoriser exists", "memoriser trace",
                               "generaliser trace", "1-SAM test acc (mean)"]))
    fig, axes = plt.subplots(2, 1, figsize=style.figsize(2, 1, panel_aspect=0.3))
    lab = sbs["scenario"] + ": " + sbs["architecture"]
    axes[0].barh(lab, sbs["1-SAM test acc (mean)"], color="C0", label="1-SAM")
    axes[0].scatter(sbs["baseline test acc"], lab, color="k", zorder=3,
                    label="baseline (GD+WD / projected SGD)")
    axes[0].set(xlim=(0, 1.02), xlabel="final test accuracy (mean over seeds)")
    axes[0].legend(loc="lower left")
    axes[0].invert_yaxis()
    axes[1].barh(lab, sbs["1-SAM final trace"] / sbs["bound"], color="C1")
    axes[1].axvline(1, ls="--", c="k", lw=1)
    axes[1].set(xlabel="1-SAM final trace / minimal trace among interpolators")
    axes[1].invert_yaxis()
    fig.tight_layout()
    style.show(fig)
    row2, row3 = sbs[sbs["scenario"] == "II"].iloc[0], sbs[sbs["scenario"] == "III"].iloc[0]
    glue_all(w23_acc2=float(row2["1-SAM test acc (mean)"]), w23_acc3=float(row3["1-SAM test acc (mean)"]),
          w23_ratio2=float(row2["1-SAM final trace"] / row2["bound"]),
          w23_ratio3=float(row3["1-SAM final trace"] / row3["bound"]),
          w23_verdicts=", ".join(f"{c}: {v.replace('_', ' ')}" for c, v in sbs.drop_duplicates(
              "claim")[["claim", "verdict"]].itertuples(index=False)))
