"""How long the book takes to build, and where the time goes.

``smoke``: ``weakness_lib.publish.book.build("smoke")`` — exactly what ``make book SCALE=smoke`` runs
(every study computed by the runner on the embedded Dask cluster, then every notebook executed
by papermill, 2 kernels in parallel, then ``jupyter-book build -W``) — into a temporary folder with an **empty** results store
(``WEAKNESS_RESULTS`` pointed at a fresh folder). Records the total wall time and the
per-notebook execution times the build reports. Target: ≤ 5 min.

``full-estimate``: the paper-scale book from a clean clone must recompute every stored unit of
every experiment. Its cost is **estimated** (not measured) from the committed results store:
for each pre-registered experiment (``configs/*.yaml``) the table ``results/full/<exp>/<hash>.json``
of its current config records the wall time of every unit it computed (``_wall_s``) and the
provenance of the machine. The estimate is Σ unit wall times (units ran one at a time, so the
sum is what a serial rebuild costs on the machine they ran on) plus the smoke build's notebook
and ``jupyter-book`` overhead. Experiments with no stored table, or fewer units than their
config asks for, are listed as missing/incomplete (extrapolated where the unit count is known).
Target: ≤ 45 min on 2 cores.

``full-clean``: the real measurement (``build("full")`` into a temporary folder with an empty
store). It takes as long as every experiment together; run only when asked.

``clean-clone-log``: record a measured clean-clone build from its log (``--log``) and compare the
store it wrote (``--fresh-results``) with the committed one, unit by unit, bitwise.

Run:  .venv/bin/python benchmarks/bench_book.py [smoke] [full-estimate] [full-clean] [clean-clone-log]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Machine, write_results  # noqa: E402

from weakness_lib.core.config import experiment_config, settings_hash  # noqa: E402
from weakness_lib.core.paths import configs_dir, project_root  # noqa: E402
from weakness_lib.engine.registry import STUDIES  # noqa: E402
from weakness_lib.engine.runner import run_studies  # noqa: E402
from weakness_lib.publish.book import BookError, execute_all, jupyter_book, stage  # noqa: E402

#: config keys that give the number of units an experiment's table should hold, where known
UNIT_KEYS = ("n_networks",)


def timed_build(scale: str, keep: Path | None = None) -> dict:
    """Build the book at ``scale`` (as ``weakness_lib.publish.book.build``) into a temp folder (or
    ``keep``) with an empty results store; per-step times are kept even if a step fails."""
    with tempfile.TemporaryDirectory(prefix=f"book_{scale}_") as tmp:
        out = Path(keep) if keep is not None else Path(tmp)
        saved = os.environ.get("WEAKNESS_RESULTS")
        os.environ["WEAKNESS_RESULTS"] = str(out / "results")
        error = None
        timings: dict[str, float] = {}
        try:
            start = time.perf_counter()
            staging = out / "_build" / "src"
            stage(staging)
            try:
                t0 = time.perf_counter()
                run_studies(list(STUDIES), scale, progress=False)
                timings["weakness-repro run all"] = time.perf_counter() - t0
                timings.update(execute_all(scale, staging / "book" / "generated", jobs=2))
                t0 = time.perf_counter()
                try:
                    jupyter_book(staging, out)
                finally:
                    timings["jupyter-book build"] = time.perf_counter() - t0
            except (BookError, RuntimeError) as exc:
                error = str(exc)[-3000:]
            total = time.perf_counter() - start
        finally:
            if saved is None:
                os.environ.pop("WEAKNESS_RESULTS", None)
            else:
                os.environ["WEAKNESS_RESULTS"] = saved
    notebooks = {k: v for k, v in timings.items() if k.endswith(".ipynb")}
    return {"scale": scale, "total_wall_s": total, "timings_s": timings,
            "notebooks_sum_s": sum(notebooks.values()),
            "jupyter_book_s": timings.get("jupyter-book build"),
            "succeeded": error is None, "error": error,
            "note": "chapters run 2 at a time (jobs=2), so the notebook times overlap; "
                    "total_wall_s is the elapsed time of the whole build"}


def stored_experiment(name: str) -> dict:
    """Unit count and Σ unit wall time of the full-scale table of ``name``'s current config."""
    cfg = experiment_config(name, "full")
    exp = cfg.get("experiment", name)
    path = project_root() / "results" / "full" / exp / f"{settings_hash(cfg)}.json"
    row: dict = {"experiment": exp, "table": str(path.relative_to(project_root()))}
    if not path.exists():
        others = sorted(p.name for p in path.parent.glob("*.json")) if path.parent.exists() else []
        return {**row, "status": "missing", "stale_tables": others}
    data = json.loads(path.read_text(encoding="utf-8"))
    rows = data.get("rows", {})
    walls = [float(r.get("_wall_s", 0.0)) for r in rows.values()]
    row.update({"units": len(rows), "sum_wall_s": sum(walls),
                "max_unit_wall_s": max(walls, default=0.0),
                "provenance": {k: data.get("provenance", {}).get(k)
                               for k in ("git_commit", "torch_threads", "date", "platform")}})
    expected = next((int(cfg[k]) for k in UNIT_KEYS if k in cfg), None)
    if expected is not None:
        row["expected_units"] = expected
        row["status"] = "complete" if len(rows) >= expected else "incomplete"
        if rows and len(rows) < expected:
            row["extrapolated_sum_wall_s"] = sum(walls) * expected / len(rows)
    else:
        row["status"] = "stored (unit count not declared in config)"
    return row


