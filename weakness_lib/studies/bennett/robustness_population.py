"""Chapter 05b, claim X5: is weakness a *robust* predictor of generalisation when hyper-parameters
vary? (The Jiang et al. 2020 / Dziugaite et al. 2020 protocol applied to Bennett's weakness.)

Population: for each dataset of ``datasets``, the full grid ``grid`` (training-set size, width,
depth, learning rate) × ``seeds``; network ``<ds>-n<n>-w<w>-d<d>-lr<lr>-s<seed>`` is the MLP
784-w-…-w-10 (d hidden layers) trained by SGD (momentum, batch of ``train``) with learning rate
lr on the first n images of the stratified training order until its training cross-entropy is
below ``train.stop_train_loss`` at the end of an epoch, or ``train.epochs`` epochs (the cap;
``stopped_by`` records which). The probe set, validation oracle and the 5,000 evaluation images
come from the two halves of the test set (:mod:`weakness_lib.studies.bennett.population_data`,
``probe_source: test``); the curvature batch is shared by all networks.

Each network gets every measure of the head-to-head (weakness estimators, sharpness, simplicity)
plus the references and ablations of :func:`population_data.extra_measures`. The summary scores
every measure per dataset with :mod:`weakness_lib.bennett.robustness` against the generalisation
gap g = test error − train error (``gap_acc``) and against test error: Kendall τ, granulated
Kendall Ψ, the robust sign-error over environments (max, 90th percentile, mean), with bootstrap
CIs over configurations. It also stores Ψ without same-configuration seed pairs (a sensitivity
analysis); the claim reports the registered rule for every weakness variant and the environments
that kept a Hoeffding weight (:mod:`weakness_lib.views.robustness`).
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import time
from collections.abc import Mapping
from typing import Any

import pandas as pd
from scipy import stats as sps

from weakness_lib.bennett import robustness
from weakness_lib.bennett.train import TrainingDivergedError
from weakness_lib.core.claims import Claim
from weakness_lib.engine import base
from weakness_lib.studies.bennett import settings
from weakness_lib.studies.bennett.common import LAMBDA_MAX_VERIFY
from weakness_lib.studies.bennett.head_to_head_stats import measure_columns
from weakness_lib.studies.bennett.networks import (
    family_of,
    measure_families,
    measure_network,
    orientation_of,
    train_network,
    wall_time,
)
from weakness_lib.studies.bennett.population_data import data_for, extra_measures
from weakness_lib.studies.bennett.robustness_rules import (
    environment_counts,
    psi_between_configurations,
    robustly_predictive,
    rule_per_variant,
    validation_reference,
)

DEVICES: tuple[str, ...] = ("cpu",)
VERIFY = LAMBDA_MAX_VERIFY  # λ_max within lanczos_tol, its solver diagnostics reported
SETTINGS = settings.Robustness  # the typed settings of configs/<study>.yaml
HPARAMS: tuple[str, ...] = ("n_train", "width", "depth", "lr")
TARGETS: tuple[str, ...] = ("gap_acc", "test_err")   # g = test err − train err (primary), test err
SUMMARY_FORMAT = 2  # 2: adds "psi_between" (Ψ without same-configuration pairs)
SCORE_FORMATS: tuple[int, ...] = (1, 2)  # summary formats whose "scores" have today's layout
_KEY = re.compile(r"^(?P<ds>[a-z_]+)-n(?P<n>\d+)-w(?P<w>\d+)-d(?P<d>\d+)-lr(?P<lr>[0-9.e+-]+)-s(?P<s>\d+)$")


def unit_key(ds: str, n: int, w: int, d: int, lr: float, seed: int) -> str:
    return f"{ds}-n{n}-w{w}-d{d}-lr{lr:g}-s{seed}"


def parse_key(key: str) -> dict[str, Any]:
    """The hyper-parameters of a unit key (``ValueError`` for anything else)."""
    m = _KEY.match(key)
    if m is None:
        raise ValueError(f"not a population unit key: {key!r} (expected e.g. "
                         f"'mnist-n2000-w64-d1-lr0.01-s5000')")
    return {"dataset": m["ds"], "n_train": int(m["n"]), "width": int(m["w"]), "depth": int(m["d"]),
            "lr": float(m["lr"]), "seed": int(m["s"])}


def units(cfg: settings.Robustness | Mapping[str, Any]) -> list[list[str]]:
    """One stage, cheapest first (small n), so that an interrupted run keeps whole sub-grids."""
    cfg = base.typed(cfg)
    g = cfg.grid
    keys = [unit_key(ds, n, w, d, lr, s)
            for n in g.n_train for ds in cfg.datasets
            for w, d, lr in itertools.product(g.width, g.depth, g.lr)
            for s in cfg.seeds]
    return [keys]


def compute_unit(cfg: settings.Robustness | Mapping[str, Any], key: str,
                 device: str = "cpu") -> dict[str, Any]:
    """Train and measure one network of the population (pure, bitwise on the CPU)."""
    cfg = base.typed(cfg)
    hp = parse_key(key)
    if key not in units(cfg)[0]:
        raise ValueError(f"{key!r} is not a unit of {cfg.experiment} (not in its grid)")
    d = data_for(cfg, dataset_name=hp["dataset"], n_train=hp["n_train"])
    widths = [784] + [hp["width"]] * hp["depth"] + [10]
    train_cfg = {**dataclasses.asdict(cfg.train), "lr": hp["lr"]}
    with base.threads(cfg.torch_threads):
        try:
            model, rec = train_network(d.X, d.y, widths, train_cfg, hp["seed"], device=device)
        except TrainingDivergedError as err:  # recorded, excluded from every score (registered)
            return {**hp, "stopped_by": "diverged", "diverged": str(err)}
        t0 = time.perf_counter()
        row: dict[str, Any] = {**hp, **rec}
        row["stopped_by"] = ("criterion" if rec["final_train_loss"] < cfg.train.stop_train_loss
                             else "cap")
        row.update(measure_network(model, d, cfg, n_train=hp["n_train"]))
        row.update(extra_measures(model, d, cfg.taus, cfg))
        row["measure_wall_s"] = time.perf_counter() - t0
    return row


# ---------------------------------------------------------------------------------------------
# Scores (the stored summary)
# ---------------------------------------------------------------------------------------------
def trained(df: pd.DataFrame) -> pd.DataFrame:
    """The networks that did not diverge (diverged ones are recorded but never scored)."""
    return df[df["stopped_by"] != "diverged"].reset_index(drop=True)


def complexity_signs(df: pd.DataFrame) -> dict[str, int]:
    """Every measure column → the sign that turns it into a complexity (larger ⇒ larger gap):
    −orientation (weakness, flatness and simplicity are hypothesised to predict a smaller gap)."""
    extra = measure_families()
    cols = [c for c in measure_columns(df) if c not in HPARAMS and df[c].notna().all()
            and df[c].nunique() > 1]
    return {c: -orientation_of(c, extra) for c in cols}


def scores(cfg: settings.Robustness, df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """``{"<dataset>/<target>": score table}`` of every measure (:func:`robustness.score_measures`)."""
    out = {}
    for ds in cfg.datasets:
        part = trained(df[df["dataset"] == ds])
        if len(part) < 2:
            continue
        signs = complexity_signs(part)
        for target in TARGETS:
            t = robustness.score_measures(part, signs, target, list(HPARAMS), int(cfg.n_eval),
                                          n_boot=int(cfg.bootstrap_resamples),
                                          seed=int(cfg.bootstrap_seed))
            t.insert(1, "family", [family_of(m, measure_families()) for m in t["measure"]])
            out[f"{ds}/{target}"] = t
    return out


def bound_tracks_weakness(df: pd.DataFrame) -> pd.DataFrame:
    """B4 on the population (secondary): Spearman ρ (p) and Kendall τ between the PAC-Bayes bound
    and each weakness estimator, per dataset."""
    rows = []
    for ds, part in trained(df).groupby("dataset", sort=True):
        for m in [c for c in measure_columns(part) if family_of(c) == "weakness"]:
            if part[m].nunique() < 2:
                continue
            rho, p = sps.spearmanr(part["pacbayes_bound"], part[m])
            tau, p_tau = sps.kendalltau(part["pacbayes_bound"], part[m])
            rows.append({"dataset": ds, "measure": m, "rho": float(rho), "p": float(p),
                         "kendall_tau": float(tau), "p_kendall": float(p_tau)})
    return pd.DataFrame(rows)


def psi_between(cfg: settings.Robustness, df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """``{dataset: table}`` of Ψ against the gap with and without same-configuration pairs, every
    scored measure (:func:`robustness_rules.psi_between_configurations`, registered resamples)."""
    out = {}
    for ds in cfg.datasets:
        part = trained(df[df["dataset"] == ds])
        if len(part) >= 2:
            out[ds] = psi_between_configurations(part, complexity_signs(part), list(HPARAMS),
                                                 int(cfg.bootstrap_resamples), int(cfg.bootstrap_seed))
    return out


def summarise(cfg: settings.Robustness | Mapping[str, Any],
              rows: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The bootstrap score tables as plain JSON (computed once by the runner)."""
    cfg, df = base.typed(cfg), pd.DataFrame(list(rows))
    return {"format": SUMMARY_FORMAT,
            "scores": {k: t.to_dict(orient="list") for k, t in scores(cfg, df).items()},
            "psi_between": {k: t.to_dict(orient="list") for k, t in psi_between(cfg, df).items()}}


