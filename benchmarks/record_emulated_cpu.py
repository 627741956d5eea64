"""Is an emulated Intel Xeon a faithful stand-in for a real one? The calibration behind the verify
logs in ``results/full/verify/emulated-*/``.

    python benchmarks/record_emulated_cpu.py        (needs ``qemu-x86_64``: apt-get install qemu-user)

QEMU's user-mode emulator runs our x86-64 Python, torch and MKL unchanged, but answers the CPUID
instruction as the CPU model it is given, so MKL, oneDNN and ATen pick their kernels as they would
on that CPU, and QEMU executes every SSE/AVX2/FMA instruction with IEEE-exact software floating
point. The check: the training probe (``isa_probe.py``, 300 SGD steps of a 784-256-256-10 MLP) run
under settings whose result *depends on the vendor* — ``MKL_CBWR=AVX2`` is an Intel-only MKL
branch that an AMD CPU silently ignores — must print the hash a **real** Intel Xeon printed
(``shared/reference/numerics.md``) when the emulated CPU is an Intel Xeon, and the host's own hash
when the emulated CPU is an AMD EPYC. Under the pinned set every CPU must print :data:`PROBE_HASH`.

Writes ``benchmarks/results/emulated_cpu.json``: one row per (CPU, settings) with the CPU the probe
was told of, its hash and wall time, and the real Xeon's reference hash beside it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import Machine, write_results  # noqa: E402

from weakness_lib.core.numerics import PINNED_ENV, PROBE_HASH, SWITCH  # noqa: E402

PROBE = Path(__file__).parents[1] / "tests" / "fixtures" / "numerics_probe.py"
#: emulated CPU models (QEMU names): an Intel Xeon, and an AMD EPYC as the control
EMULATED = ("Icelake-Server-v6", "EPYC-Rome")
#: settings: the pinned set, and the vendor-dependent pair of shared/reference/numerics.md
SETTINGS: dict[str, dict[str, str]] = {
    "pinned": {SWITCH: "pinned"},
    "intel_only_mkl_branch": {SWITCH: "native", "ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2"},
}
#: what a real 2-core Intel Xeon (AVX-512) printed under each setting (shared/reference/numerics.md)
REAL_XEON = {"pinned": PROBE_HASH, "intel_only_mkl_branch": "54ce7aa24724bbc9"}
SAY_CPU = "from weakness_lib.core.cpu import cpu_model; print(cpu_model())"


def probe(cpu: str | None, settings: dict[str, str]) -> dict:
    """``isa_probe`` in a fresh process on ``cpu`` (a QEMU model; ``None``: the host itself)."""
    env = {k: v for k, v in os.environ.items() if k not in (*PINNED_ENV, SWITCH)}
    env.update(settings)
    prefix = [] if cpu is None else ["qemu-x86_64", "-cpu", cpu]
    t0 = time.perf_counter()
    out = subprocess.run([*prefix, sys.executable, str(PROBE), "isa"], env=env, check=True,
                         capture_output=True, text=True)
    wall = time.perf_counter() - t0
    told = subprocess.run([*prefix, sys.executable, "-c", SAY_CPU], env=env, check=True,
                          capture_output=True, text=True).stdout.strip()
    rec = json.loads(out.stdout.strip().splitlines()[-1])
    return {"cpu": told, "qemu_model": cpu, "hash": rec["hash"], "profile": rec["profile"],
            "kernels": rec["kernels"], "wall_s": round(wall, 1)}


def main() -> None:
    if shutil.which("qemu-x86_64") is None:
        sys.exit("record_emulated_cpu: qemu-x86_64 is not installed (apt-get install qemu-user)")
    machine = Machine()
    rows = []
    for name, settings in SETTINGS.items():
        for cpu in (None, *EMULATED):
            row = {"settings": name, **probe(cpu, settings), "real_xeon_hash": REAL_XEON[name]}
            rows.append(row)
            print(json.dumps(row), flush=True)
    qemu = subprocess.run(["qemu-x86_64", "--version"], capture_output=True, text=True).stdout
    setup = {"probe": "tests/fixtures/numerics_probe.py isa (shared/reference/isa_probe.py)",
             "emulator": qemu.splitlines()[0] if qemu else "unknown",
             "settings": SETTINGS, "real_xeon_source": "shared/reference/numerics.md (2-core Intel "
             "Xeon, AVX-512, torch 2.14.1, MKL 2024.2)"}
    write_results("emulated_cpu", machine, setup, {"rows": rows})


if __name__ == "__main__":
    main()
