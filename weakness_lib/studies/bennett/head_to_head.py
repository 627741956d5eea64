"""Chapters 04/05, claims B6 (MNIST) and B7 (Fashion-MNIST): 100 networks differing only by seed.

Two registered studies share this module, ``head_to_head_mnist`` and ``head_to_head_fmnist``
(registry ``params={"dataset": ...}``); each has its pre-registration ``configs/<study>.yaml``.

Network i (i = 0…N−1, unit ``net<iii>``) is ``build_mlp(widths, seed=s)`` trained with batch order
``s``, where s = ``seed_base`` + i; data (stratified training subset, disjoint probe set U, curvature
batch) and every hyper-parameter are identical across networks.

Protocol (:mod:`weakness_lib.engine.base`):

``units(cfg)``
    one stage, ``net000`` … ``net<N−1>``.
``compute_unit(cfg, key, device="cpu")``
    trains network i from scratch and measures it: train/test loss and accuracy, test error and
    the gaps; every weakness estimator on U (:func:`networks.weakness_measures`); every
    sharpness and simplicity measure on the fixed curvature batch
    (:func:`networks.family_measures`); seed, steps, SHA-256 of the weights and wall times.
    Pure and, on the CPU under ``torch_threads`` threads, bit-for-bit deterministic.
``summarise(cfg, rows)``
    per target, the correlation table of every measure (:func:`statistics`: Spearman ρ raw and
    hypothesis-oriented, two-sided p, percentile-bootstrap 95 % CI, Holm p, Kendall τ, partial
    Spearman given the final training loss) as plain JSON (:func:`stats_to_json`).
``analyse(scale, dataset=...)``
    the stored rows, the stored summary (or :func:`statistics` in memory when it is absent or
    stale; nothing is written), the registered verdict and the paper comparison.
``claims(result)``
    the claim record B6 or B7.

Every paper value and threshold of the verdicts is read from the claim block of the study's YAML
(``target:`` and ``thresholds:``, via :func:`weakness_lib.engine.base.rule`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from torch import nn

from weakness_lib.core.claims import Claim
from weakness_lib.engine import base, registry
from weakness_lib.studies.bennett import settings
from weakness_lib.studies.bennett.common import LAMBDA_MAX_VERIFY, Context, context
from weakness_lib.studies.bennett.head_to_head_stats import (  # noqa: F401  (re-exported)
    _NON_MEASURES,
    _TEXT_COLUMNS,
    MIN_FOR_PARTIAL,
    PRIMARY_TARGET,
    SUMMARY_FORMAT,
    TARGETS,
    _plain,
    frame,
    measure_columns,
    statistics,
    stats_from_json,
    stats_to_json,
    stored_statistics,
    summarise,
)
from weakness_lib.studies.bennett.head_to_head_verdicts import (  # noqa: F401  (re-exported)
    ROLES,
    SIGN_CONVENTION,
    _lookup,
    _role_details,
    evaluate,
    paper_comparison,
    sharpness_consistent,
    simplicity_consistent,
    verdict_for,
)
from weakness_lib.studies.bennett.networks import (
    measure_network,
    train_network,
    wall_time,
)

#: where the runner may run units (see ``executor.execute_unit``). ``compute_unit`` trains and measures
#: on any ``device`` it is given, and the curvature measures follow the model's device, but no GPU
#: was available to check GPU rows against the CPU reference (tests/test_curvature_portability.py
#: does it where CUDA exists), so "cuda" is listed only after that check has been run.
DEVICES: tuple[str, ...] = ("cpu",)
VERIFY = LAMBDA_MAX_VERIFY  # λ_max within lanczos_tol, its solver diagnostics reported
#: readable dataset names (figure titles, prose)
DATASET_LABELS: dict[str, str] = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}
SETTINGS = settings.HeadToHead  # the typed settings of configs/<study>.yaml
ALIASES: dict[str, str] = {"fmnist": "fashion_mnist", "fashion-mnist": "fashion_mnist"}


# ---------------------------------------------------------------------------------------------
# Studies of this module (from the registry: one source)
# ---------------------------------------------------------------------------------------------
def studies() -> dict[str, str]:
    """``{dataset: study name}`` of the registered head-to-head studies."""
    return {s.params["dataset"]: s.name for s in registry.STUDIES.values() if s.module == __name__}


def canonical(name: str) -> str:
    """``mnist`` or ``fashion_mnist`` (aliases ``fmnist``, ``fashion-mnist`` accepted)."""
    name = ALIASES.get(name, name)
    if name not in studies():
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(studies())}")
    return name


def study_for(ds: str) -> str:
    """The registered study name of the head-to-head on ``ds``."""
    return studies()[canonical(ds)]


def claim_id(study: str) -> str:
    """The claim of a head-to-head study (B6 or B7)."""
    (cid,) = registry.get(study).claims
    return cid


def claim_rule(study: str, scale: str = "full") -> dict[str, Any]:
    """The registered claim block of ``study`` (prose, ``target`` and ``thresholds``)."""
    return base.settings(study, scale).rule(claim_id(study))


# ---------------------------------------------------------------------------------------------
# Units
# ---------------------------------------------------------------------------------------------
def network_key(i: int) -> str:
    return f"net{i:03d}"


def key_index(key: str) -> int:
    if not (key.startswith("net") and key[3:].isdigit()):
        raise ValueError(f"not a network key: {key!r} (expected e.g. 'net007')")
    return int(key[3:])


def units(cfg: settings.HeadToHead | Mapping[str, Any]) -> list[list[str]]:
    """One stage: one unit per network, ``net000`` … (independent, any order)."""
    return [[network_key(i) for i in range(int(base.typed(cfg).n_networks))]]


def population_unit(cfg: settings.HeadToHead, key: str, data: Context, device: str = "cpu",
                    extra: Callable[[nn.Module], Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Network ``key`` (``net<i>``) of a population of ``n_networks`` identically trained networks:
    seed ``seed_base`` + i, trained on (``data.X``, ``data.y``) by the one recipe
    (:func:`~weakness_lib.studies.bennett.networks.train_network`), then every measure of
    :func:`~weakness_lib.studies.bennett.networks.measure_network` and ``extra(model)``, in that
    order, under ``cfg.torch_threads`` threads. Pure; bit-for-bit deterministic on the CPU."""
    i = key_index(key)
    if not 0 <= i < int(cfg.n_networks):
        raise ValueError(f"{key!r} is not a unit of {cfg.experiment} "
                         f"({cfg.n_networks} networks)")
    seed = int(cfg.seed_base) + i
    with base.threads(cfg.torch_threads):
        model, rec = train_network(data.X, data.y, cfg.widths, cfg.train, seed, device=device)
        t0 = time.perf_counter()
        row: dict[str, Any] = {"index": i, **rec}
        row.update(measure_network(model, data, cfg, cfg.n_train))
        if extra is not None:
            row.update(extra(model))
        row["measure_wall_s"] = time.perf_counter() - t0
    return row


