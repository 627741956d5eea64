"""Speed cost of pinned numerics: the same training run and curvature computation, each in a
fresh process (dispatch knobs are read once per process), pinned and native, interleaved so that
machine load falls on both alike. Writes ``benchmarks/results/numerics.json``.

Training: ``isa_probe.py`` (300 SGD steps of a 784-256-256-10 MLP, batch 64, one thread).
Library: ``train`` of a 196-128-128-10 MLP (300 steps), then λ_max (float32 and float64) and a
Hutchinson trace of its loss Hessian — the kind of work a study unit does. GEMM: 20 bare
1000×784×256 products per dtype, where MKL's COMPATIBLE branch (SSE2) costs most.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import Machine, write_results  # noqa: E402

from weakness_lib.core.numerics import PINNED_ENV, SWITCH  # noqa: E402

PROBE = Path(__file__).parents[1] / "tests" / "fixtures" / "numerics_probe.py"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


def run(kind: str, mode: str) -> dict:
    """The probe in a fresh process; ``native``: none of the pinned knobs in its environment (this
    driver's own environment holds them, since importing weakness_lib pinned it)."""
    env = {k: v for k, v in os.environ.items() if k not in (*PINNED_ENV, SWITCH)}
    env[SWITCH] = mode
    out = subprocess.run([sys.executable, str(PROBE), kind, "300"], env=env, check=True,
                         capture_output=True, text=True)
    rec = json.loads(out.stdout.strip().splitlines()[-1])
    if (rec["profile"] == "native") != (mode == "native"):
        raise RuntimeError(f"probe ran under {rec['profile']} numerics, asked for {mode}")
    return rec


def main() -> None:
    machine = Machine()
    t_kernels: dict[str, str] = {}
    times: dict[str, dict[str, list[float]]] = {}
    for _ in range(ROUNDS):
        for mode in ("native", "pinned"):
            isa, lib, gemm = run("isa", mode), run("lib", mode), run("gemm", mode)
            t_kernels[mode] = lib["kernels"]
            t = times.setdefault(mode, {"training_mlp784": [], "training_lib": [], "curvature": [],
                                        "gemm_float32": [], "gemm_float64": []})
            t["gemm_float32"].append(gemm["train_s"])
            t["gemm_float64"].append(gemm["curvature_s"])
            t["training_mlp784"].append(isa["train_s"])
            t["training_lib"].append(lib["train_s"])
            t["curvature"].append(lib["curvature_s"])
    med = {m: {k: statistics.median(v) for k, v in t.items()} for m, t in times.items()}
    ratio = {k: round(med["pinned"][k] / med["native"][k], 3) for k in med["pinned"]}
    setup = {"rounds": ROUNDS, "probe": "tests/fixtures/numerics_probe.py (isa, lib; 300 steps)",
             "note": "each timing in a fresh process, pinned and native interleaved; ratio > 1: "
                     "pinned is slower; native = the vendor's dispatch on this CPU"}
    write_results("numerics", machine, setup, {"median_s": med, "raw_s": times, "kernels": t_kernels,
                                               "pinned_over_native": ratio})
    print(json.dumps({"pinned_over_native": ratio, "median_s": med}, indent=1))


if __name__ == "__main__":
    main()
