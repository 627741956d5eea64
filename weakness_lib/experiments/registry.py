"""The experiments of the book, by name: how to run each, which claims it writes, how to verify it.

Modules are imported lazily so that ``weakness-repro --help`` stays fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..config import experiment_config
from ..store import ResultsStore, Table


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


_E = "weakness_lib.experiments."
SPECS: dict[str, Spec] = {
    s.name: s
    for s in [
        Spec("reparameterisation", _E + "reparameterisation", "01_reparameterisation.ipynb",
             ("B1",), recompute="recompute"),
    ]
}


def get(name: str) -> Spec:
    if name not in SPECS:
        raise KeyError(f"unknown experiment {name!r}; known: {', '.join(SPECS)}")
    return SPECS[name]
