"""Tables, figures and glue values of chapter 05b ("Does weakness predict generalisation?").

Every function takes the ``analyse`` results of the studies in :data:`STUDIES` (loaded by the
chapter with ``chapter.load``) and only reads them: nothing here computes a unit or writes a file.
Orientation: every correlation is *hypothesis-oriented* — positive means "predicts
generalisation the way its family's hypothesis says" (weakness and flatness higher ⇒ better,
sharpness and complexity higher ⇒ worse); Ψ is Jiang's granulated Kendall of the measure,
oriented as a complexity, against the generalisation gap, so positive is predictive too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from weakness_lib.bennett.weakness import column
from weakness_lib.studies.bennett.replication import PRIMARY_TARGET
from weakness_lib.views import names

#: the chapter's studies: the originals (chapters 04/05) and the three new ones
STUDIES: tuple[str, ...] = ("head_to_head_mnist", "head_to_head_fmnist", "replication_mnist",
                            "replication_fmnist", "scale_60k_mnist", "robustness_population")
DATASETS = names.DATASETS  # the datasets as a reader names them (one place)
#: populations of the forest plot, in order: (label, study, dataset)
POPULATIONS: tuple[tuple[str, str, str], ...] = (
    ("original (ch. 04/05)", "head_to_head_mnist", "mnist"),
    ("original (ch. 04/05)", "head_to_head_fmnist", "fashion_mnist"),
    ("replication", "replication_mnist", "mnist"),
    ("replication", "replication_fmnist", "fashion_mnist"),
    ("n = 60,000", "scale_60k_mnist", "mnist"),
)
ROBUST_LABEL = "robustness Ψ (vs gap)"
#: estimators of the forest plot and the ablation (column → short name, from views.names)
FOREST: dict[str, str] = {m: names.short(m) for m in (
    column("w1", tau=0.01), column("w2"), "lambda_max", "pacbayes_mag_sigma", "lzma_bytes", "val_acc", "mean_conf")}
PAPER_RHO: dict[str, float] = {"mnist": 0.374, "fashion_mnist": 0.384}


def _acc_table(result: Mapping[str, Any]) -> pd.DataFrame:
    return result["stats"]["tables"][PRIMARY_TARGET]


def _row(t: pd.DataFrame, measure: str) -> pd.Series | None:
    hit = t[t["measure"] == measure]
    return None if hit.empty else hit.iloc[0]


def forest_frame(results: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per (dataset, estimator, population): the raw ρ with test accuracy (the book's one
    sign convention in figures, as on the landing page: weakness should be positive, sharpness
    negative) with its 95 % CI; Ψ for the robustness population."""
    rows = []
    for label, study, ds in POPULATIONS:
        if study not in results:
            continue
        t = _acc_table(results[study])
        for m, name in FOREST.items():
            r = _row(t, m)
            if r is not None:
                rows.append({"dataset": DATASETS[ds], "estimator": name, "population": label,
                             "value": r["rho"], "lo": r["ci_lo"], "hi": r["ci_hi"]})
    rob = results.get("robustness_population")
    for ds, name_ds in DATASETS.items():
        sc = None if rob is None else rob["scores"].get(f"{ds}/gap_acc")
        if sc is None:
            continue
        for m, name in FOREST.items():
            r = _row(sc, m)
            if r is not None:
                rows.append({"dataset": name_ds, "estimator": name, "population": ROBUST_LABEL,
                             "value": r["psi"], "lo": r["psi_lo"], "hi": r["psi_hi"]})
    return pd.DataFrame(rows)


