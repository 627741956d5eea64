"""The code of the Wen chapters (07–09, claims WLM-I to WLM-III): every table, figure and glue value, from the
analysed stored table (:func:`weakness_lib.views.chapter.load`) and the claim file
(:func:`weakness_lib.views.chapter.claim`); the verdicts are read, never re-derived.

Each function draws or displays what one cell of a chapter shows and glues the numbers its prose
quotes (the glue names are ``w1_…``, ``w2_…``, ``w3_…`` and ``w23_…``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from weakness_lib.studies.wen.settings import Run, Scenario
from weakness_lib.views import names, style, tables
from weakness_lib.views import wen as W
from weakness_lib.views.chapter import glue as glue_all
from weakness_lib.views.claims import pretty_text

#: the architectures and algorithms of the Wen runs as the paper names them
ARCHITECTURES = {"nobias": "no bias", "bias": "first-layer bias", "simbn": "Sim-BN", "simln": "Sim-LN"}
ALGORITHMS = {"gd": "gradient descent", "1sam": "1-SAM", "sgd": "SGD", "sam": "SAM"}


def _phases(run: Run) -> str:
    return "; ".join(
        f'{names.num(int(p["epochs"]))} epochs at η = {p["lr"]:g}' + (f', ρ = {p["rho"]:g}' if p.get("rho") else "")
        + (f', λ = {p["weight_decay"]:g}' if p.get("weight_decay") else "") for p in run.phases)


def _width(cfg: Scenario, run: Run) -> int:
    """A run's hidden width: its own, else the scenario's."""
    return cfg.width if run.width is None else run.width


def setting(result: Mapping[str, Any]):  # -> IPython Markdown
    """Display the table of runs (architecture, schedule, …); return the provenance sentence."""
    from IPython.display import Markdown, display

    cfg = result["settings"]
    frame = pd.DataFrame([
        {"run": result["labels"][name], "architecture": ARCHITECTURES.get(run.arch, run.arch),
         "width": _width(cfg, run), "algorithm": ALGORITHMS.get(run.algorithm, run.algorithm),
         "schedule": _phases(run), "first-layer projection": run.project_norm or "none",
         "first-layer init scale": run.init_scale}
        for name, run in cfg.runs.items()])
    display(tables.table(frame, wrap=["schedule"]))
    return Markdown(W.setting_line(cfg, result["stored"], result["wall_s"]))


def final(result: Mapping[str, Any]) -> Any:
    """The last-epoch table of every run and seed."""
    return W.final_table(result["final"], result["labels"])


def verdict(claim: Mapping[str, Any]):  # -> IPython Markdown
    """Display the claim file's per-seed numbers (conditions (a)–(d)); return rule and verdict."""
    from IPython.display import Markdown, display

    seeds = {int(k) if str(k).isdigit() else k: v for k, v in claim["details"]["per_seed"].items()}
    display(W.per_seed_table(seeds, "abcd"))  # JSON keys are strings: the seeds are numbers
    return Markdown(f"**Rule.** {pretty_text(claim['verdict_rule'])}\n\n"
                    f"**Verdict:** {claim['verdict'].replace('_', ' ')}.")