def _numeric(t: pd.DataFrame) -> pd.DataFrame:
    """A score table read back from JSON: ``None`` → NaN in every numeric column."""
    for c in t.columns:
        if c not in ("measure", "family"):
            t[c] = pd.to_numeric(t[c], errors="coerce")
    return t


def stored_scores(table: Any) -> tuple[dict[str, pd.DataFrame], str]:
    """The score tables of the stored summary (any of :data:`SCORE_FORMATS`), else computed."""
    s = base.summary(table)
    if s is not None and s.get("format") in SCORE_FORMATS:
        return {k: _numeric(pd.DataFrame(v)) for k, v in s["scores"].items()}, "stored"
    return scores(base.typed(table.config), table.to_frame()), "computed"


def stored_psi_between(table: Any) -> dict[str, pd.DataFrame]:
    """:func:`psi_between` from the stored summary; computed (seconds) when an older summary lacks it."""
    s = base.summary(table)
    if s is not None and "psi_between" in s:
        return {k: _numeric(pd.DataFrame(v)) for k, v in s["psi_between"].items()}
    return psi_between(base.typed(table.config), table.to_frame())


# ---------------------------------------------------------------------------------------------
# The registered verdict (X5)
# ---------------------------------------------------------------------------------------------
def x5_verdict(per_dataset: Mapping[str, Mapping[str, Any]]) -> str:
    """``reproduced`` if the rule holds on every dataset, ``partially_reproduced`` if on some,
    ``not_reproduced`` if on none (or no dataset was scored)."""
    held = [bool(v["holds"]) for v in per_dataset.values()]
    if held and all(held):
        return "reproduced"
    return "partially_reproduced" if any(held) else "not_reproduced"


