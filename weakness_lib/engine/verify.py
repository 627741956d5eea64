"""``weakness-repro verify`` and ``verify-sample``: recompute stored units, compare them bitwise.

A stored unit is recomputed with its study's ``compute_unit`` under the table's config and thread
count and compared field by field with the stored row (:func:`weakness_lib.core.bitwise.differences`:
every number, timings aside). Two kinds of field are excused, as the study declares them in its
``VERIFY`` rule (:class:`weakness_lib.engine.base.VerifyRule`; by default none): those with a
registered relative tolerance and solver diagnostics. Nothing is compared
across numerics (:func:`weakness_lib.core.numerics.table_comparable`): a bitwise comparison between
different kernels would only measure the CPU. Every function prints what the command prints and
returns its exit status; ``weakness_lib.cli`` only parses arguments.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import random
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from weakness_lib.core import numerics
from weakness_lib.core.bitwise import differences
from weakness_lib.core.config import ConfigError
from weakness_lib.core.cpu import cpu_family, cpu_model, signature
from weakness_lib.core.jsonable import jsonable
from weakness_lib.core.paths import results_root
from weakness_lib.core.store import Table, atomic_write_text
from weakness_lib.engine import base, registry
from weakness_lib.engine import settings as registered
from weakness_lib.engine.base import BITWISE, VerifyRule
from weakness_lib.engine.registry import Study


def _near(key: str, keys: list[str]) -> str:
    """Up to three stored keys like ``key``, or a few stored keys, as a hint."""
    near = difflib.get_close_matches(key, keys, n=3, cutoff=0.4)
    return f"did you mean {', '.join(near)}?" if near else f"{len(keys)} units are stored, e.g. {', '.join(keys[:3])}"


def compare_row(stored: dict[str, Any], new: dict[str, Any], cfg: Mapping[str, Any],
                rule: VerifyRule = BITWISE) -> tuple[list, list]:
    """(differences that fail, differences excused by ``rule``: solver diagnostics or within a
    tolerance whose value is the config's)."""
    diffs, excused = [], []
    for path, a, b in differences(stored, new):
        leaf = path.rsplit(".", 1)[-1].split("[", 1)[0]
        if leaf in rule.diagnostics:
            excused.append(path)
            continue
        tol_key = rule.tolerances.get(leaf)
        if tol_key and isinstance(a, float) and isinstance(b, float):
            if abs(a - b) <= float(cfg.get(tol_key, 0.0)) * abs(a):
                excused.append(path)
                continue
        diffs.append((path, a, b))
    return diffs, excused


def _header(spec: Study, table: Table, n_chosen: int, n_threads: Any, seed: int | None,
            rule: VerifyRule) -> str:
    """The first line of a verify log: what is compared, how, on which numerics and CPU."""
    tol = {f: table.config[k] for f, k in rule.tolerances.items() if k in table.config}
    return (f"verify {spec.name} ({table.config.get('scale')}, {table.path.name}): {n_chosen} of "
            f"{len(table)} units, {n_threads} torch threads, {numerics.describe(numerics.record())} "
            f"on {cpu_model()}" + (f"; seed {seed}" if seed is not None else "") + "; bitwise"
            + (f" except {tol} (relative)" if tol else "")
            + (f"; solver diagnostics {sorted(rule.diagnostics)} not compared" if rule.diagnostics else ""))


def _unit_line(key: str, width: int, stored: dict[str, Any], diffs: list, excused: list,
               seconds: float) -> str:
    """One unit's line: its key, fields compared, PASS/FAIL and the first difference."""
    first = ("bit for bit" if not excused else f"excused: {', '.join(excused)}") if not diffs \
        else f"{diffs[0][0]}: stored {diffs[0][1]!r} != new {diffs[0][2]!r}"
    return (f"  {key:<{width}} {len(differences(stored, {})):6d}  {'FAIL' if diffs else 'PASS'}    "
            f"{first}  ({seconds:.1f} s)")


def verify_units(spec: Study, table: Table, chosen: list[str], seed: int | None) -> tuple[int, int]:
    """Recompute ``chosen`` units of ``table`` and print one line each: (failures, inexact)."""
    module = spec.load()
    n_threads = table.config.get("torch_threads") or table.provenance.get("torch_threads")
    cfg, rule = base.typed(table.config), base.verify_rule(module)
    print(_header(spec, table, len(chosen), n_threads, seed, rule))
    if sig := signature():
        print(f"  CPUID: {sig}")
    w = max(22, *(len(k) for k in chosen))
    print(f"  {'unit':<{w}} {'fields':>6}  result  first difference")
    failures = inexact = 0
    for key in chosen:
        start = time.perf_counter()
        with base.threads(n_threads):
            new = jsonable({k: v for k, v in module.compute_unit(cfg, key).items()
                             if k != "_artifacts"})
        stored = table.get(key)
        diffs, excused = compare_row(stored, new, table.config, rule)
        failures += bool(diffs)
        inexact += bool(excused) and not diffs
        print(_unit_line(key, w, stored, diffs, excused, time.perf_counter() - start), flush=True)
    return failures, inexact


def verdict_line(failures: int, inexact: int) -> int:
    """Print the overall verdict; the exit status (1 if any unit differs)."""
    if failures:
        print(f"verify: FAIL ({failures} unit(s) differ)")
    elif inexact:
        print(f"verify: PASS (every stored number reproduced; {inexact} unit(s) only within the "
              "tolerance or in solver diagnostics)")
    else:
        print("verify: PASS (every stored number reproduced bit for bit, diagnostics included)")
    return 1 if failures else 0


def log_path(name: str, scale: str) -> Path:
    """``results/<scale>/verify/<cpu family>/<name>.txt``: one folder of logs per CPU family,
    beside the tables verified."""
    return results_root(scale) / "verify" / cpu_family() / f"{name}.txt"


class _Tee:
    """A stdout that writes to several streams."""

    def __init__(self, *streams: Any):
        self.streams = streams

    def write(self, text: str) -> int:
        for s in self.streams:
            s.write(text)
        return len(text)

    def flush(self) -> None:
        for s in self.streams:
            s.flush()


@contextlib.contextmanager
def log_to(path: Path | None) -> Iterator[None]:
    """Copy stdout into ``path`` (replaced atomically when the block ends) if given."""
    if path is None:
        yield
        return
    buf, out = io.StringIO(), sys.stdout
    sys.stdout = _Tee(out, buf)  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout = out
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, buf.getvalue())
        print(f"log: {path}")


