"""The cells of chapter 05b ("Does weakness predict generalisation?"): each function displays what
one cell shows, from the analysed stored tables (:data:`confirmatory.STUDIES`) and the claim files
B6-R, B7-R, B6-60k and X5. Verdicts are read from the claim files; the pooled ρ and the sensitivity
analysis without capped networks are the bootstrap summaries the studies stored in B7-R and X5
(:mod:`weakness_lib.studies.bennett.confirmatory_summaries`): nothing here resamples.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from weakness_lib.views import chapter, rederive, style, tables
from weakness_lib.views import confirmatory as report
from weakness_lib.views import confirmatory_figures as figures
from weakness_lib.views import robustness as x5r

#: the registered tests of the chapter: study → claim id
CLAIMS: dict[str, str] = {"replication_mnist": "B6-R", "replication_fmnist": "B7-R",
                          "scale_60k_mnist": "B6-60k", "robustness_population": "X5"}


def load(scale: str, compute: bool = False) -> dict[str, Any]:
    """The analysed studies, each registered test's verdict replaced by its claim file's, and the
    claim files themselves under ``"claims"`` (by claim id)."""
    results: dict[str, Any] = {s: chapter.load(s, scale, compute=compute) for s in report.STUDIES}
    claims = {cid: chapter.claim(cid, scale) for s, cid in CLAIMS.items() if s in results}
    for study, cid in CLAIMS.items():
        if study == "robustness_population":
            results[study] = {**results[study], "verdict": claims[cid]["verdict"]}
        else:
            results[study] = {**results[study], "outcome": {**results[study]["outcome"],
                                                            "verdict": claims[cid]["verdict"]}}
    return {**results, "claims": claims}


def glue_numbers(results: Mapping[str, Any]) -> None:
    """Glue the numbers the chapter's prose quotes (``cf_…``)."""
    values: dict[str, Any] = {}
    for tag, study in (("b6", "head_to_head_mnist"), ("b7", "head_to_head_fmnist")):
        acc = results[study]["stats"]["tables"]["test_acc"].set_index("measure")
        values.update({f"cf_{tag}_w1_rho": float(acc.loc["w1_tau0.01", "rho"]),
                       f"cf_{tag}_w2_rho": float(acc.loc["w2", "rho"]),
                       f"cf_{tag}_w2_p": float(acc.loc["w2", "p"])})
    _, rederived = rederive.load()
    for tag, claim in (("b6", "B6"), ("b7", "B7")):  # W2 as it was when the studies were registered
        native = rederive.secondary_before(rederived, claim)
        values.update({f"cf_{tag}_w2_rho_native": native["rho"], f"cf_{tag}_w2_p_native": native["p"]})
    for tag, study in (("rep_mnist", "replication_mnist"), ("rep_fmnist", "replication_fmnist"),
                       ("s60k", "scale_60k_mnist")):
        o = results[study]["outcome"]
        values.update({f"cf_{tag}_rho": o["rho"], f"cf_{tag}_p": o["p"],
                       f"cf_{tag}_verdict": o["verdict"].replace("_", " "),
                       f"cf_{tag}_w1_rho": o["details"]["w1"]["rho"],
                       f"cf_{tag}_acc": o["details"]["test_acc_mean"]})
    rob = results["robustness_population"]
    values.update({"cf_rob_n": len(rob["frame"]), "cf_rob_diverged": len(rob["diverged"]),
                   "cf_rob_trained": len(rob["frame"]) + len(rob["diverged"]),
                   "cf_rob_capped": sum(rob["capped"].values()),
                   "cf_rob_verdict": rob["verdict"].replace("_", " ")})
    chapter.glue(**values)


def forest(results: Mapping[str, Any]) -> None:
    style.show(figures.forest_plot(report.forest_frame(results)))


def confirmatory_table(results: Mapping[str, Any]) -> Any:
    t = report.confirmatory_table(results)
    t = tables.with_ci(tables.with_ci(t, "W2 CI lo", "W2 CI hi", "W2 95 % CI"), "W1 CI lo", "W1 CI hi",
                       "W1 95 % CI")
    return tables.table(t, formats={**tables.RHO_FORMATS, "W2 ρ": "{:+.3f}", "W1 ρ": "{:+.3f}",
                                    "W2 p": "{:.2g}", "W1 p": "{:.2g}", "test acc. (mean)": "{:.4f}"},
                        caption="Registered confirmatory tests (W2) and W1 under the B6/B7 rule; ρ with test accuracy.",
                        # W1, the other registered estimator, beside W2's verdict (it may point the other way)
                        main=["claim", "W2 ρ", "W2 95 % CI", "verdict", "W1 ρ", "W1 95 % CI", "W1 (B6/B7 rule)"],
                        key=["claim", "verdict"])


def stability_note():  # -> IPython Markdown
    from IPython.display import Markdown

    _, rederived = rederive.load()
    return Markdown(rederive.stability_note(rederived, ["B6-R", "B7-R"], "replication_fmnist",
                                            "the Fashion-MNIST replication"))


