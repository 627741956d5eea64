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

Protocol (:mod:`weakness_lib.engine.base`): ``units(cfg)`` (one stage: ``b3_n<n>``,
``b4_functions_<a>x<b>``, ``b4_exclusion_<a>x<b>``, ``recreation_<op>_<n>``, ``volume_demo``),
``compute_unit(cfg, key, device)`` (exact enumerations on the CPU, whatever ``device``),
``analyse(scale)`` (stored rows of this study and of the head-to-heads; no writes) and
``claims(result)``. The thresholds of the verdicts are read from ``configs/theory.yaml``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from weakness_lib.bennett import theory as T
from weakness_lib.bennett.stats import derived_p_table
from weakness_lib.bennett.weakness import column
from weakness_lib.core.claims import Claim
from weakness_lib.core.jsonable import jsonable
from weakness_lib.engine import base
from weakness_lib.studies.bennett import settings
from weakness_lib.studies.bennett.theory_units import (  # noqa: F401  (VOLUME_TAUS: the chapter's)
    VOLUME_TAUS,
    b3_for_size,
    b4_exclusion,
    b4_functions,
    recreation,
    volume_demo,
)
from weakness_lib.studies.bennett.theory_verdicts import (  # noqa: F401  (re-exported)
    MIN_FOR_CI,
    MIN_NETWORKS,
    _rescaled,
    b3_verdict,
    b4_verdict,
    trained_networks,
    weakness_variants,
)

STUDY = "theory"
SETTINGS = settings.Theory  # the typed settings of configs/<study>.yaml
DEVICES: tuple[str, ...] = ("cpu",)  # exact enumerations and a tiny demo network
TRAINS = False  # exact enumerations: CI's verify-sample draws trained units from other studies
# ---------------------------------------------------------------------------------------------
# Protocol
# ---------------------------------------------------------------------------------------------
def _unit_functions(cfg: settings.Theory) -> dict[str, Callable[[], dict[str, Any]]]:
    """Every unit of the study, in order: key → the computation of its row."""
    fns: dict[str, Callable[[], dict[str, Any]]] = {
        f"b3_n{n}": (lambda n=n: b3_for_size(n, cfg)) for n in cfg.u_sizes}
    fns.update({f"b4_functions_{a}x{b}": (lambda a=a, b=b: b4_functions(a, b, cfg))
                for a, b in cfg.functions_grid})
    fns.update({f"b4_exclusion_{a}x{b}": (lambda a=a, b=b: b4_exclusion(a, b, cfg))
                for a, b in cfg.exclusion_grid})
    fns.update({f"recreation_{op}_{n}": (lambda op=op, n=n: recreation(op, n, cfg))
                for op in cfg.recreation_ops for n in cfg.recreation_n_train})
    fns["volume_demo"] = lambda: volume_demo(cfg)
    return fns


def units(cfg: settings.Theory | Mapping[str, Any]) -> list[list[str]]:
    """One stage: every B3 size, B4 grid point, re-creation setting and the volume demo."""
    return [list(_unit_functions(base.typed(cfg)))]


def compute_unit(cfg: settings.Theory | Mapping[str, Any], key: str,
                 device: str = "cpu") -> dict[str, Any]:
    """The row of unit ``key``, from scratch (pure, deterministic). Exact enumerations and a tiny
    demo network: they run on the CPU whatever ``device`` (the result does not depend on it), under
    the caller's thread count (the study registers none)."""
    fns = _unit_functions(base.typed(cfg))
    if key not in fns:
        raise ValueError(f"{key!r} is not a unit of {STUDY} (known: {', '.join(fns)})")
    return fns[key]()


def _clean(v: Any) -> Any:
    """Strict JSON values (NaN/inf → ``None``), recursively (claim files are strict JSON)."""
    return jsonable(v)


