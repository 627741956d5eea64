"""Compute time of the confirmatory studies of chapter 05b (issue: ≤ 90 min from an empty store on
2 cores with the parallel runner), recorded from the stored tables and the run's log.

Per study: units, the sum of per-unit wall times (training and measuring), and the elapsed time
from the first to the last stored unit; for the whole run: the wall time of the one
``weakness-repro run … --scale full --workers 2`` command that computed them from an empty store
(its start/end stamps and ``/usr/bin/time -v`` log are passed in), and what else ran on the machine.

Run:  .venv/bin/python benchmarks/record_confirmatory.py START_ISO END_ISO "NOTE"
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Machine, write_results  # noqa: E402

from weakness_lib.engine import base  # noqa: E402
from weakness_lib.studies.bennett.networks import wall_time  # noqa: E402

STUDIES = ("replication_mnist", "replication_fmnist", "robustness_population", "scale_60k_mnist")


def main(start: str, end: str, note: str) -> Path:
    machine = Machine()
    per_study = {}
    for s in STUDIES:
        t = base.load_table(s, "full")
        w = wall_time(t)
        per_study[s] = {"units": len(t.rows()), "unit_wall_sum_s": w["compute_s"],
                        "train_s": w["train_s"], "measure_s": w["measure_s"],
                        "first_to_last_unit_s": w["elapsed_s"], "mean_unit_s": w["per_unit_s"]}
    total = (pd.Timestamp(end) - pd.Timestamp(start)).total_seconds()
    results = {"per_study": per_study, "run_wall_s": total, "run_wall_min": total / 60,
               "budget_min": 90, "within_budget": total <= 90 * 60,
               "unit_wall_sum_s": sum(v["unit_wall_sum_s"] for v in per_study.values()),
               "note": note}
    return write_results("confirmatory_compute", machine,
                         {"command": "weakness-repro run replication_mnist replication_fmnist "
                                     "robustness_population scale_60k_mnist --scale full --workers 2",
                          "start": start, "end": end, "store": "empty at start"}, results)


if __name__ == "__main__":
    print(main(*sys.argv[1:4]))
