"""The experiments of the book, by name: how to run each, which claims it writes, how to verify it.

Modules are imported lazily so that ``weakness-repro --help`` stays fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from weakness_lib.core.config import experiment_config
from weakness_lib.core.store import ResultsStore, Table


@dataclass(frozen=True)
class Spec:
    """An experiment: ``module.run(scale, progress=…, **kwargs)`` computes it; ``recompute`` (a
    function name in the module taking ``(scale, key, **verify_kwargs)``) rebuilds one stored row
    from scratch for ``verify``."""

    name: str
    module: str
    notebook: str
    claims: tuple[str, ...]
    run_kwargs: dict[str, Any] = field(default_factory=dict)
    recompute: str | None = None
    verify_kwargs: dict[str, Any] = field(default_factory=dict)

    def load(self):
        return importlib.import_module(self.module)

    def run(self, scale: str, progress: bool = True) -> dict[str, Any]:
        return self.load().run(scale, progress=progress, **self.run_kwargs)

    def tables(self, scale: str) -> list[Table]:
        """The store tables of the current pre-registered config (one per experiment name)."""
        cfg = experiment_config(self.name, scale)
        return [ResultsStore(scale).table(self.name, cfg)]

    def recompute_fn(self) -> Callable[[str, str], dict[str, Any]] | None:
        if self.recompute is None:
            return None
        fn = getattr(self.load(), self.recompute)
        return lambda scale, key: fn(scale, key, **self.verify_kwargs)


_E = "weakness_lib.studies."
SPECS: dict[str, Spec] = {
    s.name: s
    for s in [
        Spec("reparameterisation", _E + "reparameterisation", "01_reparameterisation.ipynb",
             ("B1",), recompute="recompute"),
        Spec("invariance_audit", _E + "invariance_audit", "02_invariance_audit.ipynb",
             ("B2",), recompute="retrain_and_measure"),
        Spec("batch_size", _E + "batch_size", "03_large_batch_vs_n.ipynb",
             ("B5",), recompute="retrain_and_measure"),
        Spec("head_to_head_mnist", _E + "head_to_head", "04_head_to_head_mnist.ipynb", ("B6",),
             run_kwargs={"dataset": "mnist"}, recompute="retrain_and_measure",
             verify_kwargs={"dataset": "mnist"}),
        Spec("head_to_head_fmnist", _E + "head_to_head", "05_head_to_head_fmnist.ipynb", ("B7",),
             run_kwargs={"dataset": "fashion_mnist"}, recompute="retrain_and_measure",
             verify_kwargs={"dataset": "fashion_mnist"}),
        Spec("theory", _E + "theory", "06_theory_finite_languages.ipynb", ("B3", "B4")),
        Spec("wen_scenario_1", _E + "wen_scenario_1", "07_wen_scenario_I.ipynb", ("W1",),
             recompute="recompute"),
        Spec("wen_scenario_2", _E + "wen_scenario_2", "08_wen_scenario_II.ipynb", ("W2",),
             recompute="recompute"),
        Spec("wen_scenario_3", _E + "wen_scenario_3", "09_wen_scenario_III.ipynb", ("W3",),
             recompute="recompute"),
    ]
}


def get(name: str) -> Spec:
    if name not in SPECS:
        raise KeyError(f"unknown experiment {name!r}; known: {', '.join(SPECS)}")
    return SPECS[name]
