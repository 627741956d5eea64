"""The code of chapter 06 (theory on finite languages, claims B3 and B4): every table, figure and
glue value, from the analysed stored tables (:func:`weakness_lib.views.chapter.load` of ``theory``)
and the claim files B3 and B4 (:func:`weakness_lib.views.chapter.claim`); the verdicts are read,
never re-derived.

Each function shows what one cell of the chapter shows (a returned table is the cell's output) and
glues the numbers its prose quotes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from weakness_lib.studies.bennett.theory import VOLUME_TAUS
from weakness_lib.views import names, style, tables
from weakness_lib.views.chapter import glue

_CHECKS = ("a_", "b_", "c_", "d_")


def _words(verdict: str) -> str:
    return verdict.replace("_", " ")


def listed(xs: Any) -> str:
    """A list as prose: [1, 2, 'half'] → 1, 2, half; [[2, 3], [3, 4]] → (2, 3), (3, 4)."""
    return ", ".join(f"({', '.join(map(str, x))})" if isinstance(x, (list, tuple)) else str(x) for x in xs)


def setting(result: Mapping[str, Any]) -> Any:
    """The pre-registered setting (glues the compute time of the stored results)."""
    cfg = result["settings"]
    glue(theory_wall_s=result["compute_wall_s"])
    return tables.table(pd.Series({
        "|U| (unseen outcomes) enumerated": listed(cfg.u_sizes),
        "exchangeable laws per |U|": f"uniform powerset; uniform-k for k ∈ {{{listed(cfg.uniform_k)}}}; "
            f"binomial q ∈ {{{listed(cfg.binomial_q)}}}; mixtures (w·uniform-1 + (1−w)·binomial q) for "
            f"(w, q) ∈ {{{listed(cfg.mixtures)}}}",
        "biased control law": f"outcome u demanded with its own probability q_u, linearly spaced "
                              f"{listed(cfg.biased_inclusion)}",
        "random candidate families per |U| (minimax check)": cfg.n_families,
        "H = Y^X grids (|X|, |Y|)": listed(cfg.functions_grid),
        "exclusion-language grids (|C|, |Y|)": listed(cfg.exclusion_grid),
        "PAC-Bayes bound: m, δ": f"{cfg.pacbayes_m}, {cfg.pacbayes_delta}",
        "trained networks (B4)": ", ".join(cfg.head_to_head_datasets)
                                 + " head-to-head studies; weakness = their primary estimator",
        "compute time of the stored results (s)": f"{result['compute_wall_s']:.1f}",
    }, name="value"), wrap=["value"])


# ---------------------------------------------------------------------------------------------
# B3
# ---------------------------------------------------------------------------------------------
def b3_laws(result: Mapping[str, Any]) -> Any:
    """Per |U|: do all exchangeable laws give a success that depends on |C| only, monotonically?"""
    laws = result["b3_laws"]
    summary = laws.groupby("n").agg(laws=("law", "size"), all_exchangeable=("exchangeable", "all"),
                                    all_monotone=("monotone", "all"), max_spread=("spread", "max"),
                                    min_step=("min_step", "min"), max_closed_form_err=("closed_form_err", "max"))
    return tables.table(summary, index=True, formats={"max_spread": "{:.1e}", "min_step": "{:.3g}",
                                                      "max_closed_form_err": "{:.1e}"})


def b3_sizes(result: Mapping[str, Any]) -> Any:
    """Per |U|: the powerset formula, the minimax regrets and the biased control."""
    sizes = result["b3_sizes"].set_index("n")[["powerset_err", "maximiser_regret_max", "nonmaximiser_regret_min",
                                                "n_families", "biased_monotone", "biased_spread", "biased_reversal"]]
    return tables.table(sizes, index=True, formats={"powerset_err": "{:.1e}", "maximiser_regret_max": "{:.1e}",
                                                    "nonmaximiser_regret_min": "{:.3g}", "biased_spread": "{:.3g}"},
                        missing="no pair of coverings reverses the order under the biased law at this |U|")


def law_family(name: str) -> str:
    """The reader's name of the family of a stored demand law (``uniform_k2`` → "exactly k
    outcomes demanded"); the parameters of each law are in the setting table."""
    for prefix, family in (("uniform_powerset", "uniform over all demand sets"),
                           ("uniform_k", "exactly k outcomes demanded"),
                           ("binomial_q", "each outcome demanded with prob. q"),
                           ("mix_", "mixtures of the two")):
        if name.startswith(prefix):
            return family
    return name


