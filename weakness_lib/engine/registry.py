"""The studies of the book, by name: module, chapter, claims and the studies whose results they read.

Modules are imported lazily so that ``weakness-repro --help`` stays fast.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any


@dataclass(frozen=True)
class Study:
    """One study: ``module`` implements the protocol of :mod:`weakness_lib.engine.base`;
    ``needs`` names the studies whose stored results its ``analyse`` reads; ``params`` are passed
    to ``analyse`` (e.g. the dataset of a head-to-head)."""

    name: str
    module: str
    notebook: str
    claims: tuple[str, ...]
    needs: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)


_B = "weakness_lib.studies.bennett."  # the experiments of each paper, side by side
_W = "weakness_lib.studies.wen."
STUDIES: dict[str, Study] = {
    s.name: s
    for s in [
        Study("reparameterisation", _B + "reparameterisation", "01_reparameterisation", ("B1",)),
        Study("invariance_audit", _B + "invariance_audit", "02_invariance_audit", ("B2",)),
        Study("batch_size", _B + "batch_size", "03_large_batch_vs_n", ("B5",)),
        Study("head_to_head_mnist", _B + "head_to_head", "04_head_to_head_mnist", ("B6",),
              params={"dataset": "mnist"}),
        Study("head_to_head_fmnist", _B + "head_to_head", "05_head_to_head_fmnist", ("B7",),
              params={"dataset": "fashion_mnist"}),
        Study("replication_mnist", _B + "replication", "05b_does_weakness_predict", ("B6-R",),
              params={"claim": "B6-R"}),
        Study("replication_fmnist", _B + "replication", "05b_does_weakness_predict", ("B7-R",),
              needs=("replication_mnist",), params={"claim": "B7-R"}),  # B7-R stores the pooled ρ
        Study("scale_60k_mnist", _B + "replication", "05b_does_weakness_predict", ("B6-60k",),
              params={"claim": "B6-60k"}),
        # registered 2026-12-03 (issue "Settle what is still open"); their chapter joins the toc
        # with their full results. IV (configs/weakness_vs_validation.yaml) trains nothing: it
        # analyses the two n = 60,000 populations (its analysis code was written before either ran).
        Study("scale_60k_mnist_r", _B + "replication", "05c_settled_at_full_scale", ("B6-60k-R",),
              params={"claim": "B6-60k-R"}),
        Study("scale_60k_fmnist", _B + "replication", "05c_settled_at_full_scale", ("B7-60k",),
              params={"claim": "B7-60k"}),
        Study("weakness_vs_validation", _B + "weakness_vs_validation", "05c_settled_at_full_scale",
              ("IV",), needs=("scale_60k_mnist_r", "scale_60k_fmnist")),
        Study("batch_size_r", _B + "batch_size", "05c_settled_at_full_scale", ("B5-R",),
              params={"study": "batch_size_r", "claim": "B5-R"}),
        Study("robustness_population", _B + "robustness_population", "05b_does_weakness_predict",
              ("X5",)),
        Study("theory", _B + "theory", "06_theory_finite_languages", ("B3", "B4"),
              needs=("head_to_head_mnist", "head_to_head_fmnist")),
        Study("wen_scenario_1", _W + "scenario_1", "07_wen_scenario_I", ("WLM-I",)),
        Study("wen_scenario_2", _W + "scenario_2", "08_wen_scenario_II", ("WLM-II",)),
        Study("wen_scenario_3", _W + "scenario_3", "09_wen_scenario_III", ("WLM-III",),
              needs=("wen_scenario_1", "wen_scenario_2")),
    ]
}


class UnknownStudy(KeyError):
    """A study name that is not registered; the message lists near matches."""

    def __str__(self) -> str:  # KeyError quotes its argument; print it plainly
        return str(self.args[0])


def get(name: str) -> Study:
    """The registered study ``name`` (:class:`UnknownStudy` with near matches otherwise)."""
    if name not in STUDIES:
        near = difflib.get_close_matches(name, list(STUDIES), n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(near)}? " if near else ""
        raise UnknownStudy(f"unknown study {name}; {hint}known: {', '.join(STUDIES)}")
    return STUDIES[name]


def in_dependency_order(names: list[str]) -> list[Study]:
    """``names`` and everything they need, each after the studies it needs (stable otherwise)."""
    order: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in order:
            return
        if name in path:
            raise ValueError(f"studies need each other in a cycle: {' -> '.join(path + (name,))}")
        for dep in get(name).needs:
            visit(dep, path + (name,))
        order.append(name)

    for n in names:
        visit(n, ())
    return [STUDIES[n] for n in order]