def analyse(scale: str) -> dict[str, Any]:
    """Everything chapter 06 shows, from stored tables only: this study's and the head-to-heads'
    (:class:`~weakness_lib.engine.base.MissingResults` if any unit of either is missing).

    Keys: ``config``, ``b3_laws``, ``b3_sizes``, ``b3_curves``, ``b3_biased``, ``b4_finite``,
    ``b4_example``, ``b4_trained``, ``recreation``, ``volume``, ``volume_train_acc``,
    ``volume_w1_columns``, ``p_table``, ``paper_rho`` (the registered weakness ρ of the paper per
    head-to-head claim, e.g. ``{"B6": …, "B7": …}``), ``outcomes`` (B3 and B4: verdict, value, CI, details),
    ``table``, ``head_to_head_tables``, ``compute_wall_s``.
    """
    from weakness_lib.studies.bennett import head_to_head

    table = base.load_table(STUDY, scale)
    cfg, registered = base.typed(table.config), base.settings(STUDY, scale)  # the table's registration
    results = {r["key"]: r for r in table.rows()}
    h2h = {ds: base.load_table(head_to_head.study_for(ds), scale) for ds in cfg.head_to_head_datasets}
    trained = trained_networks(cfg, h2h)

    b3_rows = [results[f"b3_n{n}"] for n in cfg.u_sizes]
    finite = [results[k] for k in results if k.startswith("b4_")]
    verdict3, value3, checks3 = b3_verdict(b3_rows, registered.rule("B3"))
    b3 = {"verdict": verdict3, "our_value": value3, "ci95": None, "details": {
        **checks3, "u_sizes": cfg.u_sizes, "laws_per_size": {str(n): len(r["laws"]) for n, r in zip(cfg.u_sizes, b3_rows)},
        "max_within_size_spread": max(law["spread"] for r in b3_rows for law in r["laws"]),
        "max_powerset_err": max(r["powerset_err"] for r in b3_rows),
        "reconstruction_note": "checks the reconstruction of reference §7.1; the paper's proof is unknown"}}
    verdict4, value4, ci4, checks4 = b4_verdict(finite, trained, cfg.head_to_head_datasets,
                                                registered.rule("B4"), head_to_head.DATASET_LABELS)
    b4 = {"verdict": verdict4, "our_value": value4, "ci95": ci4, "details": {
        **checks4, "max_kl_err": max(r["kl_max_err"] for r in finite),
        "trained_networks": _clean(trained),
        "note": ("when head-to-head results are absent the claim rests on the exact finite "
                 "check only, which cannot reach 'reproduced'")}}

    b3_laws = pd.DataFrame([{"n": r["n"], **{k: v for k, v in law.items() if k != "success_by_size"}}
                            for r in b3_rows for law in r["laws"]])
    b3_sizes = pd.DataFrame([{k: v for k, v in r.items() if k != "laws"} for r in b3_rows])
    curves = {r["n"]: {law["law"]: law["success_by_size"] for law in r["laws"]} for r in b3_rows}
    n_max = max(cfg.u_sizes)
    lo, hi = cfg.biased_inclusion
    biased = pd.DataFrame({
        "size": T.popcounts(n_max),
        "success": T.success_all(T.biased_law(n_max, np.linspace(lo, hi, n_max)), n_max)})
    return {
        "config": table.config,
        "settings": cfg,
        "b3_laws": b3_laws,
        "b3_sizes": b3_sizes,
        "b3_curves": curves,
        "b3_biased": biased,
        "b4_finite": pd.DataFrame(finite),
        "b4_example": T.kl_check_functions(3, 3, limit=None, m=cfg.pacbayes_m),
        "b4_trained": trained,
        "recreation": pd.DataFrame([results[k] for k in results if k.startswith("recreation_")]),
        "volume": pd.DataFrame(results["volume_demo"]["rows"]),
        "volume_train_acc": results["volume_demo"]["train_acc"],
        "volume_w1_columns": [column("w1", tau=tau) for tau in VOLUME_TAUS],
        "p_table": derived_p_table(),
        "paper_rho": {head_to_head.claim_id(head_to_head.study_for(ds)):
                      head_to_head.claim_rule(head_to_head.study_for(ds), scale)["target"]["weakness"]["rho"]
                      for ds in cfg.head_to_head_datasets},
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