def analyse(scale: str) -> dict[str, Any]:
    """Everything chapter 05b shows of the robustness population, from the stored table only."""
    table = base.load_table("robustness_population", scale)
    cfg = base.typed(table.config)
    df = table.to_frame()
    sc, source = stored_scores(table)
    primary = cfg.primary_weakness
    per_ds = {ds: robustly_predictive(sc[f"{ds}/gap_acc"], primary)
              for ds in cfg.datasets if f"{ds}/gap_acc" in sc}
    verdict = x5_verdict(per_ds)
    first = next(iter(per_ds.values()), {})
    return {"study": "robustness_population", "scale": scale, "config": table.config, "settings": cfg,
            "frame": trained(df),
            "diverged": df[df["stopped_by"] == "diverged"],
            "scores": sc, "scores_source": source, "per_dataset": per_ds, "verdict": verdict,
            "per_variant": rule_per_variant(sc, cfg.datasets),
            "reference": {ds: ref for ds in cfg.datasets if f"{ds}/gap_acc" in sc
                          and (ref := validation_reference(sc[f"{ds}/gap_acc"], primary))},
            "environments": environment_counts(trained(df), HPARAMS, int(cfg.n_eval)),
            "psi_between": stored_psi_between(table),
            "our_value": float(first.get("psi", 0.0)), "ci95": first.get("psi_ci"),
            "b4": bound_tracks_weakness(df), "capped": trained(df).groupby("dataset")["stopped_by"]
            .apply(lambda s: int((s == "cap").sum())).to_dict(),
            "wall": wall_time(table), "table": table}


def _psi_between_details(result: Mapping[str, Any]) -> dict[str, Any]:
    """Ψ without same-configuration pairs of the weakness estimators and sharpness measures."""
    keep = {m for t in result["scores"].values() for m, f in zip(t["measure"], t["family"])
            if f in ("weakness", "sharpness")}
    return {ds: {r["measure"]: {"psi": r["psi"], "psi_between": r["psi_between"],
                                "ci95": [r["psi_between_lo"], r["psi_between_hi"]]}
                 for r in t.to_dict(orient="records") if r["measure"] in keep}
            for ds, t in result["psi_between"].items()}


def claims(result: Mapping[str, Any]) -> list[Claim]:
    details = {"per_dataset": result["per_dataset"], "capped": result["capped"],
               "n_networks": len(result["frame"]), "n_diverged": len(result["diverged"]),
               "our_value_is": f"Ψ of {result['config']['primary_weakness']} against the gap "
                               f"on {result['config']['datasets'][0]}",
               "rule_per_weakness_variant": {"role": "registered rule, reported; not part of the verdict",
                                             "per_measure": result["per_variant"]},
               "validation_reference": {"role": "the validation oracle scored as a measure; not part "
                                                 "of the registered rule", "per_dataset": result["reference"]},
               "environments_with_weight": {"counting": "ordered environments whose Hoeffding weight "
                                                        "is > 0 (the same for every measure)",
                                            "per_dataset": result["environments"]},
               "psi_without_same_configuration_pairs": {
                   "role": "sensitivity analysis: no verdict changes with it",
                   "per_dataset": _psi_between_details(result)}}
    # chapter 05b's sensitivity analysis, stored here: a page never resamples
    from weakness_lib.studies.bennett import confirmatory_summaries

    details["sensitivity_without_capped"] = confirmatory_summaries.sensitivity_without_capped(
        result["settings"], result["frame"], HPARAMS, complexity_signs)
    return [base.registered_claim(
        "robustness_population", "X5", our_value=result["our_value"], ci95=result["ci95"],
        verdict=result["verdict"], provenance=base.provenance(result["table"]), details=details)]
