"""Shared helpers of the benchmark scripts: machine facts, load, the common model and batch, JSON.

Every results file ``benchmarks/results/<name>.json`` holds ``machine`` (CPU model, cores,
load average at start and end, whether the machine was shared), ``environment``
(:func:`weakness_lib.core.provenance.environment`: git commit, torch version, threads, date) and the
benchmark's own ``setup`` and ``results``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from weakness_lib.core.cpu import cpu_model  # noqa: F401  (re-exported: the benchmarks' CPU name)
from weakness_lib.core.provenance import environment

RESULTS = Path(__file__).resolve().parent / "results"
THREADS = 2
#: the MNIST model every curvature benchmark uses (weakness_lib.bennett.models default widths)
WIDTHS = (784, 256, 256, 10)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


class Machine:
    """Records the machine and its load at start and end of a benchmark run."""

    def __init__(self) -> None:
        self.start = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "loadavg_1_5_15": load_average()}

    def finish(self) -> dict[str, Any]:
        end = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "loadavg_1_5_15": load_average()}
        cores = os.cpu_count() or 1
        shared = max(self.start["loadavg_1_5_15"][0], end["loadavg_1_5_15"][0]) > 0.5 * cores
        return {
            "cpu": cpu_model(),
            "logical_cores": cores,
            "start": self.start,
            "end": end,
            "shared_machine": shared,
            "note": (
                "timings taken while other jobs ran on this 2-core machine (load average above "
                "half the core count); wall times are inflated and noisy, counts of HVPs/probes "
                "are not affected" if shared else "machine otherwise idle"
            ),
            "niceness": os.nice(0),
        }


def setup_torch(threads: int = THREADS) -> None:
    torch.set_num_threads(threads)
    torch.manual_seed(0)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """``(fn(), wall seconds)``."""
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def write_json(path: Path, payload: Any) -> Path:
    """Write ``payload`` as every results file is written: indented, keys sorted, one trailing
    newline (so a re-run's diff shows only what changed), and return ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(jsonable(payload), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def write_results(name: str, machine: Machine, setup: dict[str, Any], results: Any) -> Path:
    """Write ``benchmarks/results/<name>.json`` (pretty, sorted keys) and return its path."""
    payload = {
        "benchmark": name,
        "machine": machine.finish(),
        "environment": environment(),
        "setup": setup,
        "results": results,
    }
    return write_json(RESULTS / f"{name}.json", payload)
