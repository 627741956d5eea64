"""Chapter 06, claims B3 and B4: the weakness theory checked exhaustively on finite languages.

* **B3** (minimax optimality under exchangeable demands, reference §7.1): for every |U| of the
  pre-registered grid and every exchangeable demand law of the family (uniform-k, binomial-q,
  mixtures, uniform powerset), P(D ⊆ C) is enumerated for all 2^|U| coverings C; it must depend on
  C only through |C| and be non-decreasing in it; the uniform powerset must give 2^|C|/2^|U|; in
  random candidate families the weakness-maximisers must have zero worst-case regret and every
  other candidate positive regret; a biased law (negative control) must reverse the order.
* **B4** (PAC-Bayes tracks weakness, §7.2): KL(Q‖P) = ln(|L|/|A|) by enumeration for H = Y^X and
  for the exclusion language, so the bound is strictly decreasing in |A|; plus the Spearman
  correlation of the trained head-to-head networks' PAC-Bayes bound with their primary weakness,
  read from the stored tables of the studies this one ``needs`` (``head_to_head_mnist``,
  ``head_to_head_fmnist``; never recomputed here).
* Also, not claims: the re-creation of Bennett (2023)'s w-maxing vs MDL experiment on 2-bit
  arithmetic, the parameter-space "volume" vs W1 demonstration (§4.4) and the derived p-values
  of §8.

Protocol (:mod:`weakness_lib.studies.base`): ``units(cfg)`` (one stage: ``b3_n<n>``,
``b4_functions_<a>x<b>``, ``b4_exclusion_<a>x<b>``, ``recreation_<op>_<n>``, ``volume_demo``),
``compute_unit(cfg, key, device)`` (exact enumerations on the CPU, whatever ``device``),
``analyse(scale)`` (stored rows of this study and of the head-to-heads; no writes) and
``claims(result)``. The thresholds of the verdicts are read from ``configs/theory.yaml``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch

from weakness_lib.bennett import theory as T
from weakness_lib.bennett.models import build_mlp
from weakness_lib.bennett.reparam import check_function_preserved, rescale_layer
from weakness_lib.bennett.stats import derived_p_table, spearman
from weakness_lib.bennett.train import TrainConfig, train
from weakness_lib.bennett.weakness import column, probe_logits, w1_log_freedom
from weakness_lib.core.claims import Claim
from weakness_lib.core.jsonable import jsonable
from weakness_lib.studies import base
from weakness_lib.studies.theory_verdicts import (  # noqa: F401  (re-exported)
    MIN_FOR_CI,
    MIN_NETWORKS,
    _rescaled,
    b3_verdict,
    b4_verdict,
    trained_networks,
    weakness_variants,
)

STUDY = "theory"
DEVICES: tuple[str, ...] = ("cpu",)  # exact enumerations and a tiny demo network
TRAINS = False  # exact enumerations: CI's verify-sample draws trained units from other studies
#: numerical tolerance of the descriptive ``strictly_decreasing`` flag stored in the B4 rows (part
#: of the unit's computation: changing it changes stored rows). The verdicts do not use it: they
#: read ``thresholds.tolerance`` of configs/theory.yaml.
_ROW_TOL = 1e-12
#: W1 thresholds of the volume demonstration (part of the unit, not a registered setting)
VOLUME_TAUS: tuple[float, ...] = (0.01, 0.05, 0.1)


# ---------------------------------------------------------------------------------------------
# B3
# ---------------------------------------------------------------------------------------------
def exchangeable_family(n: int, cfg: Mapping[str, Any]) -> list[tuple[str, np.ndarray]]:
    """The pre-registered exchangeable laws on an n-element U, with names."""
    laws = [("uniform_powerset", T.uniform_powerset_law(n))]
    for k in cfg["uniform_k"]:
        kk = n // 2 if k == "half" else int(k)
        if 0 <= kk <= n:
            laws.append((f"uniform_k{kk}", T.uniform_k_law(n, kk)))
    for q in cfg["binomial_q"]:
        laws.append((f"binomial_q{q:g}", T.binomial_law(n, float(q))))
    for w1, q in cfg["mixtures"]:
        laws.append((f"mix_{w1:g}xk1_binom{q:g}",
                     T.mixture_law([T.uniform_k_law(n, 1), T.binomial_law(n, float(q))],
                                   [float(w1), 1.0 - float(w1)])))
    return laws


def b3_for_size(n: int, cfg: Mapping[str, Any]) -> dict[str, Any]:
    """Every B3 check for one |U| = n (exhaustive over coverings and demands)."""
    rng = np.random.default_rng(cfg["seed"] + n)
    laws = exchangeable_family(n, cfg)
    k = T.popcounts(n)
    per_law = []
    for name, law in laws:
        rep = T.monotonicity_report(law, n)
        size_probs = [float(law[k == j].sum()) for j in range(n + 1)]
        closed = np.array([T.exchangeable_success_closed_form(size_probs, c, n) for c in range(n + 1)])
        per_law.append({
            "law": name, "exchangeable": T.is_exchangeable(law, n),
            "spread": rep.max_within_size_spread, "min_step": rep.min_step,
            "monotone": rep.monotone, "closed_form_err": float(np.abs(rep.by_size - closed).max()),
            "success_by_size": rep.by_size.tolist(),
        })
    powerset_err = float(np.abs(T.success_all(T.uniform_powerset_law(n), n) - 2.0 ** k / 2.0**n).max())
    # minimax: random candidate families (coverings of the unseen outcomes), regret over the family
    family_laws = [law for _, law in laws]
    max_regrets, min_non = [], []
    for _ in range(cfg["n_families"]):
        size = int(rng.integers(2, min(8, 1 << n) + 1))
        cands = rng.choice(1 << n, size=size, replace=False)
        rep = T.minimax_report(cands, family_laws, n)
        max_regrets.append(rep.maximiser_regret)
        if rep.min_nonmaximiser_regret is not None:
            min_non.append(rep.min_nonmaximiser_regret)
    lo, hi = cfg["biased_inclusion"]
    biased = T.biased_law(n, np.linspace(lo, hi, n))
    reversal = T.find_reversal(biased, n)
    brep = T.monotonicity_report(biased, n)
    return {
        "n": n,
        "laws": per_law,
        "powerset_err": powerset_err,
        "maximiser_regret_max": float(max(max_regrets)),
        "nonmaximiser_regret_min": float(min(min_non)) if min_non else None,
        "n_families": cfg["n_families"],
        "biased_reversal": None if reversal is None else [int(reversal[0]), int(reversal[1])],
        "biased_spread": brep.max_within_size_spread,
        "biased_monotone": brep.monotone,
    }




# ---------------------------------------------------------------------------------------------
# B4
# ---------------------------------------------------------------------------------------------


def _finite_summary(df: pd.DataFrame, weak_col: str) -> dict[str, Any]:
    """KL identity error, and whether the bound is a strictly decreasing function of weakness."""
    by = df.groupby(weak_col)["bound"].agg(["min", "max"]).sort_index()
    within = float((by["max"] - by["min"]).max())
    strictly_decreasing = bool(np.all(np.diff(by["min"].to_numpy()) < 0)) and within <= _ROW_TOL
    rho = spearman(df["bound"], df[weak_col])[0] if df[weak_col].nunique() > 1 else float("nan")
    return {"n_profiles": len(df), "kl_max_err": float((df.kl_enum - df.kl_closed).abs().max()),
            "n_weakness_values": int(df[weak_col].nunique()), "bound_spread_within": within,
            "strictly_decreasing": strictly_decreasing, "rho_bound_weakness": rho}


def b4_functions(nx: int, ny: int, cfg: Mapping[str, Any]) -> dict[str, Any]:
    df = T.kl_check_functions(nx, ny, limit=cfg["functions_limit"], m=cfg["pacbayes_m"], seed=cfg["seed"])
    return {"space": "H=Y^X", "n_x": nx, "n_y": ny, **_finite_summary(df, "size_A")}


def b4_exclusion(nc: int, ny: int, cfg: Mapping[str, Any]) -> dict[str, Any]:
    df = T.kl_check_exclusion_language(nc, ny, limit=cfg["exclusion_limit"], m=cfg["pacbayes_m"],
                                       seed=cfg["seed"])
    out = _finite_summary(df, "weakness")
    out["closed_form_matches"] = bool((df.weakness == df.weakness_closed).all())
    return {"space": "exclusion language", "n_x": nc, "n_y": ny, **out}










# ---------------------------------------------------------------------------------------------
# Re-creation and demonstrations (no claims)
# ---------------------------------------------------------------------------------------------
def recreation(op: str, n_train: int, cfg: Mapping[str, Any]) -> dict[str, Any]:
    grammar = T.expression_grammar(cfg["grammar_max_size"])
    trials = None if cfg["recreation_trials"] == "all" else int(cfg["recreation_trials"])
    df = T.wmax_vs_mdl(grammar, op, n_train, trials, seed=cfg["seed"])
    n = len(df)
    row = {"op": op, "n_train": n_train, "n_trials": n, "exact": trials is None,
           "rate_wmax": float(df.p_wmax.mean()), "rate_mdl": float(df.p_mdl.mean()),
           "se_wmax": float(df.p_wmax.std(ddof=1) / math.sqrt(n)),
           "se_mdl": float(df.p_mdl.std(ddof=1) / math.sqrt(n)),
           "extent_wmax": float(df.extent_wmax.mean()), "extent_mdl": float(df.extent_mdl.mean()),
           "mdl_always_wmaximiser": bool(df.mdl_is_wmaximiser.all()),
           "frac_mdl_wmaximiser": float(df.mdl_is_wmaximiser.mean()),
           "grammar_functions": int(len(grammar.tables))}
    for c in df.columns:
        if c.startswith(("p_wmax_bit", "p_mdl_bit")):
            row["rate_" + c[2:]] = float(df[c].mean())
    row["ratio_wmax_over_mdl"] = row["rate_wmax"] / row["rate_mdl"] if row["rate_mdl"] > 0 else None
    return row


def volume_demo(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """A tiny MLP on three 2-D Gaussian blobs: perturbation 'volume' and W1 under rescaling."""
    g = torch.Generator().manual_seed(cfg["seed"])
    centres = torch.tensor([[0.0, 2.0], [-1.8, -1.0], [1.8, -1.0]])
    y = torch.arange(3).repeat_interleave(100)
    X = centres[y] + 0.9 * torch.randn(300, 2, generator=g)
    probe = 3.0 * torch.randn(500, 2, generator=g)
    model = build_mlp(cfg["volume_widths"], seed=cfg["seed"])
    with base.threads(1):  # tiny tensors: extra threads only add contention on a shared machine
        train(model, X, y, TrainConfig(optimizer="sgd", lr=0.1, momentum=0.9, batch_size=32,
                                       epochs=40), seed=cfg["seed"])
    model = model.double()
    rows = []
    for alpha in cfg["volume_alphas"]:
        other = rescale_layer(model, 1, float(alpha))
        dlogit, agree = check_function_preserved(model, other, probe.double())
        z = probe_logits(other, probe)
        rows.append({
            "alpha": float(alpha),
            "volume": T.perturbation_volume(other, X, cfg["volume_radius"], cfg["volume_draws"], cfg["seed"]),
            **{column("w1", tau=tau): w1_log_freedom(z, tau=tau) for tau in VOLUME_TAUS},
            "param_norm": float(torch.cat([p.detach().reshape(-1) for p in other.parameters()]).norm()),
            "max_abs_dlogit": dlogit, "agreement": agree,
        })
    return {"rows": rows, "train_acc": float((model(X.double()).argmax(1) == y).double().mean())}


# ---------------------------------------------------------------------------------------------
# Protocol
# ---------------------------------------------------------------------------------------------
def _unit_functions(cfg: Mapping[str, Any]) -> dict[str, Callable[[], dict[str, Any]]]:
    """Every unit of the study, in order: key → the computation of its row."""
    fns: dict[str, Callable[[], dict[str, Any]]] = {
        f"b3_n{n}": (lambda n=n: b3_for_size(n, cfg)) for n in cfg["u_sizes"]}
    fns.update({f"b4_functions_{a}x{b}": (lambda a=a, b=b: b4_functions(a, b, cfg))
                for a, b in cfg["functions_grid"]})
    fns.update({f"b4_exclusion_{a}x{b}": (lambda a=a, b=b: b4_exclusion(a, b, cfg))
                for a, b in cfg["exclusion_grid"]})
    fns.update({f"recreation_{op}_{n}": (lambda op=op, n=n: recreation(op, n, cfg))
                for op in cfg["recreation_ops"] for n in cfg["recreation_n_train"]})
    fns["volume_demo"] = lambda: volume_demo(cfg)
    return fns


def units(cfg: Mapping[str, Any]) -> list[list[str]]:
    """One stage: every B3 size, B4 grid point, re-creation setting and the volume demo."""
    return [list(_unit_functions(cfg))]


def compute_unit(cfg: Mapping[str, Any], key: str, device: str = "cpu") -> dict[str, Any]:
    """The row of unit ``key``, from scratch (pure, deterministic). Exact enumerations and a tiny
    demo network: they run on the CPU whatever ``device`` (the result does not depend on it)."""
    fns = _unit_functions(cfg)
    if key not in fns:
        raise ValueError(f"{key!r} is not a unit of {STUDY} (known: {', '.join(fns)})")
    with base.threads(cfg.get("torch_threads")):
        return fns[key]()


def _clean(v: Any) -> Any:
    """Strict JSON values (NaN/inf → ``None``), recursively (claim files are strict JSON)."""
    return jsonable(v)


def analyse(scale: str) -> dict[str, Any]:
    """Everything chapter 06 shows, from stored tables only: this study's and the head-to-heads'
    (:class:`~weakness_lib.studies.base.MissingResults` if any unit of either is missing).

    Keys: ``config``, ``b3_laws``, ``b3_sizes``, ``b3_curves``, ``b3_biased``, ``b4_finite``,
    ``b4_example``, ``b4_trained``, ``recreation``, ``volume``, ``volume_train_acc``,
    ``volume_w1_columns``, ``p_table``, ``paper_rho`` (the registered weakness ρ of the paper per
    head-to-head claim, e.g. ``{"B6": …, "B7": …}``), ``outcomes`` (B3 and B4: verdict, value, CI, details),
    ``table``, ``head_to_head_tables``, ``compute_wall_s``.
    """
    from weakness_lib.studies import head_to_head

    table = base.load_table(STUDY, scale)
    cfg = table.config
    results = {r["key"]: r for r in table.rows()}
    h2h = {ds: base.load_table(head_to_head.study_for(ds), scale) for ds in cfg["head_to_head_datasets"]}
    trained = trained_networks(cfg, h2h)

    b3_rows = [results[f"b3_n{n}"] for n in cfg["u_sizes"]]
    finite = [results[k] for k in results if k.startswith("b4_")]
    verdict3, value3, checks3 = b3_verdict(b3_rows, base.rule(STUDY, "B3"))
    b3 = {"verdict": verdict3, "our_value": value3, "ci95": None, "details": {
        **checks3, "u_sizes": cfg["u_sizes"], "laws_per_size": len(b3_rows[0]["laws"]),
        "max_within_size_spread": max(law["spread"] for r in b3_rows for law in r["laws"]),
        "max_powerset_err": max(r["powerset_err"] for r in b3_rows),
        "reconstruction_note": "checks the reconstruction of reference §7.1; the paper's proof is unknown"}}
    verdict4, value4, ci4, checks4 = b4_verdict(finite, trained, cfg["head_to_head_datasets"],
                                                base.rule(STUDY, "B4"), head_to_head.DATASET_LABELS)
    b4 = {"verdict": verdict4, "our_value": value4, "ci95": ci4, "details": {
        **checks4, "max_kl_err": max(r["kl_max_err"] for r in finite),
        "trained_networks": _clean(trained),
        "note": ("when head-to-head results are absent the claim rests on the exact finite "
                 "check only, which cannot reach 'reproduced'")}}

    b3_laws = pd.DataFrame([{"n": r["n"], **{k: v for k, v in law.items() if k != "success_by_size"}}
                            for r in b3_rows for law in r["laws"]])
    b3_sizes = pd.DataFrame([{k: v for k, v in r.items() if k != "laws"} for r in b3_rows])
    curves = {r["n"]: {law["law"]: law["success_by_size"] for law in r["laws"]} for r in b3_rows}
    n_max = max(cfg["u_sizes"])
    lo, hi = cfg["biased_inclusion"]
    biased = pd.DataFrame({
        "size": T.popcounts(n_max),
        "success": T.success_all(T.biased_law(n_max, np.linspace(lo, hi, n_max)), n_max)})
    return {
        "config": cfg,
        "b3_laws": b3_laws,
        "b3_sizes": b3_sizes,
        "b3_curves": curves,
        "b3_biased": biased,
        "b4_finite": pd.DataFrame(finite),
        "b4_example": T.kl_check_functions(3, 3, limit=None, m=cfg["pacbayes_m"]),
        "b4_trained": trained,
        "recreation": pd.DataFrame([results[k] for k in results if k.startswith("recreation_")]),
        "volume": pd.DataFrame(results["volume_demo"]["rows"]),
        "volume_train_acc": results["volume_demo"]["train_acc"],
        "volume_w1_columns": [column("w1", tau=tau) for tau in VOLUME_TAUS],
        "p_table": derived_p_table(),
        "paper_rho": {head_to_head.claim_id(head_to_head.study_for(ds)):
                      head_to_head.claim_rule(head_to_head.study_for(ds))["target"]["weakness"]["rho"]
                      for ds in cfg["head_to_head_datasets"]},
        "outcomes": {"B3": b3, "B4": b4},
        "table": table,
        "head_to_head_tables": h2h,
        "compute_wall_s": table.total_wall_s(),
    }


def claims(result: Mapping[str, Any]) -> list[Claim]:
    """Claims B3 and B4 of an :func:`analyse` result (pure: the runner writes them)."""
    tables = {"B3": [result["table"]],
              "B4": [result["table"], *result["head_to_head_tables"].values()]}
    return [base.registered_claim(
        STUDY, cid, our_value=o["our_value"], ci95=o["ci95"], verdict=o["verdict"],
        provenance=base.provenance(*tables[cid]), details=o["details"],
    ) for cid, o in result["outcomes"].items()]
