"""Speed-up of the study runner with 1 vs 2 Dask workers on this machine.

Two workloads, each run from an **empty** results store with ``--workers 1`` (units in the driver
process, the serial reference) and ``--workers 2`` (embedded ``LocalCluster``, two processes, one
torch thread each), timed end to end as ``weakness-repro run`` does it (cluster start-up, every unit,
summary, analysis and claims included):

* ``smoke``: every study of the book at smoke scale (``run all --scale smoke``);
* ``head_to_head_20``: the registered MNIST head-to-head recipe at full scale (784-256-256-10,
  n = 5,000, 15 epochs, every measure) restricted to its first 20 networks — a copy of
  ``configs/head_to_head_mnist.yaml`` with ``full.n_networks = 20`` in a temporary configs folder.

``units_phase_s`` is the time until the last unit is stored (cluster start included), ``finalise_s``
the serial part done by the driver afterwards (summary statistics, analysis, claims). Both runs of
a workload must store bit-identical rows (checked with
:func:`weakness_lib.engine.compare.compare_stores`); the JSON records wall times, the speed-up
(target ≥ 1.8× for the 20-network study) and the comparison.

Run:  nice -n 10 .venv/bin/python benchmarks/bench_runner.py [smoke] [head_to_head_20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

import weakness_lib  # noqa: F401  (pins numerics before _common loads numpy and torch: the runner refuses otherwise)

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Machine, write_results  # noqa: E402

from weakness_lib.core.config import yaml_load  # noqa: E402
from weakness_lib.core.paths import configs_dir  # noqa: E402
from weakness_lib.engine.compare import compare_stores  # noqa: E402
from weakness_lib.engine.registry import STUDIES  # noqa: E402
from weakness_lib.engine.runner import run_studies  # noqa: E402


def _timed_run(names: list[str], scale: str, workers: int, results: Path, configs: Path) -> dict:
    os.environ["WEAKNESS_RESULTS"] = str(results)
    os.environ["WEAKNESS_CONFIGS"] = str(configs)
    start = time.perf_counter()
    reports = run_studies(names, scale, workers=workers, device="cpu", explicit=True, progress=False)
    wall = time.perf_counter() - start
    return {"workers": workers, "wall_s": round(wall, 2),
            "units_computed": sum(r.computed for r in reports),
            "per_study_s": {r.name: round(r.wall_s, 2) for r in reports},
            "units_phase_s": round(max(r.compute_s for r in reports), 2),
            "finalise_s": round(sum(r.finalise_s for r in reports), 2)}


def workload(label: str, names: list[str], scale: str, configs: Path, tmp: Path) -> dict:
    runs = {}
    for workers in (1, 2):
        runs[workers] = _timed_run(names, scale, workers, tmp / f"{label}_w{workers}", configs)
        print(f"{label}: {workers} worker(s) {runs[workers]['wall_s']:.1f} s "
              f"({runs[workers]['units_computed']} units)", flush=True)
    comparison = compare_stores(tmp / f"{label}_w2", scale, mine=tmp / f"{label}_w1" / scale)
    return {"names": names, "scale": scale, "runs": list(runs.values()),
            "speedup": round(runs[1]["wall_s"] / runs[2]["wall_s"], 3),
            "units_phase_speedup": round(runs[1]["units_phase_s"] / runs[2]["units_phase_s"], 3),
            "bitwise_identical": all(r["status"] == "identical" for r in comparison),
            "comparison": comparison}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", nargs="*", help="workloads: smoke, head_to_head_20 (default: both)")
    args = ap.parse_args(argv)
    args.what = args.what or ["smoke", "head_to_head_20"]
    unknown = set(args.what) - {"smoke", "head_to_head_20"}
    if unknown:
        ap.error(f"unknown workload {', '.join(sorted(unknown))}; choose smoke or head_to_head_20")
    machine = Machine()
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench_runner_") as tmpdir:
        tmp = Path(tmpdir)
        if "smoke" in args.what:
            results["smoke"] = workload("smoke", list(STUDIES), "smoke", configs_dir(), tmp)
        if "head_to_head_20" in args.what:
            configs = tmp / "configs"
            shutil.copytree(configs_dir(), configs)
            path = configs / "head_to_head_mnist.yaml"
            reg = yaml_load(path.read_text(encoding="utf-8"))
            reg["full"]["n_networks"] = 20
            path.write_text(yaml.safe_dump(reg, sort_keys=False, allow_unicode=True), encoding="utf-8")
            results["head_to_head_20"] = workload("head_to_head_20", ["head_to_head_mnist"], "full",
                                                  configs, tmp)
    setup = {"what": args.what, "cores": os.cpu_count(), "threads_per_worker": 1,
             "target": "speed-up ≥ 1.8× with 2 workers on the 20-network study",
             "timing": "end to end from an empty store: cluster start, units, summary, claims"}
    print(write_results("runner", machine, setup, results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
