"""The rows of the theory study's units (chapter 06), each an exact enumeration or a tiny demo:

* ``b3_n<n>`` — :func:`b3_for_size`: every exchangeable demand law of the family on |U| = n
  (:func:`exchangeable_family`), P(D ⊆ C) for all coverings, regrets of random candidate families;
* ``b4_functions_<a>x<b>``, ``b4_exclusion_<a>x<b>`` — :func:`b4_functions`, :func:`b4_exclusion`:
  KL(Q‖P) = ln(|L|/|A|) by enumeration for H = Y^X and for the exclusion language;
* ``recreation_<op>_<n>`` — :func:`recreation`: Bennett (2023)'s w-maxing vs MDL on 2-bit arithmetic;
* ``volume_demo`` — :func:`volume_demo`: parameter-space "volume" vs W1 (§4.4).

The protocol (units, analyse, claims) is :mod:`weakness_lib.studies.bennett.theory`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import torch

from weakness_lib.bennett import theory as T
from weakness_lib.bennett.models import build_mlp
from weakness_lib.bennett.reparam import check_function_preserved, rescale_layer
from weakness_lib.bennett.stats import spearman
from weakness_lib.bennett.train import TrainConfig, train
from weakness_lib.bennett.weakness import column, probe_logits, w1_log_freedom
from weakness_lib.engine import base
from weakness_lib.studies.bennett.settings import Theory

#: numerical tolerance of the descriptive ``strictly_decreasing`` flag stored in the B4 rows (part
#: of the unit's computation: changing it changes stored rows). The verdicts do not use it: they
#: read ``thresholds.tolerance`` of configs/theory.yaml.
_ROW_TOL = 1e-12
#: W1 thresholds of the volume demonstration (part of the unit, not a registered setting)
VOLUME_TAUS: tuple[float, ...] = (0.01, 0.05, 0.1)


# ---------------------------------------------------------------------------------------------
# B3
# ---------------------------------------------------------------------------------------------
def exchangeable_family(n: int, cfg: Theory) -> list[tuple[str, np.ndarray]]:
    """The pre-registered exchangeable laws on an n-element U, with names."""
    laws = [("uniform_powerset", T.uniform_powerset_law(n))]
    for k in cfg.uniform_k:
        kk = n // 2 if k == "half" else int(k)
        if 0 <= kk <= n:
            laws.append((f"uniform_k{kk}", T.uniform_k_law(n, kk)))
    for q in cfg.binomial_q:
        laws.append((f"binomial_q{q:g}", T.binomial_law(n, float(q))))
    for w1, q in cfg.mixtures:
        laws.append((f"mix_{w1:g}xk1_binom{q:g}",
                     T.mixture_law([T.uniform_k_law(n, 1), T.binomial_law(n, float(q))],
                                   [float(w1), 1.0 - float(w1)])))
    return laws


def b3_for_size(n: int, cfg: Theory) -> dict[str, Any]:
    """Every B3 check for one |U| = n (exhaustive over coverings and demands)."""
    rng = np.random.default_rng(cfg.seed + n)
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
    for _ in range(cfg.n_families):
        size = int(rng.integers(2, min(8, 1 << n) + 1))
        cands = rng.choice(1 << n, size=size, replace=False)
        rep = T.minimax_report(cands, family_laws, n)
        max_regrets.append(rep.maximiser_regret)
        if rep.min_nonmaximiser_regret is not None:
            min_non.append(rep.min_nonmaximiser_regret)
    lo, hi = cfg.biased_inclusion
    biased = T.biased_law(n, np.linspace(lo, hi, n))
    reversal = T.find_reversal(biased, n)
    brep = T.monotonicity_report(biased, n)
    return {
        "n": n,
        "laws": per_law,
        "powerset_err": powerset_err,
        "maximiser_regret_max": float(max(max_regrets)),
        "nonmaximiser_regret_min": float(min(min_non)) if min_non else None,
        "n_families": cfg.n_families,
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


def b4_functions(nx: int, ny: int, cfg: Theory) -> dict[str, Any]:
    df = T.kl_check_functions(nx, ny, limit=cfg.functions_limit, m=cfg.pacbayes_m, seed=cfg.seed)
    return {"space": "H=Y^X", "n_x": nx, "n_y": ny, **_finite_summary(df, "size_A")}


def b4_exclusion(nc: int, ny: int, cfg: Theory) -> dict[str, Any]:
    df = T.kl_check_exclusion_language(nc, ny, limit=cfg.exclusion_limit, m=cfg.pacbayes_m,
                                       seed=cfg.seed)
    out = _finite_summary(df, "weakness")
    out["closed_form_matches"] = bool((df.weakness == df.weakness_closed).all())
    return {"space": "exclusion language", "n_x": nc, "n_y": ny, **out}










# ---------------------------------------------------------------------------------------------
# Re-creation and demonstrations (no claims)
# ---------------------------------------------------------------------------------------------
def recreation(op: str, n_train: int, cfg: Theory) -> dict[str, Any]:
    grammar = T.expression_grammar(cfg.grammar_max_size)
    trials = None if cfg.recreation_trials == "all" else int(cfg.recreation_trials)
    df = T.wmax_vs_mdl(grammar, op, n_train, trials, seed=cfg.seed)
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


def volume_demo(cfg: Theory) -> dict[str, Any]:
    """A tiny MLP on three 2-D Gaussian blobs: perturbation 'volume' and W1 under rescaling."""
    g = torch.Generator().manual_seed(cfg.seed)
    centres = torch.tensor([[0.0, 2.0], [-1.8, -1.0], [1.8, -1.0]])
    y = torch.arange(3).repeat_interleave(100)
    X = centres[y] + 0.9 * torch.randn(300, 2, generator=g)
    probe = 3.0 * torch.randn(500, 2, generator=g)
    model = build_mlp(cfg.volume_widths, seed=cfg.seed)
    with base.threads(1):  # tiny tensors: extra threads only add contention on a shared machine
        train(model, X, y, TrainConfig(optimizer="sgd", lr=0.1, momentum=0.9, batch_size=32,
                                       epochs=40), seed=cfg.seed)
    model = model.double()
    rows = []
    for alpha in cfg.volume_alphas:
        other = rescale_layer(model, 1, float(alpha))
        dlogit, agree = check_function_preserved(model, other, probe.double())
        z = probe_logits(other, probe)
        rows.append({
            "alpha": float(alpha),
            "volume": T.perturbation_volume(other, X, cfg.volume_radius, cfg.volume_draws, cfg.seed),
            **{column("w1", tau=tau): w1_log_freedom(z, tau=tau) for tau in VOLUME_TAUS},
            "param_norm": float(torch.cat([p.detach().reshape(-1) for p in other.parameters()]).norm()),
            "max_abs_dlogit": dlogit, "agreement": agree,
        })
    return {"rows": rows, "train_acc": float((model(X.double()).argmax(1) == y).double().mean())}
