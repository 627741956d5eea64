"""``weakness-repro``: run, inspect, verify and publish the reproduction.

    weakness-repro run <study…|all> --scale smoke|full    compute what is missing, in dependency order
        [--workers N] [--scheduler tcp://HOST:PORT] [--device auto|cpu|cuda]
    weakness-repro status [--scale smoke|full]             what is stored, with provenance and verdicts
    weakness-repro verify <study> --sample k | --unit KEY  recompute stored units, compare bitwise
    weakness-repro verify all --sample 1 --log             every stored table (a CPU's first logs)
    weakness-repro verify-sample [--units 2] [--seed S]    verify random trained units of any study (CI)
    weakness-repro compare <results-root>                  compare another store with this one, bitwise
    weakness-repro migrate [--scale full]                  rename tables to the current hashing scheme
    weakness-repro book [--scale full]                     run all, execute the chapters, build the book
    weakness-repro numerics [--env]                        the pinned CPU dispatch of this process
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from weakness_lib.core.paths import SCALES
from weakness_lib.engine.compare import compare_stores


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def cmd_run(args: argparse.Namespace) -> int:
    from weakness_lib.engine import registry
    from weakness_lib.engine.runner import run_studies

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
    from weakness_lib.engine import base, registry

    for scale in [args.scale] if args.scale else list(SCALES):
        claims = {c["claim_id"]: c for c in load_claims(scale)}
        print(f"== scale {scale}")
        for s in registry.STUDIES.values():
            try:
                t = base.table(s.name, scale)
                expected = [k for stage in s.load().units(base.typed(t.config)) for k in stage]
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


def cmd_verify(args: argparse.Namespace) -> int:
    """Recompute stored units of one study and compare them bitwise (:mod:`~weakness_lib.engine.verify`)."""
    from weakness_lib.engine.verify import verify_all, verify_study

    if args.study == "all":
        if args.unit:
            print("verify all: --unit names a unit of one study; give the study, or --sample for all",
                  file=sys.stderr)
            return 2
        return verify_all(args.scale, sample=args.sample, seed=args.seed, log=args.log)
    return verify_study(args.study, args.scale, sample=args.sample, seed=args.seed,
                        units=args.unit, log=args.log)


def cmd_verify_sample(args: argparse.Namespace) -> int:
    """Verify a random sample of trained full-scale units, across every study whose table was
    computed under numerics this process reproduces, within a time budget (CI calls it)."""
    from weakness_lib.engine.verify import verify_sample

    return verify_sample(args.units, args.seed, args.max_unit_s)


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
    v.add_argument("study", help="study name (see `status`), or 'all': every stored table in turn")
    v.add_argument("--sample", type=_positive, default=5, help="how many stored units (default 5, ≥ 1)")
    v.add_argument("--scale", choices=SCALES, default="full", help="which results (default full)")
    v.add_argument("--seed", type=int, default=0, help="seed of the random choice of units")
    v.add_argument("--unit", action="append", default=[], metavar="KEY",
                   help="verify this stored unit (repeatable; replaces the random sample)")
    v.add_argument("--log", action="store_true",
                   help="also write the output to results/<scale>/verify/<CPU family>/<study>.txt")
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
