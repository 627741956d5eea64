"""``weakness-repro``: run, inspect, verify and publish the reproduction.

    weakness-repro run <experiment|all> --scale smoke|full   compute what is missing (resumable)
    weakness-repro status [--scale smoke|full]              what is stored, with provenance
    weakness-repro verify <experiment> --sample k           re-train k stored units, compare bitwise
    weakness-repro compare <results-root>                   compare a rebuilt store with this one, bitwise
    weakness-repro book [--scale full]                      execute notebooks, build the book
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from weakness_lib.core.paths import SCALES

TIMING_MARKERS = ("wall", "_s")


def is_timing(field: str) -> bool:
    """Fields that legitimately differ between identical runs: bookkeeping and wall times."""
    return field.startswith("_") or field.endswith("_s") or "wall" in field


def differences(stored: Any, new: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Every (field path, stored, recomputed) pair that is not bit-identical (timings skipped)."""
    if isinstance(stored, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(stored) | set(new)):
            if k == "key" or is_timing(k):
                continue
            out += differences(stored.get(k), new.get(k), f"{path}.{k}" if path else k)
        return out
    if isinstance(stored, list) and isinstance(new, list) and len(stored) == len(new):
        return [d for i, (a, b) in enumerate(zip(stored, new)) for d in differences(a, b, f"{path}[{i}]")]
    return [] if stored == new else [(path, stored, new)]


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    import torch

    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def cmd_run(args: argparse.Namespace) -> int:
    from weakness_lib.studies import registry

    names = list(registry.SPECS) if args.experiment == "all" else [args.experiment]
    specs = [registry.get(n) for n in names]
    summary = []
    for spec in specs:
        print(f"== {spec.name} ({args.scale})", flush=True)
        start = time.perf_counter()
        try:
            result = spec.run(args.scale, progress=not args.quiet)
        except KeyboardInterrupt:
            print(f"\ninterrupted during {spec.name}: finished units are stored; "
                  f"rerun the same command to resume.", file=sys.stderr)
            return 130
        claims = result.get("claims") or [result.get("claim")]
        verdicts = ", ".join(f"{c.claim_id}: {c.verdict}" for c in claims if c is not None)
        summary.append((spec.name, time.perf_counter() - start, verdicts))
    print("\nexperiment                 time [s]  claims")
    for name, secs, verdicts in summary:
        print(f"{name:<26} {secs:8.1f}  {verdicts}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from weakness_lib.core.claims import load_claims
    from weakness_lib.studies import registry

    for scale in [args.scale] if args.scale else list(SCALES):
        claims = {c["claim_id"]: c for c in load_claims(scale)}
        print(f"== scale {scale}")
        for spec in registry.SPECS.values():
            try:
                tables = spec.tables(scale)
            except Exception as exc:  # a stale or unreadable table is reported, not fatal
                print(f"  {spec.name:<24} ERROR {exc}")
                continue
            for table in tables:
                if not table.path.exists():
                    print(f"  {spec.name:<24} not computed (config {table.hash})")
                    continue
                prov = table.provenance
                print(f"  {spec.name:<24} {len(table):4d} units  {table.total_wall_s():8.0f} s  "
                      f"commit {prov.get('git_commit', '?')[:12]}  torch {prov.get('torch')}  "
                      f"{prov.get('date')}  {table.path.name}")
            for cid in spec.claims:
                c = claims.get(cid)
                state = f"{c['verdict']} (our value {c['our_value']:.4g})" if c else "no claim file"
                print(f"      claim {cid}: {state}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from weakness_lib.core.store import _jsonable
    from weakness_lib.studies import registry

    spec = registry.get(args.experiment)
    recompute = spec.recompute_fn()
    if recompute is None:
        print(f"{spec.name} has no recompute hook; nothing to verify", file=sys.stderr)
        return 2
    failures = 0
    for table in spec.tables(args.scale):
        keys = table.keys()
        if not keys:
            print(f"{spec.name}: nothing stored at scale {args.scale}; run it first", file=sys.stderr)
            return 2
        unknown = [k for k in args.unit if k not in keys]
        if unknown:
            print(f"{spec.name}: no stored unit(s) {unknown}; stored: {keys}", file=sys.stderr)
            return 2
        chosen = args.unit or random.Random(args.seed).sample(keys, min(args.sample, len(keys)))
        n_threads = table.config.get("torch_threads") or table.provenance.get("torch_threads")
        print(f"verify {spec.name} ({args.scale}, {table.path.name}): {len(chosen)} of {len(keys)} "
              f"units, {n_threads} torch threads")
        print(f"  {'unit':<22} {'fields':>6}  result  first difference")
        for key in chosen:
            start = time.perf_counter()
            with torch_threads(n_threads):
                new = _jsonable(recompute(args.scale, key))
            stored = table.get(key)
            diffs = differences(stored, new)
            n_fields = len(differences(stored, {}))  # every compared leaf
            status = "PASS" if not diffs else "FAIL"
            failures += bool(diffs)
            first = "" if not diffs else f"{diffs[0][0]}: stored {diffs[0][1]!r} != new {diffs[0][2]!r}"
            print(f"  {key:<22} {n_fields:6d}  {status}    {first}  ({time.perf_counter() - start:.1f} s)",
                  flush=True)
    print("verify:", "PASS (every stored number reproduced bit for bit)" if not failures
          else f"FAIL ({failures} unit(s) differ)")
    return 1 if failures else 0


def compare_stores(other: Path, scale: str = "full") -> list[dict[str, Any]]:
    """Compare every table of another results root (``<other>/<scale>/<experiment>/<hash>.json``)
    with the same table of this project's store, unit by unit, bitwise (timings excluded)."""
    from weakness_lib.core.paths import results_root

    out = []
    for path in sorted((Path(other) / scale).glob("*/*.json")):
        if path.parent.name == "claims":
            continue
        mine = results_root(scale) / path.parent.name / path.name
        row: dict[str, Any] = {"experiment": path.parent.name, "table": path.name}
        if not mine.exists():
            out.append({**row, "status": "no table with this config hash here"})
            continue
        a = json.loads(mine.read_text(encoding="utf-8"))["rows"]
        b = json.loads(path.read_text(encoding="utf-8"))["rows"]
        common = sorted(set(a) & set(b))
        differing = [k for k in common if differences(a[k], b[k])]
        out.append({**row, "units_compared": len(common), "units_differing": len(differing),
                    "only_here": len(set(a) - set(b)), "only_there": len(set(b) - set(a)),
                    "status": "identical" if not differing else "DIFFERENT",
                    "first_differing": differing[:5]})
    return out


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


def cmd_book(args: argparse.Namespace) -> int:
    from weakness_lib.publish.book import build

    index, timings = build(args.scale, jobs=args.jobs)
    for name, secs in timings.items():
        print(f"{secs:8.1f} s  {name}")
    print(f"book: {index}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="weakness-repro", description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="compute an experiment (or all), resuming what is stored")
    r.add_argument("experiment", help="experiment name (see `status`) or 'all'")
    r.add_argument("--scale", choices=SCALES, default="smoke", help="smoke (seconds) or full (published)")
    r.add_argument("--quiet", action="store_true", help="hide progress bars")
    r.set_defaults(fn=cmd_run)
    s = sub.add_parser("status", help="list stored results and claims with provenance")
    s.add_argument("--scale", choices=SCALES, default=None, help="one scale only (default: both)")
    s.set_defaults(fn=cmd_status)
    v = sub.add_parser("verify", help="re-train sampled stored units and compare every number bitwise")
    v.add_argument("experiment", help="experiment name (see `status`)")
    v.add_argument("--sample", type=int, default=5, help="how many stored units to recompute (default 5)")
    v.add_argument("--scale", choices=SCALES, default="full", help="which results to verify (default full)")
    v.add_argument("--seed", type=int, default=0, help="seed of the random choice of units")
    v.add_argument("--unit", action="append", default=[], metavar="KEY",
                   help="verify this stored unit (repeatable; replaces the random sample)")
    v.set_defaults(fn=cmd_verify)
    c = sub.add_parser("compare", help="compare another results store (e.g. a clean-clone rebuild) with this one, bitwise")
    c.add_argument("other", help="results root of the other store (the folder holding full/ and smoke/)")
    c.add_argument("--scale", choices=SCALES, default="full", help="which scale to compare (default full)")
    c.set_defaults(fn=cmd_compare)
    b = sub.add_parser("book", help="execute every notebook and build the HTML book (what `make book` runs)")
    b.add_argument("--scale", choices=SCALES, default="full", help="which results the book shows")
    b.add_argument("--jobs", type=int, default=2, help="notebooks executed in parallel")
    b.set_defaults(fn=cmd_book)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.fn(args)
    except (KeyError, ValueError, RuntimeError, OSError) as exc:
        print(f"weakness-repro: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