def confirmatory_table(results: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """The registered confirmatory tests (W2) and W1 under B6/B7's rule, one row per study."""
    rows = []
    for study in ("replication_mnist", "replication_fmnist", "scale_60k_mnist"):
        if study not in results:
            continue
        r = results[study]
        out, d = r["outcome"], r["outcome"]["details"]
        ci = out["ci95"] or [float("nan")] * 2
        w1ci = d["w1"]["ci95"] or [float("nan")] * 2
        rows.append({"claim": r["claim_id"], "networks": d["n_networks"],
                     "test acc. (mean)": d["test_acc_mean"], "W2 ρ": out["rho"], "W2 p": out["p"],
                     "W2 CI lo": ci[0], "W2 CI hi": ci[1], "verdict": out["verdict"].replace("_", " "),
                     "W1 ρ": d["w1"]["rho"], "W1 p": d["w1"]["p"], "W1 CI lo": w1ci[0],
                     "W1 CI hi": w1ci[1], "W1 (B6/B7 rule)": d["w1_rule_outcome"].replace("_", " ")})
    return pd.DataFrame(rows)


def pooled(b7r: Mapping[str, Any]) -> pd.DataFrame:
    """ρ over both replication populations (200 networks), stratified by dataset, as the
    replication study stored it in claim B7-R (``details["pooled_with_B6-R"]``)."""
    rows = b7r["details"]["pooled_with_B6-R"]["rows"]
    return pd.DataFrame([{"estimator": FOREST[r["measure"]], "networks": r["n"], "ρ": r["rho"],
                          "p": r["p"], "CI lo": r["ci_lo"], "CI hi": r["ci_hi"]} for r in rows])


def robustness_table(result: Mapping[str, Any], dataset: str, target: str = "gap_acc") -> pd.DataFrame:
    """Every measure's Kendall τ, Ψ and robust sign error on one dataset, best Ψ first."""
    sc = result["scores"][f"{dataset}/{target}"]
    cols = ["measure", "family", "tau", "psi", "psi_lo", "psi_hi", "sign_error_max",
            "sign_error_p90", "sign_error_mean", "n_environments"]
    return sc[cols].sort_values("psi", ascending=False).reset_index(drop=True)


#: the measures of the heat-map, one or two per family (column → short name, from views.names)
HEATMAP: dict[str, str] = {m: names.short(m) for m in (
    column("w1", tau=0.01), column("w1", delta=1.0), "entropy_bits", column("w2"), column("w1", tau=0.01) + "_cal",
    "lambda_max", "trace", "sam", "asam", "pacbayes_sigma", "pacbayes_bound", "pacbayes_mag_sigma", "lzma_bytes",
    "l2_norm", "path_norm", "log_spectral_sum", "val_acc", "mean_conf")}


def sensitivity_without_capped(x5: Mapping[str, Any]) -> pd.DataFrame:
    """The registered sensitivity analysis (Ψ and robust sign error on the networks that reached
    the loss criterion only), as the robustness study stored it in claim X5."""
    labels = {**HEATMAP, **FOREST}
    rows = [{"dataset": DATASETS[r["dataset"]], "networks": r["networks"],
             "varied": ", ".join(names.label(h) for h in r["varied"]),
             "measure": labels.get(r["measure"], r["measure"]), "Ψ": r["psi"], "Ψ lo": r["psi_lo"],
             "Ψ hi": r["psi_hi"], "sign err. max": r["sign_error_max"],
             "environments": r["n_environments"]}
            for r in x5["details"]["sensitivity_without_capped"]["rows"]]
    frame = pd.DataFrame(rows, columns=["dataset", "networks", "varied", "measure", "Ψ", "Ψ lo", "Ψ hi",
                                        "sign err. max", "environments"])
    for c in ("Ψ", "Ψ lo", "Ψ hi", "sign err. max"):  # a JSON null is a missing number
        frame[c] = pd.to_numeric(frame[c], errors="coerce")
    return frame


def heatmap_frame(result: Mapping[str, Any], dataset: str, stat: str = "mean") -> pd.DataFrame:
    """measure × varied hyper-parameter: the ``stat`` (mean or max) of the sign error over the
    environments that vary that hyper-parameter (the measures of :data:`HEATMAP`, labelled)."""
    from weakness_lib.studies.bennett.robustness_population import HPARAMS

    sc = result["scores"][f"{dataset}/gap_acc"].set_index("measure")
    keep = [m for m in HEATMAP if m in sc.index]
    h = pd.DataFrame({names.label(hp): sc.loc[keep, f"sign_error_{stat}_{hp}"] for hp in HPARAMS})
    return h.rename(index=HEATMAP)


def ablation_frame(results: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """W1 under each admissibility choice (τ, δ, calibrated, other probe split): oriented ρ with
    test accuracy on each seed-only population, Ψ on the robustness population."""
    measures = [m for m in _acc_table(results["replication_mnist"])["measure"]
                if m.startswith("w1_")] if "replication_mnist" in results else []
    rows = {m: {"estimator": names.label(m)} for m in sorted(measures)}
    for label, study, ds in POPULATIONS[2:]:
        if study in results:
            t = _acc_table(results[study])
            for m in rows:
                r = _row(t, m)
                rows[m][f"ρ {label} {DATASETS[ds]}"] = None if r is None else r["rho_oriented"]
    rob = results.get("robustness_population")
    for ds, name in DATASETS.items():
        sc = None if rob is None else rob["scores"].get(f"{ds}/gap_acc")
        for m in rows:
            r = None if sc is None else _row(sc, m)
            rows[m][f"Ψ {name}"] = None if r is None else r["psi"]
    return pd.DataFrame(list(rows.values()))


def population_overview(result: Mapping[str, Any]) -> pd.DataFrame:
    """Per dataset and training-set size: networks, how many reached the loss criterion / hit the
    cap, and the spread of test accuracy and of the gap."""
    df = result["frame"]
    g = df.groupby(["dataset", "n_train"])
    out = pd.DataFrame({
        "networks": g.size(), "reached CE < 0.01": g["stopped_by"].apply(lambda s: int((s == "criterion").sum())),
        "hit the cap": g["stopped_by"].apply(lambda s: int((s == "cap").sum())),
        "test acc. min": g["test_acc"].min(), "test acc. max": g["test_acc"].max(),
        "gap min": g["gap_acc"].min(), "gap max": g["gap_acc"].max(),
    }).reset_index()
    out["dataset"] = out["dataset"].map(DATASETS)
    return out


#: the weakness estimators of the B4 table (one per variant family)
B4_MEASURES: dict[str, str] = {k: v for k, v in HEATMAP.items()
                               if k in (column("w1", tau=0.01), column("w1", delta=1.0), "entropy_bits",
                                        column("w2"), column("w1", tau=0.01) + "_cal")}


def b4_frame(result: Mapping[str, Any]) -> pd.DataFrame:
    """B4 on the population: the PAC-Bayes bound against the main weakness estimators."""
    t = result["b4"]
    if not len(t):
        return t
    t = t[t["measure"].isin(B4_MEASURES)].copy()
    t["dataset"] = t["dataset"].map(DATASETS)
    t["measure"] = t["measure"].map(B4_MEASURES)
    return t.rename(columns={"measure": "estimator", "rho": "Spearman ρ", "kendall_tau": "Kendall τ",
                             "p_kendall": "p (τ)"}).reset_index(drop=True)


def wall_frame(results: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Per new study: networks and compute time (sum over units, and elapsed first→last unit)."""
    rows = []
    for study in STUDIES[2:]:
        if study in results:
            w = results[study]["wall"]
            rows.append({"study": study, "networks": len(results[study]["table"].rows()),
                         "compute [CPU-min]": w["compute_s"] / 60,
                         "elapsed [min]": w["elapsed_s"] / 60})
    return pd.DataFrame(rows)


def _num(x: float, fmt: str) -> str:
    """A number for prose: typographic minus; undefined → "undefined" (never ``nan``)."""
    if x is None or not math.isfinite(x):
        return "undefined"
    return format(x, fmt).replace("-", "−")


def _rob_line(rob: Mapping[str, Any], ds: str) -> str:
    v = rob["per_dataset"].get(ds)
    if v is None or "psi" not in v:
        return f"{DATASETS[ds]}: not scored"
    lo, hi = v["psi_ci"]
    return (f"{DATASETS[ds]}: Ψ = {_num(v['psi'], '+.3f')} [{_num(lo, '+.3f')}, {_num(hi, '+.3f')}], "
            f"worst-case sign error {_num(v['sign_error_max'], '.2f')} vs "
            f"{_num(v['best_sharpness_sign_error_max'], '.2f')} for the best sharpness measure"
            + (" (undefined: no environment survived the noise filter)"
               if not math.isfinite(v["sign_error_max"]) else "") + " — "
            + ("robustly predictive" if v["holds"] else "not robustly predictive"))


def plain_verdict(results: Mapping[str, Mapping[str, Any]]) -> str:
    """What the evidence supports, in plain language, from the registered outcomes only."""
    lines = []
    for study in ("replication_mnist", "replication_fmnist", "scale_60k_mnist"):
        if study not in results:
            continue
        o = results[study]["outcome"]
        ci = o["ci95"]
        ci_text = f" [{_num(ci[0], '+.3f')}, {_num(ci[1], '+.3f')}]" if ci else ""
        confirmed = "confirmed" if o["verdict"] == "reproduced" else "not confirmed"
        lines.append(f"- **{results[study]['claim_id']}**: W2 ρ = {_num(o['rho'], '+.3f')}{ci_text}, "
                     f"p = {_num(o['p'], '.2g')} — the registered hypothesis is **{confirmed}**; "
                     f"W1 (τ = 0.01) ρ = {_num(o['details']['w1']['rho'], '+.3f')} "
                     f"({o['details']['w1_rule_outcome'].replace('_', ' ')} under B6/B7's rule).")
    b7r = (results.get("claims") or {}).get("B7-R")
    pooled_rows = ((b7r or {}).get("details") or {}).get("pooled_with_B6-R", {}).get("rows", [])
    for r in (r for r in pooled_rows if r["measure"] == column("w2")):
        lines.append(f"- **Pooled over both replication populations** ({r['n']} networks, within-population "
                     f"ranks; reported, not a registered test): W2 ρ = {_num(r['rho'], '+.3f')} "
                     f"[{_num(r['ci_lo'], '+.3f')}, {_num(r['ci_hi'], '+.3f')}], p = {_num(r['p'], '.2g')}.")
    rob = results.get("robustness_population")
    if rob is not None:
        lines.append(f"- **X5** ({rob['verdict'].replace('_', ' ')}): "
                     + "; ".join(_rob_line(rob, ds) for ds in DATASETS) + ".")
        lines.append("")
        lines.append(_oracle_line(rob))
    return "\n".join(lines)


def _oracle_line(rob: Mapping[str, Any]) -> str:
    """W2 against the validation oracle: does weakness add anything to held-out accuracy?"""
    parts = []
    for ds, name in DATASETS.items():
        sc = rob["scores"].get(f"{ds}/gap_acc")
        if sc is None:
            continue
        w2, oracle = _row(sc, column("w2")), _row(sc, "val_acc")
        if w2 is None or oracle is None:
            continue
        parts.append(f"on {name} W2 has Ψ = {_num(w2['psi'], '+.3f')} and the validation oracle "
                     f"Ψ = {_num(oracle['psi'], '+.3f')}")
    return ("**Against the reference point.** " + "; ".join(parts) + ". A weakness estimator whose "
            "Ψ is no better than the oracle's ranks networks no better than held-out accuracy does, "
            "which a practitioner can measure directly.") if parts else ""