def b3_figure(result: Mapping[str, Any]) -> None:
    """Success against weakness at the largest |U|: every exchangeable law (coloured by family),
    and below it the biased control."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    n_max = max(result["settings"].u_sizes)
    fig, axes = plt.subplots(2, 1, figsize=style.figsize(2, 1, panel_aspect=0.42))
    families = list(dict.fromkeys(law_family(n) for n in result["b3_curves"][n_max]))
    colour = dict(zip(families, sns.color_palette(style.PALETTE, len(families)), strict=True))
    for name, curve in result["b3_curves"][n_max].items():
        axes[0].plot(range(n_max + 1), curve, marker="o", ms=3, lw=1, color=colour[law_family(name)],
                     label=law_family(name))
    axes[0].set(xlabel="weakness |C| (unseen outcomes covered)", ylabel="P(D ⊆ C)",
                title=f"{len(result['b3_curves'][n_max])} exchangeable laws, |U| = {n_max}")
    handles = dict(zip(*reversed(axes[0].get_legend_handles_labels()), strict=False))
    sns.stripplot(data=result["b3_biased"], x="size", y="success", ax=axes[1], size=2, alpha=0.4, jitter=0.3,
                  color="C3")
    axes[1].set(xlabel="weakness |C|", ylabel="P(D ⊆ C)", title="control: a biased law")
    # below both panels: inside the first it covered the curves it names
    fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=1, frameon=False)
    fig.tight_layout(rect=(0, 0.2, 1, 1))
    style.show(fig)


def b3_verdict(c3: Mapping[str, Any], result: Mapping[str, Any]) -> Any:
    """The claim file B3 as a table (glues its verdict, value and checks)."""
    checks = {k[2:].replace("_", " "): v for k, v in c3["details"].items() if k.startswith(_CHECKS)}
    glue(b3_verdict=_words(c3["verdict"]), b3_value=c3["our_value"], b3_n_max=max(result["settings"].u_sizes),
         b3_checks="; ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in checks.items()))
    return tables.table(pd.Series({
        "claim": c3["statement"], "paper": c3["paper_value"], "metric": c3["metric"],
        "ours": f"{c3['our_value']:.3f}", "verdict": _words(c3["verdict"]), "rule": c3["verdict_rule"],
        **{k: style.yes_no(v) for k, v in checks.items()}}, name="B3"), wrap=["B3"])


# ---------------------------------------------------------------------------------------------
# B4
# ---------------------------------------------------------------------------------------------
def b4_finite(result: Mapping[str, Any]) -> Any:
    """The KL identity and the bound's monotonicity on every enumerated language."""
    finite = result["b4_finite"][["space", "n_x", "n_y", "n_profiles", "kl_max_err", "n_weakness_values",
                                  "strictly_decreasing", "rho_bound_weakness", "closed_form_matches"]]
    return tables.table(finite, formats={"kl_max_err": "{:.1e}", "rho_bound_weakness": "{:+.3f}"},
                        missing="the closed form ∏(2^a − 1) is checked for the exclusion language only",
                        main=["space", "n_x", "n_y", "kl_max_err", "strictly_decreasing", "rho_bound_weakness",
                              "closed_form_matches"])


def b4_figure(result: Mapping[str, Any]) -> None:
    """The PAC-Bayes bound against log-weakness on H = Y^X, |X| = |Y| = 3."""
    import matplotlib.pyplot as plt

    ex = result["b4_example"]
    fig, ax = plt.subplots(figsize=style.figsize(panel_aspect=0.5))
    ax.scatter(ex["log_weakness"], ex["bound"], s=12)
    ax.set(xlabel="log-weakness ln|A|  (H = Y^X, |X| = |Y| = 3, every profile)",
           ylabel=f"PAC-Bayes bound (m = {result['config']['pacbayes_m']})",
           title="bound vs weakness: KL = ln(|H|/|A|)")
    fig.tight_layout()
    style.show(fig)