def pooled(results: Mapping[str, Any]) -> Any:
    p = tables.with_ci(report.pooled(results["claims"]["B7-R"]), "CI lo", "CI hi")
    return tables.table(p, formats={"ρ": "{:+.3f}", "p": "{:.2g}"},
                        caption="Pooled ρ with test accuracy (200 networks).")


def population(results: Mapping[str, Any]) -> Any:
    return tables.table(report.population_overview(result=results["robustness_population"]),
                        formats={"test acc. min": "{:.3f}", "test acc. max": "{:.3f}",
                                 "gap min": "{:+.3f}", "gap max": "{:+.3f}"},
                        caption="The population: networks per dataset and training-set size.")


def robustness_tables(results: Mapping[str, Any]) -> None:
    from IPython.display import display

    rob = results["robustness_population"]
    for ds, name in report.DATASETS.items():
        if f"{ds}/gap_acc" not in rob["scores"]:
            continue
        t = tables.with_ci(report.robustness_table(rob, ds), "psi_lo", "psi_hi", "Ψ 95 % CI")
        t = t.rename(columns={"tau": "Kendall τ", "psi": "Ψ", "sign_error_max": "sign err. max",
                              "sign_error_p90": "sign err. p90", "sign_error_mean": "sign err. mean",
                              "n_environments": "environments"})
        display(tables.table(t, formats={"Kendall τ": "{:+.3f}", "Ψ": "{:+.3f}"},
                             missing="no environment kept any weight after the Hoeffding filter",
                             caption=f"{name}: every measure against the generalisation gap, best Ψ first."))


def heatmap(results: Mapping[str, Any]) -> None:
    style.show(figures.heatmap_plot(results["robustness_population"]))


def sensitivity(results: Mapping[str, Any]) -> Any:
    sens = tables.with_ci(report.sensitivity_without_capped(results["claims"]["X5"]), "Ψ lo", "Ψ hi",
                          "Ψ 95 % CI")
    return tables.table(sens, formats={"Ψ": "{:+.3f}"}, wrap=["varied"],
                        missing="no environment kept any weight after the noise filter",
                        caption="Ψ and worst-case sign error on the networks that reached training CE < 0.01.")


def glue_x5(results: Mapping[str, Any]) -> None:
    chapter.glue(**x5r.glue_values(results["robustness_population"]))


def variants(results: Mapping[str, Any]) -> Any:
    v = tables.with_ci(x5r.variant_table(results["robustness_population"]), "Ψ lo", "Ψ hi", "Ψ 95 % CI")
    return tables.table(v, formats={"worst-case sign error": "{:.3f}", "Ψ": "{:+.3f}"},
                        missing="no environment kept any weight after the noise filter",
                        caption="The registered rule for every weakness variant, against the generalisation "
                                "gap (reported; not part of the verdict).",
                        main=["estimator", "dataset", "robustly predictive", "on both datasets",
                              "worst-case sign error", "Ψ", "Ψ 95 % CI"], key=["estimator", "robustly predictive"])


def environments(results: Mapping[str, Any]) -> Any:
    return tables.table(x5r.environment_table(results["robustness_population"]),
                        caption="Environments that kept any Hoeffding weight, of all, overall and by the "
                                "hyper-parameter they vary.")


def psi_sensitivity(results: Mapping[str, Any]) -> Any:
    s = tables.with_ci(x5r.psi_sensitivity_table(results["robustness_population"]), "lo", "hi",
                       "95 % CI (without)")
    return tables.table(s, formats={c: "{:+.3f}" for c in s.columns if c.startswith("Ψ")},
                        caption="Ψ against the gap, as registered and without same-configuration pairs "
                                "(sensitivity analysis).")


def ablation(results: Mapping[str, Any]) -> Any:
    a = report.ablation_frame(results)
    return tables.table(a, formats={c: "{:+.3f}" for c in a.columns if c != "estimator"},
                        missing="not measured in that population",
                        caption="W1 variants: oriented ρ with test accuracy (seed-only populations) and Ψ "
                                "(robustness population).")


def b4(results: Mapping[str, Any]) -> Any:
    return tables.table(report.b4_frame(results["robustness_population"]),
                        formats={"Spearman ρ": "{:+.3f}", "Kendall τ": "{:+.3f}", "p": "{:.2g}",
                                 "p (τ)": "{:.2g}"},
                        caption="Spearman ρ and Kendall τ between the PAC-Bayes bound and each weakness estimator.")


def plain_verdict(results: Mapping[str, Any]):  # -> IPython Markdown
    from IPython.display import Markdown

    return Markdown(report.plain_verdict(results))


def wall(results: Mapping[str, Any]) -> Any:
    return tables.table(report.wall_frame(results),
                        formats={"compute [CPU-min]": "{:.1f}", "elapsed [min]": "{:.1f}"},
                        caption="Per study: networks, compute summed over units, and elapsed time from "
                                "first to last unit.")
