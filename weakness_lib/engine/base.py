"""The study protocol: what every experiment module provides, and how chapters read its results.

A study module (``weakness_lib/studies/<name>.py``) is the contract between expensive runs and cheap
chapters. It provides, with no other entry points:

``units(cfg) -> list[list[str]]``
    The unit keys of the study as *stages*: units of one stage are independent (they run in
    parallel, in any order, on any worker); a unit of stage k may read the stored rows or
    artifacts of stages < k.
``compute_unit(cfg, key, device="cpu") -> dict``
    The row of one unit, computed from scratch and deterministically (bit for bit on the CPU under
    ``cfg.torch_threads``). It never writes the results store: binary artifacts are returned
    in ``row["_artifacts"] = {file name: bytes}`` and written by the driver. It is also what
    ``weakness-repro verify`` calls.
``analyse(scale, **params) -> dict``
    Everything a chapter shows, from stored tables only (this study's and those of its
    ``needs``): no computation of units, no writes. A missing unit raises :class:`MissingResults`.
``claims(result) -> list[Claim]``
    The claim record(s), with verdicts from the registered rule (pure; the runner writes them).

``SETTINGS``
    The study's typed settings, a :class:`~weakness_lib.core.settings.StudySettings` dataclass
    (``studies/<paper>/settings.py``): every key of its config with its type and default.
    :func:`settings` builds the validated object once from the YAML; its ``config`` names the table
    and its ``rule(claim)`` gives the targets and thresholds that the verdicts read.

``cfg`` is that typed object: the engine passes the registered one (or, for ``verify``, the one
built from a stored table's config). A study's entry points also accept a plain mapping (a stored
config, or one a test wrote) and turn it into the typed object first (:func:`typed`), so the
study's own code reads typed fields (``cfg.n_train``), never string keys.

Optionally ``summarise(cfg, rows) -> dict``: expensive derived numbers (e.g. bootstrap tables) that
the runner computes once after the units and stores beside the table (see :func:`summary`), and
``VERIFY``: a :class:`VerifyRule`, the stored fields that ``weakness-repro verify`` compares within
a registered tolerance or only reports (default :data:`BITWISE`: every number, bit for bit).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType, ModuleType
from typing import Any

import torch

from weakness_lib.core.claims import Claim
from weakness_lib.core.paths import project_root
from weakness_lib.core.settings import StudySettings
from weakness_lib.core.store import ResultsStore, Table, config_hash
from weakness_lib.engine import settings as registered
from weakness_lib.engine.settings import typed

__all__ = [
    "BITWISE",
    "VerifyRule",
    "verify_rule",
    "cpu_bound",
    "trains",
    "reproducible_here",
    "MissingResults",
    "threads",
    "table",
    "load_table",
    "load_rows",
    "summary",
    "provenance",
    "registered_claim",
    "rule",
    "settings",
    "typed",
]


@dataclass(frozen=True)
class VerifyRule:
    """How ``weakness-repro verify`` compares a study's recomputed unit with its stored row: every
    number bit for bit, except ``tolerances`` (stored field → the config key of its relative
    tolerance: ``|stored − new| ≤ tol · |stored|``) and ``diagnostics`` (fields that describe a
    solver's work, not a result: reported, not compared)."""

    tolerances: Mapping[str, str] = field(default_factory=dict)
    diagnostics: frozenset[str] = frozenset()

    def __post_init__(self) -> None:  # a shared rule cannot be changed in place
        object.__setattr__(self, "tolerances", MappingProxyType(dict(self.tolerances)))
        object.__setattr__(self, "diagnostics", frozenset(self.diagnostics))


#: the default: every stored number bit for bit
BITWISE = VerifyRule()


def verify_rule(module: ModuleType) -> VerifyRule:
    """The study module's ``VERIFY``, else :data:`BITWISE`."""
    return getattr(module, "VERIFY", BITWISE)


def cpu_bound(module: ModuleType) -> str | None:
    """The study module's ``CPU_BOUND``: why its results keep CPU-specific bits even under pinned
    numerics (a clause, e.g. an instruction whose last bits each CPU computes its own way), so
    that its tables are compared and extended only on the CPU that computed them; else ``None``."""
    return getattr(module, "CPU_BOUND", None)


def trains(module: ModuleType) -> bool:
    """Whether the study's units train networks (its ``TRAINS``, default yes); the others only
    re-read other studies' tables, so there is nothing of theirs to re-compute."""
    return getattr(module, "TRAINS", True)


def reproducible_here(module: ModuleType, table: Any) -> tuple[bool, str]:
    """Whether this process can re-compute ``table`` of the study ``module`` bit for bit (the
    numerics it was computed under, and the study's ``CPU_BOUND``): ``(True, "")`` or
    ``(False, reason)``. What ``verify``, ``verify-sample`` and the runner ask."""
    from weakness_lib.core import numerics

    return numerics.table_comparable(table, cpu_bound(module))


class MissingResults(RuntimeError):
    """A chapter asked for results that are not in the store. Shown as one line, no traceback."""

    def _render_traceback_(self) -> list[str]:  # IPython/Jupyter: print the message only
        return [f"MissingResults: {self}"]


@contextlib.contextmanager
def threads(n: int | None) -> Iterator[None]:
    """Run the block under ``torch.set_num_threads(n)`` (bits depend on it) and restore after."""
    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def settings(name: str, scale: str) -> StudySettings:
    """The registered, validated settings of study ``name`` at ``scale`` (built once per file):
    the config that names its table and the claim blocks its verdicts read (``.rule(claim)``)."""
    return registered.load(name, scale)


def table(name: str, scale: str, config: Mapping[str, Any] | None = None) -> Table:
    """The store table of study ``name`` for its registered settings at ``scale``."""
    cfg = dict(config) if config is not None else settings(name, scale).config
    return ResultsStore(scale).table(name, cfg)


def _command(name: str, scale: str) -> str:
    return f"weakness-repro run {name} --scale {scale}"


def load_table(name: str, scale: str, expected: list[str] | None = None) -> Table:
    """The complete stored table of ``name``; :class:`MissingResults` naming the command otherwise.

    ``expected`` (the flattened unit keys) defaults to the study's own ``units(cfg)``.
    """
    from weakness_lib.engine import registry

    t = table(name, scale)
    if expected is None:
        expected = [k for stage in registry.get(name).load().units(typed(t.config)) for k in stage]
    missing = [k for k in expected if k not in t]
    if missing:
        raise MissingResults(
            f"{name} at scale {scale}: {len(missing)} of {len(expected)} units not stored "
            f"(e.g. {missing[0]!r}); compute them with `{_command(name, scale)}`"
        )
    return t


def load_rows(name: str, scale: str) -> list[dict[str, Any]]:
    """The stored rows of ``name`` in unit order (complete, else :class:`MissingResults`)."""
    return load_table(name, scale).rows()


def rows_digest(rows: list[dict[str, Any]]) -> str:
    """A hash of the rows' results: bookkeeping and timing fields (``_…``, ``…_s``, ``…wall…``)
    are excluded, so recomputing a unit to the same numbers keeps its summary valid."""
    from weakness_lib.core.bitwise import is_timing

    return config_hash({"rows": [{k: v for k, v in r.items() if not is_timing(k)} for r in rows]})


def summary(t: Table) -> dict[str, Any] | None:
    """The stored summary of ``t`` (see the module docstring) if it matches the current rows."""
    return t.summary(rows_digest(t.rows()))


def provenance(*tables: Table) -> dict[str, Any]:
    """One provenance format for claims and chapters: per table its config hash, path relative to
    the repository, number of units, summed unit wall time, torch version, threads, creation date
    and CPU; ``wall_s`` is the total over tables (the single wall-time key). The table's own file
    keeps its full creation record (commit included); a claim records the commit it was derived
    at (``derived``, added by the runner) rather than repeating the tables' creation commits."""
    out: dict[str, Any] = {"tables": [], "wall_s": 0.0}
    for t in tables:
        try:
            path = str(t.path.resolve().relative_to(project_root()))
        except ValueError:  # a store outside the repository ($WEAKNESS_RESULTS): where it is committed
            path = f"results/{t.path.parent.parent.name}/{t.path.parent.name}/{t.path.name}"
        prov = t.provenance
        wall = round(t.total_wall_s(), 1)
        out["tables"].append({
            "table": path, "config_hash": t.hash, "units": len(t), "wall_s": wall,
            "torch": prov.get("torch"),
            "torch_threads": t.config.get("torch_threads", prov.get("torch_threads")),
            "created": prov.get("date"),
            **({"cpu": prov["cpu"]} if "cpu" in prov else {}),  # recorded since 2026-12-02
            "numerics": (prov.get("numerics") or {}).get("profile", "native (unrecorded)"),
        })
        out["wall_s"] = round(out["wall_s"] + wall, 1)
    return out


def rule(study: str, claim_id: str, scale: str = "full") -> dict[str, Any]:
    """The registration block of ``claim_id`` of ``study``: prose (``statement``, ``paper_value``,
    ``metric``, ``verdict_rule``) and the structured ``target`` (paper values) and ``thresholds``
    that the verdict function reads — from the registered settings object of :func:`settings`
    (the one whose config names the table the verdict judges; claim blocks are the same at
    every scale)."""
    return settings(study, scale).rule(claim_id)


def registered_claim(study: str, claim_id: str, *, our_value: float, ci95: list[float] | None,
                     verdict: str, provenance: dict[str, Any],
                     details: dict[str, Any] | None = None) -> Claim:
    """A :class:`Claim` whose texts come from the pre-registration (not written: the runner does)."""
    reg = rule(study, claim_id)

    def text(k: str) -> str:
        return " ".join(str(reg[k]).split())

    return Claim(claim_id=claim_id, paper=reg["paper"], statement=text("statement"),
                 paper_value=text("paper_value"), metric=text("metric"), our_value=float(our_value),
                 ci95=ci95, verdict=verdict, verdict_rule=text("verdict_rule"),
                 provenance=provenance, details=details or {})