def per_seed(claim: Mapping[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(claim["details"]["per_seed"]).T


def ci_bounds(claim: Mapping[str, Any]) -> tuple[float, float]:
    ci = claim["ci95"]
    return (ci[0], ci[1]) if ci else (float("nan"), float("nan"))


def run_mean(frame: pd.DataFrame, run: str, column: str) -> float:
    return float(frame[frame["run"] == run][column].mean())


# ---------------------------------------------------------------------------------------------
# Chapter 07, Scenario I (claim WLM-I)
# ---------------------------------------------------------------------------------------------
def w1_checks(result: Mapping[str, Any]) -> Any:
    """The width-4 interpolator's trace checks (table), glued for the prose."""
    cons = result["constructions"]
    checks = pd.Series({
        "ε": cons["eps"],
        "training MSE": names.num(cons["train_mse"], 2),
        "test accuracy": f'{cons["test_acc"]:.4f}',
        "closed-form trace (width 4)": f'{cons["closed_form_trace"]:.10f}',
        "dense float64 Hessian trace (width 4)": f'{cons["dense_trace"]:.10f}',
        "relative difference": names.num(cons["rel_err_dense"], 2),
        "closed form, width-500 embedding": f'{cons["closed_form_trace_width500"]:.10f}',
        "Hutchinson, width 500": f'{cons["hutchinson_width500"]:.3f} ± {cons["hutchinson_width500_se"]:.3f}',
        "min over one common rescaling c (grid)": f'{result["orbit"]["trace"].min():.3f}',
        "min over per-neuron rescalings (closed form)": f'{cons["per_neuron_rescaled_min_trace"]:.3f}',
        "Cauchy–Schwarz bound 4√d": f'{cons["nobias_bound"]:.3f}',
    }, name="width-4 interpolator")
    glue_all(w1_cons_trace=cons["closed_form_trace"], w1_cons_dense_rel=names.num(cons["rel_err_dense"], 2),
          w1_cons_hutch_z=cons["hutchinson_z"], w1_cons_min_trace=cons["per_neuron_rescaled_min_trace"],
          w1_bound=cons["nobias_bound"])
    return tables.table(checks)


def w1_orbit(result: Mapping[str, Any]):  # -> Figure
    """The closed-form trace along the rescaling orbit of the width-4 interpolator."""
    import matplotlib.pyplot as plt

    orbit, cons = result["orbit"], result["constructions"]
    fig, ax = plt.subplots(figsize=style.figsize(panel_aspect=0.5))
    ax.plot(orbit["c"], orbit["trace"], "o-", label="closed-form trace")
    ax.axhline(cons["per_neuron_rescaled_min_trace"], ls=":", c="C2", label="min over per-neuron rescalings")
    ax.axhline(cons["nobias_bound"], ls="--", c="k", lw=1, label="4√d (Cauchy–Schwarz bound)")
    ax.set(xscale="log", yscale="log", xlabel="rescaling c: (w_j, W2_j) → (w_j/c, c·W2_j)",
           ylabel="Tr ∇²L", title=f"Same function (max |Δf| = {names.num(orbit['max_abs_df'].max(), 1)}), different trace")
    style.log_ticks(ax, "x")  # no minor labels: they overlapped
    style.log_ticks(ax, "y")
    ax.legend()
    fig.tight_layout()
    return fig


def w1_training(result: Mapping[str, Any]):  # -> Figure
    """GD + weight decay against 1-SAM on the no-bias net."""
    cfg, labels = result["settings"], result["labels"]
    return W.training_curves(
        result["history"], {k: labels[k] for k in ("gd_wd_nobias", "sam1_nobias")},
        {"test_acc": "test accuracy", "test_mse": "test MSE", "train_loss": "training loss",
         "trace": "Tr ∇²L (exact)"},
        bound=("trace", result["bound"], "4√d"),
        title=f'No-bias net, d = {cfg.d}, n = {cfg.n_train}, width {cfg.width}')


def w1_simbn(result: Mapping[str, Any]):  # -> Figure
    """1-SAM on the Sim-BN net: test accuracy, Gauss–Newton trace, ‖W2‖² + ‖γ‖²."""
    cfg = result["settings"]
    return W.training_curves(
        result["history"], {"sam1_simbn": result["labels"]["sam1_simbn"]},
        {"test_acc": "test accuracy", "trace": "GN trace", "w2_gamma_norm_sq": "‖W2‖² + ‖γ‖²"},
        title=f'Sim-BN, width {_width(cfg, cfg.runs["sam1_simbn"])} (GN: Gauss–Newton)')


def w1_columns(result: Mapping[str, Any]) -> Any:
    """Show the first-layer column norms after 1-SAM (Sim-BN); return the largest neurons' table."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=style.figsize(panel_aspect=0.42))
    sns.barplot(data=result["simbn_columns"], x="column", y="norm", hue="seed", ax=ax)
    ax.set(xlabel="input coordinate k", ylabel="‖W1[:, k]‖",
           title="First-layer column norms after 1-SAM (Sim-BN)")
    for k, label in enumerate(ax.get_xticklabels()):  # label 1, 2 and every fifth coordinate
        label.set_visible(k < 2 or (k + 1) % 5 == 0)
    fig.tight_layout()
    style.show(fig)
    return tables.table(result["simbn_neurons"].rename(columns={"b": "bias b", "W2_gamma": "W₂·γ"}),
                        digits=3)


def w1_glue(result: Mapping[str, Any], claim: Mapping[str, Any]) -> None:
    """The numbers of the closing prose, from the claim file; the paper's Sim-BN feature ratio and
    the threshold of condition (d) from the registration the verdict used."""
    s, target = per_seed(claim), result["rule"]["target"]
    worst = s["bn_acc"].astype(float).idxmin()  # the Sim-BN seed furthest from condition (d)
    glue_all(w1_min_acc=claim["our_value"], w1_gd_trace=float(s["gd_trace"].mean()),
          w1_sam_trace=float(s["sam_trace"].mean()), w1_ratio=float(s["trace_ratio"].mean()),
          w1_bn_acc=float(s["bn_acc"].mean()), w1_bn_ratio=float(s["bn_feature_ratio"].mean()),
          w1_bn_worst_seed=int(worst), w1_bn_worst_acc=float(s.loc[worst, "bn_acc"]),
          w1_bn_min_acc=float(result["rule"]["thresholds"]["bn_acc"]),
          w1_paper_ratio=target["simbn_feature_col_norm"] / target["simbn_other_col_norm_max"],
          w1_verdict=claim["verdict"].replace("_", " "), w1_wall=result["wall_s"])


# ---------------------------------------------------------------------------------------------
# Chapter 08, Scenario II (claim WLM-II)
# ---------------------------------------------------------------------------------------------
def w2_constructions(result: Mapping[str, Any]) -> Any:
    """The memorising and generalising constructions (table), glued for the prose."""
    cons = result["constructions"]
    ct = result["constructions_table"][[
        "train_mse", "trace", "rel_err_bound", "dense_trace_small", "hutchinson", "hutchinson_se",
        "test_acc", "test_acc_random_ties", "frac_test_outputs_zero", "active_neurons"]]
    glue_all(w2_bound=cons["bound"], w2_mem_trace=cons["memoriser"]["trace"],
          w2_gen_trace=cons["generaliser"]["trace"], w2_mem_acc=cons["memoriser"]["test_acc"],
          w2_mem_acc_ties=cons["memoriser"]["test_acc_random_ties"],
          w2_gen_acc=cons["generaliser"]["test_acc"])
    # flat and memorising at once: trace against the bound beside the test accuracy
    return tables.table(ct, index=True, digits=4, main=[
        "", "train_mse", "trace", "rel_err_bound", "hutchinson", "test_acc", "test_acc_random_ties"])


def w2_training(result: Mapping[str, Any]) -> None:
    """Show the bias net against the no-bias control, then the training loss."""
    cfg, labels, hist = result["settings"], result["labels"], result["history"]
    style.show(W.training_curves(
        hist, labels, {"test_acc": "test accuracy", "test_mse": "test MSE", "trace": "Tr ∇²L (exact)",
                       "active_frac": "active neurons (share)"},
        bound=("trace", result["bound"], "4√(d+1)"),
        title=f'Bias net vs no-bias control, d = {cfg.d}, n = {cfg.n_train}, width {cfg.width}'))
    style.show(W.training_curves(hist, labels, {"train_loss": "training loss"}, title="Training loss"))


def w2_below_bound(result: Mapping[str, Any], run: str = "sam1_bias") -> dict[str, float]:
    """Why 1-SAM's final trace may lie below the minimal trace 4√(d+1) (a minimum over exact
    interpolators): over the same final window as its final trace, the mean training loss L and the
    bound that holds at any weights, Tr ∇²L ≥ 4√(d+1)·mean_i |f(x_i)| ≥ 4√(d+1)·(1 − √L)
    (Cauchy–Schwarz neuron by neuron; mean_i |f(x_i)| ≥ 1 − √L as y_i = ±1), per logged epoch,
    averaged — and the window's mean trace, which is the claim's final trace."""
    import numpy as np

    hist, final = result["history"], result["final"]
    epochs = final[final["run"] == run].set_index("seed")["epochs"]
    h = hist[hist["run"] == run]
    window = h[h["epoch"] >= (1 - float(result["settings"].final_window)) * h["seed"].map(epochs)]
    floor = result["bound"] * (1 - np.sqrt(window["train_loss"]))
    return {"train_loss": float(window["train_loss"].mean()), "floor": float(floor.mean()),
            "trace": float(window.groupby("seed")["trace"].mean().mean()),
            "min_margin": float((window["trace"] - floor).min())}


def w2_glue(result: Mapping[str, Any], claim: Mapping[str, Any]) -> None:
    """The numbers of the closing prose, from the claim file and the stored rows."""
    s, hist = per_seed(claim), result["history"]
    lo, hi = ci_bounds(claim)
    act0 = hist[(hist["run"] == "sam1_bias") & (hist["epoch"] == 0)]["active_frac"].mean()
    glue_all(w2_gap=claim["our_value"], w2_gap_lo=lo, w2_gap_hi=hi,
          w2_sam_acc=float(s["sam_acc"].mean()), w2_sam_peak=float(s["sam_peak_acc"].mean()),
          w2_sam_trace=float(s["sam_trace"].mean()), w2_gd_acc=float(s["gd_acc"].mean()),
          w2_gd_trace=float(s["gd_trace"].mean()), w2_ctrl_acc=float(s["control_acc"].mean()),
          w2_verdict=claim["verdict"].replace("_", " "), w2_wall=result["wall_s"],
          w2_act0=float(act0), w2_act_end=run_mean(result["final"], "sam1_bias", "final_active_frac"))
    peaks = result["final"].loc[result["final"]["run"] == "sam1_bias", "peak_epoch"]
    glue_all(w2_peak_epochs=(f"epoch {names.num(int(peaks.min()))}" if peaks.min() == peaks.max() else
                             f"epochs {names.num(int(peaks.min()))}–{names.num(int(peaks.max()))}"),
             w2_peak_range=(f"{names.num(float(s['sam_peak_acc'].min()), 3)}–"
                            f"{names.num(float(s['sam_peak_acc'].max()), 3)}"))
    below = w2_below_bound(result)
    glue_all(w2_sam_loss=below["train_loss"], w2_sam_floor=below["floor"],
             w2_sam_below_pct=100 * (1 - float(s["sam_trace"].mean()) / result["bound"]))