def compute_unit(cfg: settings.HeadToHead | Mapping[str, Any], key: str,
                 device: str = "cpu") -> dict[str, Any]:
    """Train network ``key`` (e.g. ``'net042'``) from scratch on ``device`` and measure it there
    (:func:`population_unit` on the study's data context). Every value is a plain Python number
    or string."""
    cfg = base.typed(cfg)
    return population_unit(cfg, key, context(cfg).to(device), device)


# ---------------------------------------------------------------------------------------------
# Statistics (the summary)
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# Verdict (registered rule; numbers from the claim block's target/thresholds)
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# What the chapter shows, and the claim
# ---------------------------------------------------------------------------------------------
def analyse(scale: str, dataset: str = "mnist") -> dict[str, Any]:
    """Everything chapter 04 (MNIST) or 05 (Fashion-MNIST) shows, from the stored table only.

    Keys: ``study``, ``dataset``, ``dataset_label``, ``claim_id``, ``scale``, ``config`` (the stored mapping), ``settings`` (typed), ``rule``
    (the registered claim block), ``frame`` (per network), ``stats`` (per-target correlation
    tables, ``stats_source`` = "stored" | "computed"), ``comparison`` (ours vs paper), ``outcome``
    (verdict, our value, CI, details), ``wall`` and ``table``. Raises
    :class:`~weakness_lib.engine.base.MissingResults` when a network is not stored.
    """
    ds = canonical(dataset)
    study = study_for(ds)
    table = base.load_table(study, scale)
    cfg = base.typed(table.config)
    rule = claim_rule(study, scale)
    df = table.to_frame()
    stats, source = stored_statistics(table)
    return {
        "study": study, "dataset": ds, "dataset_label": DATASET_LABELS.get(ds, ds),
        "claim_id": claim_id(study), "scale": scale, "config": table.config, "settings": cfg, "rule": rule,
        "frame": df, "stats": stats, "stats_source": source,
        "comparison": paper_comparison(cfg, stats, rule),
        "outcome": evaluate(cfg, df, stats, rule),
        "wall": wall_time(table), "table": table,
    }


def claims(result: Mapping[str, Any]) -> list[Claim]:
    """The claim record (B6 or B7) of an :func:`analyse` result (pure: the runner writes it)."""
    out = result["outcome"]
    return [base.registered_claim(
        result["study"], result["claim_id"], our_value=out["our_value"], ci95=out["ci95"],
        verdict=out["verdict"], provenance=base.provenance(result["table"]), details=out["details"],
    )]