def config_problem(spec: Study, table: Table) -> str | None:
    """Why ``table``'s stored config cannot be recomputed by today's code (its study's typed
    settings reject it: a key added, dropped or retyped since), one line; or ``None``."""
    try:
        registered.of(spec.name, table.config, where=f"stored config of {table.path}")
    except ConfigError as exc:
        return f"verify: cannot recompute {spec.name}: {exc}"
    return None


def _refusal(spec: Study, table: Table, scale: str, units: list[str]) -> str | None:
    """Why ``verify`` cannot run on this table (one line), or ``None``."""
    keys = table.keys()
    if not keys and not spec.load().units(base.typed(table.config)):
        return (f"{spec.name} trains nothing (it analyses the stored tables of "
                f"{', '.join(spec.needs)}): verify those")
    if not keys:
        return f"{spec.name}: nothing stored at scale {scale}; run it first"
    unknown = [k for k in units if k not in table]
    if unknown:
        return f"{spec.name}: no stored unit {unknown[0]}; {_near(unknown[0], keys)}"
    if why := config_problem(spec, table):
        return why
    ok, why = base.reproducible_here(spec.load(), table)
    return None if ok else f"verify: refusing to compare {spec.name} bitwise: {why}"


def verify_study(study: str, scale: str, *, sample: int, seed: int, units: list[str],
                 log: bool) -> int:
    """``weakness-repro verify``: the named ``units``, else ``sample`` stored units chosen with
    ``seed``; with ``log``, the output is also written to :func:`log_path`. Exit status."""
    spec = registry.get(study)
    table = base.table(spec.name, scale)
    if why := _refusal(spec, table, scale, units):
        print(why, file=sys.stderr)
        return 2
    keys = table.keys()
    chosen = units or random.Random(seed).sample(keys, min(sample, len(keys)))
    with log_to(log_path(spec.name, scale) if log else None):
        return verdict_line(*verify_units(spec, table, chosen, None if units else seed))


