"""The study runner: missing units in dependency order, in parallel on Dask, one writer.

``run_studies(names, scale)`` takes the named studies and every study they need, in dependency
order (:func:`weakness_lib.engine.registry.in_dependency_order`). For each study it

1. refuses (at ``full`` scale) to silently recompute a committed study whose registered settings
   changed, unless the study was named explicitly (:class:`SettingsChanged`);
2. submits the units not yet stored, stage by stage, as Dask tasks
   (:func:`weakness_lib.engine.executor.execute_unit` → ``module.compute_unit``) — the units of
   all studies at once, since units never read other studies (``needs`` concerns analysis);
   workers only *return* rows;
3. writes each finished row from the driver (locked merge, canonical unit order), so an
   interrupted run loses only the units in flight and two runners on one store lose nothing;
4. computes the study's optional ``summarise`` once and stores it beside the table;
5. analyses the stored results and writes the claim files — only when their content changed.

Execution: ``workers=1`` (and no scheduler) runs units in this process; otherwise an embedded
``LocalCluster`` (processes, one torch thread each, sized to the machine by default) or, with
``scheduler="tcp://host:port"`` / ``$WEAKNESS_SCHEDULER``, an existing Dask cluster. Every unit is
deterministic on the CPU, so results are bitwise identical whatever the worker count.
"""

from __future__ import annotations

import json
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from weakness_lib.core import numerics
from weakness_lib.core.claims import write_claim
from weakness_lib.core.config import result_settings
from weakness_lib.core.provenance import git_commit, now_iso
from weakness_lib.core.settings import StudySettings
from weakness_lib.core.store import ResultsStore, Table, ensure_writable
from weakness_lib.engine import base, registry
from weakness_lib.engine.executor import Executor, resolve_device
from weakness_lib.engine.registry import Study


class SettingsChanged(RuntimeError):
    """A committed full-scale study's registered settings changed; recomputing must be explicit."""


class UnitFailed(RuntimeError):
    """A unit raised; finished units are stored, the message names the unit and the cause."""


@dataclass
class StudyReport:
    """What the runner did for one study."""

    name: str
    units: int = 0
    computed: int = 0
    wall_s: float = 0.0  # compute_s + finalise_s
    compute_s: float = 0.0  # from the start of the compute phase to storing its last unit
    finalise_s: float = 0.0  # summary, analysis and claims
    verdicts: dict[str, str] = field(default_factory=dict)
    claims_written: list[str] = field(default_factory=list)


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: d}


def check_settings(study: Study, table: Table) -> None:
    """Raise :class:`SettingsChanged` if the study has stored tables but none for its settings."""
    if table.path.exists():
        return
    others = [p for p in sorted(table.folder.glob("*.json")) if p != table.path]
    if not others:
        return
    stored = json.loads(others[-1].read_text(encoding="utf-8")).get("config", {})
    now, then = _flat(result_settings(table.config)), _flat(result_settings(stored))
    diffs = [f"{k}: {then.get(k, '—')} → {now.get(k, '—')}" for k in sorted(set(now) | set(then))
             if now.get(k) != then.get(k)][:5]
    raise SettingsChanged(
        f"configs/{study.name}.yaml changed a setting that affects results since the stored "
        f"table {study.name}/{others[-1].name} was computed ({'; '.join(diffs)}). Nothing was recomputed. Revert the change, or recompute "
        f"explicitly with `weakness-repro run {study.name} --scale {table.config.get('scale')}`."
    )


def check_numerics(study: Study, table: Table) -> None:
    """Raise :class:`~weakness_lib.core.numerics.NumericsError` before adding units to a stored
    table computed under other numerics: one table, one set of kernels."""
    if not table.path.exists() or not len(table):
        return
    ok, why = base.reproducible_here(study.load(), table)
    if not ok:
        raise numerics.NumericsError(
            f"{study.name}: will not add units to {table.path}: {why}. Move the table away to "
            f"recompute it whole, or resume it where it was started")


@dataclass
class _Progress:
    """The computing state of one study: its stages, the stage in flight, its bar and times."""

    study: Study
    table: Table
    stages: list[list[str]]
    bar: Any
    settings: StudySettings  # the typed settings of ``table`` (what its units are computed from)
    stage: int = -1
    pending: set[str] = field(default_factory=set)
    computed: int = 0
    start: float = field(default_factory=time.perf_counter)
    end: float | None = None

    @property
    def order(self) -> list[str]:
        return [k for st in self.stages for k in st]


def _launch_next_stage(p: _Progress, executor: Executor, device: str) -> None:
    """Submit the next stage of ``p`` that has missing units (none left: the study is done)."""
    while not p.pending:
        p.stage += 1
        if p.stage >= len(p.stages):
            p.end = p.end or time.perf_counter()
            return
        p.table.refresh()  # another runner may have stored some meanwhile
        missing = [k for k in p.stages[p.stage] if k not in p.table]
        if missing:
            ensure_writable(p.table.folder)
            check_numerics(p.study, p.table)
        for key in missing:
            executor.submit((p.study.name, key), p.study.module, p.settings, key, device)
            p.pending.add(key)


