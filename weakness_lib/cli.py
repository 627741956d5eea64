"""``weakness-repro``: run, inspect, verify and publish the reproduction.

    weakness-repro run <study…|all> --scale smoke|full    compute what is missing, in dependency order
        [--workers N] [--scheduler tcp://HOST:PORT] [--device auto|cpu|cuda]
    weakness-repro status [--scale smoke|full]             what is stored, with provenance and verdicts
    weakness-repro verify <study> --sample k | --unit KEY  recompute stored units, compare bitwise
    weakness-repro verify-sample [--units 2] [--seed S]    verify random trained units of any study (CI)
    weakness-repro compare <results-root>                  compare another store with this one, bitwise
    weakness-repro migrate [--scale full]                  rename tables to the current hashing scheme
    weakness-repro book [--scale full]                     run all, execute the chapters, build the book
    weakness-repro numerics [--env]                        the pinned CPU dispatch of this process
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import io
import os
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from weakness_lib.core.paths import SCALES
from weakness_lib.core.store import _jsonable
from weakness_lib.publish.compare import compare_stores, differences

#: stored fields that verify compares within a registered relative tolerance (config key), not
#: bitwise: λ_max is now computed by certified Lanczos instead of the ARPACK path the committed
#: results used, within the registered ``lanczos_tol``
TOLERANCES: dict[str, str] = {"lambda_max": "lanczos_tol"}
#: diagnostics of that solver (products used, residual reached), not results: reported, not compared
DIAGNOSTICS: frozenset[str] = frozenset({"lambda_max_residual", "n_hvp", "lanczos_hvps",
                                         "lanczos_residual"})


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def cmd_run(args: argparse.Namespace) -> int:
    from weakness_lib.studies import registry
    from weakness_lib.studies.runner import run_studies

    names = list(registry.STUDIES) if args.study == ["all"] else args.study
    for n in names:
        registry.get(n)  # unknown names fail before anything starts
    start = time.perf_counter()
    try:
        reports = run_studies(names, args.scale, workers=args.workers, scheduler=args.scheduler,
                              device=args.device, explicit=args.study != ["all"],
                              progress=not args.quiet)
    except KeyboardInterrupt:
        print("\ninterrupted: finished units are stored; rerun the same command to resume.",
              file=sys.stderr)
        return 130
    print(f"\n{'study':<22} {'units':>5} {'computed':>8} {'time [s]':>9}  claims")
    for r in reports:
        verdicts = ", ".join(f"{c}: {v}" + (" (written)" if c in r.claims_written else "")
                             for c, v in r.verdicts.items())
        print(f"{r.name:<22} {r.units:5d} {r.computed:8d} {r.wall_s:9.1f}  {verdicts}")
    print(f"run: {sum(r.computed for r in reports)} unit(s) computed in "
          f"{time.perf_counter() - start:.1f} s")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from weakness_lib.core.claims import load_claims
    from weakness_lib.studies import base, registry

    for scale in [args.scale] if args.scale else list(SCALES):
        claims = {c["claim_id"]: c for c in load_claims(scale)}
        print(f"== scale {scale}")
        for s in registry.STUDIES.values():
            try:
                t = base.table(s.name, scale)
                expected = [k for stage in s.load().units(t.config) for k in stage]
            except Exception as exc:  # a stale or unreadable table is reported, not fatal
                print(f"  {s.name:<22} ERROR {exc}")
                continue
            done = sum(k in t for k in expected)
            prov = t.provenance if t.path.exists() else {}
            state = "complete" if done == len(expected) else f"{len(expected) - done} missing"
            print(f"  {s.name:<22} {done:4d}/{len(expected):<4d} units {state:<11} "
                  f"{t.total_wall_s():8.0f} s  config {t.hash}  "
                  f"commit {str(prov.get('git_commit', '—'))[:12]}  {prov.get('date', '')}")
            for cid in s.claims:
                c = claims.get(cid)
                line = f"{c['verdict']} (our value {c['our_value']:.4g})" if c else "no claim file"
                print(f"      claim {cid}: {line}")
    return 0


def _near(key: str, keys: list[str]) -> str:
    near = difflib.get_close_matches(key, keys, n=3, cutoff=0.4)
    return f"did you mean {', '.join(near)}?" if near else f"{len(keys)} units are stored, e.g. {', '.join(keys[:3])}"


def _compare_row(stored: dict[str, Any], new: dict[str, Any], cfg: dict[str, Any]) -> tuple[list, list]:
    """(differences that fail, differences excused: solver diagnostics or within tolerance)."""
    diffs, excused = [], []
    for path, a, b in differences(stored, new):
        leaf = path.rsplit(".", 1)[-1].split("[", 1)[0]
        if leaf in DIAGNOSTICS:
            excused.append(path)
            continue
        tol_key = TOLERANCES.get(leaf)
        if tol_key and isinstance(a, float) and isinstance(b, float):
            if abs(a - b) <= float(cfg.get(tol_key, 0.0)) * abs(a):
                excused.append(path)
                continue
        diffs.append((path, a, b))
    return diffs, excused


def _verify_units(spec: Any, table: Any, chosen: list[str], seed: int | None) -> tuple[int, int]:
    """Recompute ``chosen`` units of ``table`` and print one line each: (failures, inexact)."""
    from weakness_lib.core import numerics
    from weakness_lib.core.provenance import cpu_model
    from weakness_lib.studies import base

    module = spec.load()
    n_threads = table.config.get("torch_threads") or table.provenance.get("torch_threads")
    tol = {f: table.config[k] for f, k in TOLERANCES.items() if k in table.config}
    print(f"verify {spec.name} ({table.config.get('scale')}, {table.path.name}): {len(chosen)} of "
          f"{len(table)} units, {n_threads} torch threads, {numerics.describe(numerics.record())} "
          f"on {cpu_model()}" + (f"; seed {seed}" if seed is not None else "") + "; bitwise"
          + (f" except {tol} (relative)" if tol else "")
          + f"; solver diagnostics {sorted(DIAGNOSTICS)} not compared")
    w = max(22, *(len(k) for k in chosen))
    print(f"  {'unit':<{w}} {'fields':>6}  result  first difference")
    failures = inexact = 0
    for key in chosen:
        start = time.perf_counter()
        with base.threads(n_threads):
            new = _jsonable({k: v for k, v in module.compute_unit(table.config, key).items()
                             if k != "_artifacts"})
        stored = table.get(key)
        diffs, excused = _compare_row(stored, new, table.config)
        failures += bool(diffs)
        inexact += bool(excused) and not diffs
        first = ("bit for bit" if not excused else f"excused: {', '.join(excused)}") if not diffs \
            else f"{diffs[0][0]}: stored {diffs[0][1]!r} != new {diffs[0][2]!r}"
        print(f"  {key:<{w}} {len(differences(stored, {})):6d}  {'FAIL' if diffs else 'PASS'}    "
              f"{first}  ({time.perf_counter() - start:.1f} s)", flush=True)
    return failures, inexact


def _verdict_line(failures: int, inexact: int) -> int:
    if failures:
        print(f"verify: FAIL ({failures} unit(s) differ)")
    elif inexact:
        print(f"verify: PASS (every stored number reproduced; {inexact} unit(s) only within the "
              "tolerance or in solver diagnostics)")
    else:
        print("verify: PASS (every stored number reproduced bit for bit, diagnostics included)")
    return 1 if failures else 0


def cmd_verify(args: argparse.Namespace) -> int:
    from weakness_lib.core import numerics
    from weakness_lib.studies import base, registry

    spec = registry.get(args.study)
    table = base.table(spec.name, args.scale)
    keys = table.keys()
    if not keys:
        print(f"{spec.name}: nothing stored at scale {args.scale}; run it first", file=sys.stderr)
        return 2
    unknown = [k for k in args.unit if k not in table]
    if unknown:
        print(f"{spec.name}: no stored unit {unknown[0]}; {_near(unknown[0], keys)}", file=sys.stderr)
        return 2
    ok, why = numerics.table_comparable(table)
    if not ok:
        print(f"verify: refusing to compare {spec.name} bitwise: {why}", file=sys.stderr)
        return 2
    chosen = args.unit or random.Random(args.seed).sample(keys, min(args.sample, len(keys)))
    with _log_to(verify_log(spec.name) if args.log else None):
        return _verdict_line(*_verify_units(spec, table, chosen, None if args.unit else args.seed))


def verify_log(name: str) -> Path:
    """``results/full/verify/<cpu family>/<name>.txt``: one folder of logs per CPU family."""
    from weakness_lib.core.paths import results_root
    from weakness_lib.core.provenance import cpu_family

    return results_root("full") / "verify" / cpu_family() / f"{name}.txt"


class _Tee:
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
def _log_to(path: Path | None) -> Iterator[None]:
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
        from weakness_lib.core.store import atomic_write_text

        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, buf.getvalue())
        print(f"log: {path}")


def cmd_verify_sample(args: argparse.Namespace) -> int:
    """Verify a random sample of trained full-scale units, across every study whose table was
    computed under numerics this process reproduces, within a time budget (CI calls it)."""
    from weakness_lib.core import numerics
    from weakness_lib.studies import base, registry

    seed = args.seed if args.seed is not None else int(time.time()) % 1_000_000
    pool: list[tuple[str, str, float]] = []
    skipped = []
    for spec in registry.STUDIES.values():
        if not getattr(spec.load(), "TRAINS", True):
            continue
        table = base.table(spec.name, "full")
        if not len(table):
            continue
        if not numerics.table_comparable(table)[0]:
            skipped.append(spec.name)
            continue
        first = set(spec.load().units(table.config)[0])  # later stages may retrain their input
        pool += [(spec.name, r["key"], float(r.get("_wall_s") or 0.0)) for r in table.rows()
                 if r["key"] in first and float(r.get("_wall_s") or 0.0) <= args.max_unit_s]
    print(f"verify-sample: seed {seed} (rerun: weakness-repro verify-sample --seed {seed}); "
          f"{len(pool)} trained first-stage unit(s) of ≤ {args.max_unit_s:g} s stored under numerics this "
          f"machine reproduces" + (f"; not comparable here: {', '.join(skipped)}" if skipped else ""))
    if len(pool) < args.units:
        print(f"verify-sample: only {len(pool)} eligible unit(s), {args.units} asked for; "
              "recompute the store under pinned numerics (README, Numerics)", file=sys.stderr)
        return 2
    chosen = random.Random(seed).sample(pool, args.units)
    failures = inexact = 0
    for name in dict.fromkeys(n for n, _, _ in chosen):
        spec, table = registry.get(name), base.table(name, "full")
        f, i = _verify_units(spec, table, [k for n, k, _ in chosen if n == name], seed)
        failures, inexact = failures + f, inexact + i
    return _verdict_line(failures, inexact)


def cmd_numerics(args: argparse.Namespace) -> int:
    from weakness_lib.core import numerics

    if args.env:  # for remote Dask workers: `env $(weakness-repro numerics --env) dask worker …`
        print(" ".join(f"{k}={v}" for k, v in numerics.worker_env().items()))
        return 0
    rec = numerics.record()
    print(f"numerics: {numerics.describe(rec)} ({rec['kernels']} kernels, MKL branch "
          f"{rec['mkl_cbwr_branch']}, numpy {rec['numpy']})")
    for k, v in rec["env"].items():
        print(f"  {k}={v}")
    for p in rec["not_pinned"]:
        print(f"  not pinned: {p}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    rows = compare_stores(Path(args.other), args.scale)
    if not rows:
        print(f"no tables under {args.other}/{args.scale}", file=sys.stderr)
        return 2
    for r in rows:
        print(f"  {r['experiment']:<22} {r.get('units_compared', 0):5d} units  {r['status']}"
              + (f"  e.g. {r['first_differing']}" if r.get("first_differing") else ""))
    bad = [r for r in rows if r["status"] != "identical"]
    print("compare:", "every common unit is bit-identical" if not bad else f"{len(bad)} table(s) differ")
    return 1 if bad else 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from weakness_lib.core.migrate import migrate_store
    from weakness_lib.core.paths import results_root

    for r in migrate_store(results_root(args.scale)):
        print(f"  {r['table']}: {r['status']}")
    return 0


def cmd_book(args: argparse.Namespace) -> int:
    from weakness_lib.publish.book import build

    index, timings = build(args.scale, jobs=args.jobs, workers=args.workers,
                           scheduler=args.scheduler, device=args.device)
    for name, secs in timings.items():
        print(f"{secs:8.1f} s  {name}")
    print(f"book: {index}")
    return 0


def _execution_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", type=_positive, default=None,
                   help="Dask worker processes of the embedded LocalCluster (default: one per core; "
                        "1 runs units in this process)")
    p.add_argument("--scheduler", default=os.environ.get("WEAKNESS_SCHEDULER"),
                   metavar="tcp://HOST:PORT",
                   help="submit units to an existing Dask scheduler (default $WEAKNESS_SCHEDULER; "
                        "waits $WEAKNESS_SCHEDULER_TIMEOUT s for it, default 10)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="where training and curvature run (default auto: cuda if visible; CPU "
                        "results are the bitwise reference)")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="weakness-repro", description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="compute studies (or all), resuming what is stored")
    r.add_argument("study", nargs="+", help="study names (see `status`) or 'all'")
    r.add_argument("--scale", choices=SCALES, default="smoke", help="smoke (seconds) or full (published)")
    r.add_argument("--quiet", action="store_true", help="hide progress bars")
    _execution_options(r)
    r.set_defaults(fn=cmd_run)
    s = sub.add_parser("status", help="list stored results and claims with provenance")
    s.add_argument("--scale", choices=SCALES, default=None, help="one scale only (default: both)")
    s.set_defaults(fn=cmd_status)
    v = sub.add_parser("verify", help="recompute sampled stored units and compare every number")
    v.add_argument("study", help="study name (see `status`)")
    v.add_argument("--sample", type=_positive, default=5, help="how many stored units (default 5, ≥ 1)")
    v.add_argument("--scale", choices=SCALES, default="full", help="which results (default full)")
    v.add_argument("--seed", type=int, default=0, help="seed of the random choice of units")
    v.add_argument("--unit", action="append", default=[], metavar="KEY",
                   help="verify this stored unit (repeatable; replaces the random sample)")
    v.add_argument("--log", action="store_true",
                   help="also write the output to results/full/verify/<CPU family>/<study>.txt")
    v.set_defaults(fn=cmd_verify)
    vs = sub.add_parser("verify-sample", help="verify random trained full-scale units of any study "
                        "(what CI runs)")
    vs.add_argument("--units", type=_positive, default=2, help="how many units (default 2)")
    vs.add_argument("--seed", type=int, default=None, help="seed of the choice (default: from the clock, printed)")
    vs.add_argument("--max-unit-s", type=float, default=25.0,
                    help="only first-stage units whose stored wall time is at most this (default 25 s)")
    vs.set_defaults(fn=cmd_verify_sample)
    c = sub.add_parser("compare", help="compare another results store with this one, bitwise")
    c.add_argument("other", help="results root of the other store (holding full/ and smoke/)")
    c.add_argument("--scale", choices=SCALES, default="full", help="which scale (default full)")
    c.set_defaults(fn=cmd_compare)
    m = sub.add_parser("migrate", help="rename stored tables to the current settings hash (no recompute)")
    m.add_argument("--scale", choices=SCALES, default="full")
    m.set_defaults(fn=cmd_migrate)
    n = sub.add_parser("numerics", help="show the pinned CPU dispatch (or print it as environment)")
    n.add_argument("--env", action="store_true", help="print KEY=VALUE pairs for a worker's environment")
    n.set_defaults(fn=cmd_numerics)
    b = sub.add_parser("book", help="run all, execute every chapter and build the HTML book")
    b.add_argument("--scale", choices=SCALES, default="full", help="which results the book shows")
    b.add_argument("--jobs", type=_positive, default=2, help="notebooks executed in parallel")
    _execution_options(b)
    b.set_defaults(fn=cmd_book)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.fn(args)
    except KeyboardInterrupt:
        print("\nweakness-repro: interrupted; finished units are stored, rerun to resume",
              file=sys.stderr)
        return 130
    except BrokenPipeError:  # `weakness-repro status | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (KeyError, ValueError, RuntimeError, OSError) as exc:  # NumericsError included
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"weakness-repro: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