def verify_all(scale: str, *, sample: int, seed: int, log: bool) -> int:
    """``weakness-repro verify all``: :func:`verify_study` of every study with stored units at
    ``scale`` (trained networks, and theory's exact enumerations), one after another, each with its
    log where ``log``; then one line: how many tables passed, and which differ or were refused.
    What a session on a CPU with no folder in ``results/<scale>/verify/`` runs. Exit status 1 if a
    unit differs, else 2 if a table was refused or none is stored (said in one line), else 0."""
    status: dict[str, int] = {}
    start = time.perf_counter()
    for spec in registry.STUDIES.values():
        if len(base.table(spec.name, scale)):
            status[spec.name] = verify_study(spec.name, scale, sample=sample, seed=seed, units=[],
                                             log=log)
            print(flush=True)
    if not status:
        print(f"verify all: no table is stored at scale {scale}; run it first", file=sys.stderr)
        return 2
    failed = [n for n, rc in status.items() if rc == 1]
    refused = [n for n, rc in status.items() if rc not in (0, 1)]
    print(f"verify all ({scale}, on {cpu_model()}): {len(status) - len(failed) - len(refused)} of "
          f"{len(status)} stored tables pass, {sample} unit(s) each, in "
          f"{time.perf_counter() - start:.0f} s" + (f"; differ: {', '.join(failed)}" if failed else "")
          + (f"; refused: {', '.join(refused)}" if refused else "")
          + (f"; logs in {results_root(scale) / 'verify' / cpu_family()}" if log else ""))
    return 1 if failed else 2 if refused else 0


def sample_pool(max_unit_s: float) -> tuple[list[tuple[str, str]], list[str]]:
    """(study, key) of every stored full-scale first-stage unit of a training study that took at
    most ``max_unit_s`` and whose table this process reproduces; and the studies skipped as not
    comparable here."""
    pool: list[tuple[str, str]] = []
    skipped = []
    for spec in registry.STUDIES.values():
        if not base.trains(spec.load()):
            continue
        table = base.table(spec.name, "full")
        if not len(table):
            continue
        if not base.reproducible_here(spec.load(), table)[0]:
            skipped.append(spec.name)
            continue
        first = set(spec.load().units(base.typed(table.config))[0])  # later stages may retrain their input
        pool += [(spec.name, r["key"]) for r in table.rows()
                 if r["key"] in first and float(r.get("_wall_s") or 0.0) <= max_unit_s]
    return pool, skipped


def verify_sample(units: int, seed: int | None, max_unit_s: float) -> int:
    """``weakness-repro verify-sample``: verify ``units`` random trained full-scale units, across
    every study whose table was computed under numerics this process reproduces (CI calls it)."""
    seed = seed if seed is not None else int(time.time()) % 1_000_000
    pool, skipped = sample_pool(max_unit_s)
    print(f"verify-sample: seed {seed} (rerun: weakness-repro verify-sample --seed {seed}); "
          f"{len(pool)} trained first-stage unit(s) of ≤ {max_unit_s:g} s stored under numerics this "
          f"machine reproduces" + (f"; not comparable here: {', '.join(skipped)}" if skipped else ""))
    if len(pool) < units:
        print(f"verify-sample: only {len(pool)} eligible unit(s), {units} asked for; "
              "recompute the store under pinned numerics (README, Numerics)", file=sys.stderr)
        return 2
    chosen = random.Random(seed).sample(pool, units)
    failures = inexact = 0
    for name in dict.fromkeys(n for n, _ in chosen):
        spec, table = registry.get(name), base.table(name, "full")
        if why := config_problem(spec, table):  # today's settings reject the stored config
            print(why)
            failures += 1
            continue
        f, i = verify_units(spec, table, [k for n, k in chosen if n == name], seed)
        failures, inexact = failures + f, inexact + i
    return verdict_line(failures, inexact)