def b4_trained(result: Mapping[str, Any]) -> None:
    """ρ(PAC-Bayes bound, weakness) over the trained head-to-head networks, or why it is missing."""
    from IPython.display import display

    trained = result["b4_trained"]
    if not trained.get("available"):
        print("No head-to-head results are stored at this scale, so the trained-network part of B4 is not "
              "evaluated; the claim rests on the exact finite check only (and can then be at most "
              "'partially reproduced').", trained.get("reason", ""))
        for ds, info in trained.get("datasets", {}).items():
            print(f"  {ds}: {info.get('reason')}")
        return
    frames = []
    for ds, info in trained["datasets"].items():
        if info["available"]:
            frames.append(pd.DataFrame(info["table"]).assign(
                dataset=ds, n=info["n"], primary=lambda d, p=info["primary"]: d["weakness"] == p))
        else:
            print(f"{ds}: {info['reason']}")
    frame = pd.concat(frames, ignore_index=True)
    cols = [c for c in ["dataset", "n", "weakness", "primary", "rho", "p", "ci_lo", "ci_hi"] if c in frame]
    display(tables.table(tables.with_ci(frame[cols]), formats=tables.RHO_FORMATS))


def b4_verdict(c4: Mapping[str, Any]) -> Any:
    """The claim file B4 as a table (glues its verdict, value, source and largest KL error)."""
    d, ci = c4["details"], c4["ci95"]
    glue(b4_verdict=_words(c4["verdict"]), b4_value=c4["our_value"], b4_source=d["our_value_source"],
         b4_max_kl_err=names.num(d["max_kl_err"], 2))
    trained_ok = d["c_trained_networks"]
    return tables.table(pd.Series({
        "claim": c4["statement"], "paper": c4["paper_value"], "metric": c4["metric"],
        "ours": f"{c4['our_value']:+.3f}" + (f"  (95 % CI {ci[0]:+.3f} … {ci[1]:+.3f})" if ci else ""),
        "source of our value": d["our_value_source"], "verdict": _words(c4["verdict"]),
        "rule": c4["verdict_rule"],
        "finite: KL identity": style.yes_no(d["a_kl_identity"]),
        "finite: bound strictly decreasing": style.yes_no(d["b_bound_strictly_decreasing"]),
        "trained networks: ρ < 0 and Holm p < 0.05": (
            ", ".join(f"{names.DATASETS.get(k, k)}: {style.yes_no(v)}" for k, v in trained_ok.items())
            if isinstance(trained_ok, dict) else style.yes_no(trained_ok))}, name="B4"), wrap=["B4"])


# ---------------------------------------------------------------------------------------------
# The paper's p-values, the volume demonstration
# ---------------------------------------------------------------------------------------------
def p_values(result: Mapping[str, Any]) -> Any:
    """The derived p-values of the paper's correlations (glues those of ρ = 0.374 and 0.3836)."""
    pt = result["p_table"]
    glue(p_0374=float(pt.loc[pt.rho == result["paper_rho"]["B6"], "p_t"].iloc[0]),
         p_03836=float(pt.loc[pt.rho == 0.3836, "p_t"].iloc[0]))
    return tables.table(pt, formats={"rho": "{:+.4f}", "p_t": "{:.3g}", "p_fisher_z": "{:.3g}"})


def volume(result: Mapping[str, Any]) -> None:
    """Perturbation volume and W1 across function-preserving rescalings: table, figure, glue."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    vol = result["volume"]
    w1 = dict(zip(VOLUME_TAUS, result["volume_w1_columns"]))  # τ → W1 column
    shown = VOLUME_TAUS[1]
    display(tables.table(vol, formats={"alpha": "{:g}", "volume": "{:.3f}", **dict.fromkeys(w1.values(), "{:.6f}"),
                                       "param_norm": "{:.3g}", "max_abs_dlogit": "{:.1e}", "agreement": "{:.3f}"}))
    fig, ax = plt.subplots(figsize=style.figsize(panel_aspect=0.5))
    ax.plot(vol["alpha"], vol["volume"], marker="o", label="perturbation volume (parameter space)")
    ax.plot(vol["alpha"], vol[w1[shown]] / vol[w1[shown]].iloc[0] * vol["volume"].max(), marker="s",
            label=f"W1 (τ = {shown:g}), rescaled to the same axis")
    ax.set(xscale="log", xlabel="rescaling α", ylabel="value", title="volume moves, W1 does not")
    ax.legend()
    fig.tight_layout()
    style.show(fig)
    glue(vol_min=float(vol["volume"].min()), vol_max=float(vol["volume"].max()),
         w1_constant=style.yes_no(all(vol[c].nunique() == 1 for c in w1.values())),
         vol_dlogit=names.num(float(vol["max_abs_dlogit"].max()), 2), vol_agreement=float(vol["agreement"].min()))


# the re-creation of Bennett (2023) is its own module; the chapter calls it from here
from weakness_lib.views.recreation import recreation  # noqa: E402, F401
