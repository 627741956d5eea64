"""Shared machinery of the three Wen, Li & Ma (2023) scenario studies (claims WLM-I, WLM-II, WLM-III).

A config (``configs/wen_scenario_*.yaml``, typed by :mod:`weakness_lib.studies.wen.settings`)
holds the data settings (``d``, ``n_train``, ``n_test``, ``width``, ``ln_eps``), the ``seeds``,
``log_points`` and ``final_window`` (the fraction of the last epochs whose logged traces are
averaged into the final trace), and ``runs``: per run name an architecture and a
:class:`weakness_lib.wen.sam.TrainSpec` as a dict.

Units (:func:`units`): ``"constructions"`` (the scenario's hand-built interpolators and their
checks) and one unit per (run, seed), keyed ``"<run>/seed<seed>"``; a unit's seed sets the training
set, the initialisation and the example order, so a unit re-trained from its config reproduces the
stored row bit for bit. No unit reads another, so they form a single stage.

A scenario module describes itself by one :class:`Scenario` (its constructions row, its pure
verdict function ``checks`` and the chapter's extra frames); the protocol functions of
:mod:`weakness_lib.engine.base` (``compute_unit``, ``analyse``, ``claims``) are implemented once,
here, for all three.

**Device.** These studies train tiny float64 networks with numpy on the CPU (one BLAS thread,
:func:`weakness_lib.wen.sam.single_threaded`): ``compute_unit`` accepts a ``device`` argument
for the protocol but always computes on the CPU, so the rows are the same on every worker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from weakness_lib.core.claims import Claim
from weakness_lib.engine import base
from weakness_lib.studies.wen import settings
from weakness_lib.studies.wen.frames import (  # noqa: F401  (the chapters' helpers, re-exported)
    constructions_frames,
    final_frame,
    history_frame,
    no_frames,
)
from weakness_lib.studies.wen.training import (  # noqa: F401  (re-exported)
    data_for,
    params_digest,
    parse_key,
    spec_for,
    train_unit,
)
from weakness_lib.studies.wen.verdicts import (  # noqa: F401  (the verdict helpers, re-exported)
    _text,
    accuracy_ci95,
    by_seed,
    constructions_hold,
    mean_ci95,
    tie_broken_accuracy,
    verdict_from_counts,
)
from weakness_lib.wen import sam

__all__ = [
    "CONSTRUCTIONS",
    "Scenario",
    "data_for",
    "spec_for",
    "units",
    "unit_keys",
    "parse_key",
    "train_unit",
    "history_frame",
    "final_frame",
    "params_digest",
    "mean_ci95",
    "accuracy_ci95",
    "by_seed",
    "tie_broken_accuracy",
    "constructions_frames",
    "constructions_hold",
    "verdict_from_counts",
]

#: the key of the constructions unit of every scenario
CONSTRUCTIONS = "constructions"


def unit_keys(config: settings.Scenario) -> list[str]:
    """Every training unit of the study: ``"<run>/seed<s>"`` for each run and seed."""
    return [f"{name}/seed{s}" for name in config.runs for s in config.seeds]


def units(config: settings.Scenario | Mapping[str, Any]) -> list[list[str]]:
    """The units as stages: one stage, the constructions and every (run, seed) (none reads another)."""
    return [[CONSTRUCTIONS, *unit_keys(base.typed(config))]]


# -- the study protocol, once for the three scenarios --------------------------------------------


Checks = Callable[[Mapping[str, Any], Any, list[dict], Mapping[str, Any]], dict]


@dataclass(frozen=True)
class Scenario:
    """What distinguishes one Wen scenario study; the protocol functions are generic.

    ``constructions(config) -> row`` computes the ``"constructions"`` unit; ``checks(rule,
    config, rows, cons) -> dict`` is the pure verdict function of the claim: from the registered
    claim block ``rule`` (its ``thresholds`` and ``target``), the config, the training rows and the
    constructions row it returns ``verdict``, ``our_value``, ``ci95``, ``per_seed``,
    ``conditions`` and ``details`` (extra claim details); ``frames(config, rows, cons) -> dict``
    adds the chapter's scenario-specific tables; ``bound(config)`` is the minimal trace among
    interpolators that the figures draw.
    """

    study: str
    claim_id: str
    labels: dict[str, str]
    constructions: Callable[[Any], dict[str, Any]]
    checks: Checks
    bound: Callable[[Any], float]
    frames: Callable[[Any, list[dict], Mapping[str, Any]], dict[str, Any]] = no_frames

    def compute_unit(self, cfg: settings.Scenario | Mapping[str, Any], key: str,
                     device: str = "cpu") -> dict[str, Any]:
        """The row of unit ``key`` from scratch (CPU only: ``device`` is accepted and ignored)."""
        del device  # float64 numpy on the CPU, the same bits on every worker
        cfg = base.typed(cfg)
        if key == CONSTRUCTIONS:
            with sam.single_threaded():
                return self.constructions(cfg)
        return train_unit(cfg, key)

    def analyse(self, scale: str) -> dict[str, Any]:
        """Everything the chapter shows, from the stored table only (see :mod:`base`)."""
        table = base.load_table(self.study, scale)
        config = base.typed(table.config)
        cons = table.get(CONSTRUCTIONS)
        rows = [table.get(k) for k in unit_keys(config)]
        rule = base.settings(self.study, scale).rule(self.claim_id)  # the table's registration
        checks = self.checks(rule, config, rows, cons)
        prov = base.provenance(table)
        return {
            "study": self.study,
            "claim_id": self.claim_id,
            "scale": scale,
            "config": table.config,
            "settings": config,
            "constructions": cons,
            "final": final_frame(rows),
            "history": history_frame(rows),
            "checks": checks,
            "rule": rule,
            "labels": self.labels,
            "bound": self.bound(config),
            "provenance": prov,
            "stored": dict(table.provenance),  # the table's creation record (commit, torch, date)
            "wall_s": prov["wall_s"],
            **self.frames(config, rows, cons),
        }

    def claims(self, result: Mapping[str, Any]) -> list[Claim]:
        """The claim record, its verdict from :attr:`checks` (already in ``result``)."""
        c = result["checks"]
        rule = result.get("rule") or base.rule(self.study, self.claim_id, result["scale"])
        details = {
            "conditions": c["conditions"],
            "per_seed": {str(k): v for k, v in c["per_seed"].items()},
            **c["details"],
            "deviations": _text(rule["deviations"]),
        }
        return [
            base.registered_claim(
                self.study,
                self.claim_id,
                our_value=c["our_value"],
                ci95=c["ci95"],
                verdict=c["verdict"],
                provenance=result["provenance"],
                details=details,
            )
        ]