def compute_studies(studies: list[Study], tables: dict[str, Table], executor: Executor,
                    device: str, progress: bool = True) -> dict[str, _Progress]:
    """Compute and store the missing units of every study, all studies at once.

    Units never read another study's results (``needs`` is about analysis), so every study's
    first stage is submitted together and a study's next stage follows as soon as its current one
    is stored: the workers stay busy across study boundaries. Rows are written by this (driver)
    process as they arrive; a failed unit stops everything with :class:`UnitFailed`.
    """
    states: dict[str, _Progress] = {}
    for i, s in enumerate(studies):
        t = tables[s.name]
        cfg = base.typed(t.config)
        stages = s.load().units(cfg)
        order = [k for st in stages for k in st]
        bar = tqdm(total=len(order), initial=sum(k in t for k in order), desc=f"{s.name:<20}",
                   unit="unit", disable=not progress, position=i, leave=True)
        states[s.name] = _Progress(s, t, stages, bar, cfg)
    try:
        for p in states.values():
            _launch_next_stage(p, executor, device)
        for (name, key), outcome in executor.completed():
            p = states[name]
            if isinstance(outcome, BaseException):
                done = sum(q.computed for q in states.values())
                frames = traceback.extract_tb(outcome.__traceback__)
                where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
                raise UnitFailed(f"{name}: unit {key} failed ({type(outcome).__name__}: {outcome}"
                                 f"{where}); {done} finished unit(s) are stored, rerun to resume"
                                 ) from outcome
            _, row, wall = outcome
            for fname, payload in (row.pop("_artifacts", None) or {}).items():
                p.table.write_artifact(fname, payload)
            p.table.put_many({key: Table.record(row, wall)}, order=p.order)
            p.pending.discard(key)
            p.computed += 1
            p.bar.update(1)
            _launch_next_stage(p, executor, device)
    except BaseException:
        executor.cancel()
        raise
    finally:
        for p in states.values():
            p.bar.close()
    return states


def summary_current(module: Any, stored: dict[str, Any] | None) -> bool:
    """A stored summary is current if it exists and, when the study declares ``SUMMARY_FORMAT``,
    has that ``format`` (an older layout is recomputed from the stored rows; no unit is run)."""
    if stored is None:
        return False
    fmt = getattr(module, "SUMMARY_FORMAT", None)
    return fmt is None or stored.get("format") == fmt


def finalise_study(study: Study, scale: str, table: Table,
                   derived: dict[str, str] | None = None) -> StudyReport:
    """Store the summary (if the study has one), analyse, and write changed claim files.

    ``derived`` (commit and date of this run, volatile) is added to each claim's provenance."""
    module = study.load()
    report = StudyReport(study.name, units=len(table))
    if hasattr(module, "summarise"):
        digest = base.rows_digest(table.rows())
        if not summary_current(module, table.summary(digest)):
            table.write_summary(digest, module.summarise(base.typed(table.config), table.rows()))
    result = module.analyse(scale, **study.params)
    derived = derived or {"git_commit": git_commit(), "date": now_iso()}  # volatile: never rewrites
    for claim in module.claims(result):
        claim.provenance = {**claim.provenance, "derived": derived}
        path, changed = write_claim(claim, scale)
        report.verdicts[claim.claim_id] = claim.verdict
        if changed:
            report.claims_written.append(claim.claim_id)
    return report


def run_studies(names: list[str], scale: str, *, workers: int | None = None,
                scheduler: str | None = None, device: str = "auto", explicit: bool = False,
                progress: bool = True) -> list[StudyReport]:
    """Compute what is missing for ``names`` (and what they need) and write their claims.

    ``explicit``: the named studies (not their dependencies) may be recomputed under changed
    settings; otherwise a changed setting on a stored full-scale study raises
    :class:`SettingsChanged` before anything is computed.
    """
    numerics.require_pinned("computing results")
    device = resolve_device(device)
    studies = registry.in_dependency_order(names)
    tables = {}
    for s in studies:  # check every study before computing anything
        tables[s.name] = ResultsStore(scale).table(s.name, base.settings(s.name, scale).config)
        if scale == "full" and not (explicit and s.name in names):
            check_settings(s, tables[s.name])
    executor = Executor(workers, scheduler)
    derived = {"git_commit": git_commit(), "date": now_iso()}  # once, before anything is written
    try:
        states = compute_studies(studies, tables, executor, device, progress)
    except BaseException:
        executor.close()
        raise
    # every unit is stored: the cluster shuts down (seconds of waiting for its processes) while
    # this process analyses the tables and writes the claims
    closing = threading.Thread(target=executor.close, name="close-executor", daemon=True)
    closing.start()
    try:
        return [_finalised(s, scale, tables[s.name], states[s.name], derived) for s in studies]
    finally:
        closing.join()


def _finalised(study: Study, scale: str, table: Table, p: _Progress,
               derived: dict[str, str]) -> StudyReport:
    """:func:`finalise_study` of a computed study, with its times (studies in dependency order:
    a study's analysis reads what it needs)."""
    start = time.perf_counter()
    report = finalise_study(study, scale, table, derived)
    report.computed = p.computed
    report.compute_s = (p.end or start) - p.start
    report.finalise_s = time.perf_counter() - start
    report.wall_s = report.compute_s + report.finalise_s
    return report
