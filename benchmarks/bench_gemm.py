"""The machine's measured dense matrix-multiply rate (``torch.mm``), the ceiling for training.

For n × n matrices C = A B costs 2n³ floating-point operations; the rate is 2n³ / t for the
best of ``--reps`` timed repetitions (after one warm-up), in float32 and float64, on 1 and 2
threads. The best float32 rate on 2 threads is the "FP32 GEMM peak" that
``bench_training.py`` compares its achieved FLOP rate with.

Run:  nice -n 10 .venv/bin/python benchmarks/bench_gemm.py
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Machine, write_results  # noqa: E402


def gemm_rate(n: int, dtype: torch.dtype, threads: int, reps: int = 5) -> dict:
    """Best-of-``reps`` GFLOP/s of ``torch.mm`` on n × n matrices."""
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        gen = torch.Generator().manual_seed(0)
        a = torch.randn(n, n, generator=gen, dtype=dtype)
        b = torch.randn(n, n, generator=gen, dtype=dtype)
        out = torch.empty(n, n, dtype=dtype)
        torch.mm(a, b, out=out)
        times, cpu = [], []
        for _ in range(reps):
            start, c0 = time.perf_counter(), time.process_time()
            torch.mm(a, b, out=out)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - c0)
    finally:
        torch.set_num_threads(old)
    flops = 2.0 * n**3
    return {"n": n, "dtype": str(dtype).replace("torch.", ""), "threads": threads,
            "best_s": min(times), "median_s": sorted(times)[len(times) // 2],
            "gflops_best": flops / min(times) / 1e9,
            "gflops_median": flops / sorted(times)[len(times) // 2] / 1e9,
            # per CPU-second of this process: on a shared machine the rate while running; with
            # 2 threads it counts both threads (so it is ≈ half the wall rate when both run)
            "gflops_per_cpu_s_best": flops / max(min(cpu), 1e-9) / 1e9}


def peak_fp32(threads: int = 2, sizes=(1024, 2048, 4096), reps: int = 5) -> tuple[float, list[dict]]:
    """Best float32 GFLOP/s (wall clock) over ``sizes`` on ``threads`` threads, and every row."""
    rows = [gemm_rate(n, torch.float32, threads, reps) for n in sizes]
    return max(r["gflops_best"] for r in rows), rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048, 4096])
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args(argv)
    machine = Machine()
    rows = []
    for dtype in (torch.float32, torch.float64):
        for threads in (1, 2):
            for n in args.sizes:
                rows.append(gemm_rate(n, dtype, threads, args.reps))
                print(rows[-1], flush=True)
    peak = {f"{d}_{t}threads": max(r["gflops_best"] for r in rows
                                   if r["dtype"] == d and r["threads"] == t)
            for d in ("float32", "float64") for t in (1, 2)}
    peak["float32_1thread_per_cpu_s"] = max(r["gflops_per_cpu_s_best"] for r in rows
                                             if r["dtype"] == "float32" and r["threads"] == 1)
    setup = {"op": "torch.mm(A, B, out=C), A, B ~ N(0,1) n×n", "flops": "2 n^3",
             "sizes": args.sizes, "reps": args.reps, "statistic": "best of reps after one warm-up",
             "mkl": torch.backends.mkl.is_available(), "torch_config": torch.__config__.show()[:2000]}
    print(write_results("gemm", machine, setup, {"rows": rows, "peak_gflops": peak}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