def full_estimate(smoke: dict | None) -> dict:
    names = sorted(p.stem for p in configs_dir().glob("*.yaml"))
    rows = []
    for name in names:
        try:
            rows.append(stored_experiment(name))
        except Exception as exc:  # a config without a full section, etc.
            rows.append({"experiment": name, "status": f"no full config ({type(exc).__name__}: {exc})"})
    compute = sum(r.get("extrapolated_sum_wall_s", r.get("sum_wall_s", 0.0)) for r in rows)
    overhead = smoke["total_wall_s"] if smoke else None
    missing = [r["experiment"] for r in rows if r.get("status") in ("missing",)]
    incomplete = [r["experiment"] for r in rows if r.get("status") == "incomplete"]
    return {"label": "ESTIMATE from stored unit wall times, not a measured clean-clone build",
            "experiments": rows, "compute_s": compute,
            "overhead_s_from_smoke_build": overhead,
            "estimate_total_s": compute + (overhead or 0.0),
            "missing": missing, "incomplete": incomplete,
            "complete_estimate": not missing and not incomplete}


def clean_clone_log(log: Path, fresh_results: Path | None) -> dict:
    """A measured paper-scale build from a clean clone with an empty store, read from the output of
    ``WEAKNESS_RESULTS=<empty> make book`` (per-notebook times and the ``EXIT … after N s`` line
    written by the wrapper), plus the bitwise comparison of the rebuilt store with the committed one."""
    import re

    from weakness_lib.engine.compare import compare_stores

    text = log.read_text(encoding="utf-8", errors="replace")
    timings = {m.group(2): float(m.group(1))
               for m in re.finditer(r"^\s+([0-9.]+) s\s+(\S.*?)\s*$", text, re.M)}
    total = re.search(r"EXIT (\d+) after (\d+) s", text)
    from weakness_lib.core.cpu import cpu_model

    out = {"label": "MEASURED: make book (full) in a fresh clone, WEAKNESS_RESULTS pointed at an "
                    "empty folder, venv created by make; every study's units on the embedded Dask "
                    "cluster (one worker per core), then 2 notebooks at a time",
           "cpu": cpu_model(),
           "timings_s": timings, "exit_code": int(total.group(1)) if total else None,
           "total_wall_s": float(total.group(2)) if total else None,
           "notebooks_sum_s": sum(v for k, v in timings.items() if k.endswith(".ipynb"))}
    if fresh_results is not None:
        out["bitwise_comparison_with_committed_store"] = compare_stores(fresh_results, "full")
        out["claims_rebuilt_vs_committed"] = claims_comparison(fresh_results / "full" / "claims")
    return out


def claims_comparison(rebuilt: Path) -> list[dict]:
    """Per claim: the committed and the rebuilt value, CI and verdict."""
    rows = []
    for path in sorted((project_root() / "results" / "full" / "claims").glob("*.json")):
        a = json.loads(path.read_text(encoding="utf-8"))
        other = rebuilt / path.name
        b = json.loads(other.read_text(encoding="utf-8")) if other.exists() else {}
        rows.append({"claim": a["claim_id"], "committed": a["our_value"], "rebuilt": b.get("our_value"),
                     "committed_ci95": a["ci95"], "rebuilt_ci95": b.get("ci95"),
                     "committed_verdict": a["verdict"], "rebuilt_verdict": b.get("verdict")})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", nargs="*", default=["smoke", "full-estimate"],
                    choices=["smoke", "full-estimate", "full-clean", "clean-clone-log"])
    ap.add_argument("--log", type=Path, default=None,
                    help="clean-clone-log: output of `WEAKNESS_RESULTS=<empty> make book` in a fresh clone")
    ap.add_argument("--fresh-results", type=Path, default=None,
                    help="clean-clone-log: the results root that build wrote, compared bitwise")
    ap.add_argument("--keep", type=Path, default=None,
                    help="build the smoke book into this folder and keep it (default: a temp dir)")
    args = ap.parse_args(argv)
    machine = Machine()
    results: dict = {}
    if "smoke" in args.what:
        results["smoke"] = timed_build("smoke", args.keep)
        print(f"smoke book: {results['smoke']['total_wall_s']:.0f} s "
              f"({'built' if results['smoke']['succeeded'] else 'FAILED'})", flush=True)
    if "full-estimate" in args.what:
        results["full_estimate"] = full_estimate(results.get("smoke"))
        print(f"full book estimate: {results['full_estimate']['estimate_total_s']:.0f} s "
              f"(missing {results['full_estimate']['missing']}, "
              f"incomplete {results['full_estimate']['incomplete']})", flush=True)
    if "full-clean" in args.what:
        results["full_clean"] = timed_build("full")
    if "clean-clone-log" in args.what:
        if args.log is None:
            ap.error("clean-clone-log needs --log")
        results["full_clean_clone"] = clean_clone_log(args.log, args.fresh_results)
        print(f"clean-clone full book: {results['full_clean_clone']['total_wall_s']} s", flush=True)
    setup = {"what": args.what, "jobs": 2,
             "data_cache": "the decompressed MNIST/Fashion-MNIST cache was kept (≈ seconds)"}
    print(write_results("book", machine, setup, results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
