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

Where the emulator and the host part, they part on an instruction whose result is the CPU's own:
QEMU computes the approximate reciprocal square root (``rsqrtps``) to full float32 precision, a real
CPU to about 12 bits in its own way. So two probes find what pinning leaves to the CPU: 20 Adam steps as the
library takes them (Adam's square root of its second moment goes to MKL's vector math, whose
float32 square-root kernels refine ``rsqrtps``) and with ``fused=True`` (torch's own kernel, a true
``sqrtps``), and float32 ``torch.sqrt`` itself with its count of results that are not the correctly
rounded square root.

Writes ``benchmarks/results/emulated_cpu.json``: one row per (probe, settings, CPU) with the CPU the
probe was told of, its hash and wall time, and, for the training probe, the real Xeon's hash.
(The record of 2026-12-04 was written before the driver imported ``weakness_lib`` first, so its
``environment`` shows the driver's own numpy unpinned; the probes run in fresh processes and pin.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import weakness_lib  # noqa: F401  (before _common's numpy: this driver's own record shows pinned numerics)

sys.path.insert(0, str(Path(__file__).parent))
from _common import Machine, write_results  # noqa: E402

from weakness_lib.core.numerics import PINNED_ENV, PROBE_HASH, SWITCH  # noqa: E402

PROBE = Path(__file__).parents[1] / "tests" / "fixtures" / "numerics_probe.py"
#: emulated CPU models (QEMU names): a recent Intel Xeon (our Intel machines name themselves only
#: "Intel(R) Xeon(R) Processor", with AVX-512), and an AMD EPYC (Zen 4) as the control
EMULATED = ("SapphireRapids", "EPYC-Genoa")
#: settings: the pinned set, and the vendor-dependent pair of shared/reference/numerics.md
SETTINGS: dict[str, dict[str, str]] = {
    "pinned": {SWITCH: "pinned"},
    "intel_only_mkl_branch": {SWITCH: "native", "ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2"},
}
#: (probe, settings) pairs run on every CPU
PROBES = (("isa", "pinned"), ("isa", "intel_only_mkl_branch"), ("adam", "pinned"),
          ("adam_fused", "pinned"), ("sqrt", "pinned"))
#: what a real 2-core Intel Xeon (AVX-512) printed for the training probe (shared/reference/numerics.md)
REAL_XEON = {("isa", "pinned"): PROBE_HASH, ("isa", "intel_only_mkl_branch"): "54ce7aa24724bbc9"}
SAY_CPU = "from weakness_lib.core.cpu import cpu_model; print(cpu_model())"


def probe(kind: str, cpu: str | None, settings: dict[str, str]) -> dict:
    """``numerics_probe.py kind`` in a fresh process on ``cpu`` (a QEMU model; ``None``: the host)."""
    env = {k: v for k, v in os.environ.items() if k not in (*PINNED_ENV, SWITCH)}
    env.update(settings)
    prefix = [] if cpu is None else ["qemu-x86_64", "-cpu", cpu]
    t0 = time.perf_counter()
    out = subprocess.run([*prefix, sys.executable, str(PROBE), kind], env=env, check=True,
                         capture_output=True, text=True)
    wall = time.perf_counter() - t0
    told = subprocess.run([*prefix, sys.executable, "-c", SAY_CPU], env=env, check=True,
                          capture_output=True, text=True).stdout.strip()
    rec = json.loads(out.stdout.strip().splitlines()[-1])
    return {"cpu": told, "qemu_model": cpu, "hash": rec["hash"], "profile": rec["profile"],
            "kernels": rec["kernels"], "wall_s": round(wall, 1),
            "not_correctly_rounded": rec.get("not_correctly_rounded")}


def main() -> None:
    if shutil.which("qemu-x86_64") is None:
        sys.exit("record_emulated_cpu: qemu-x86_64 is not installed (apt-get install qemu-user)")
    machine = Machine()
    rows = []
    for kind, name in PROBES:
        for cpu in (None, *EMULATED):
            row = {"probe": kind, "settings": name, **probe(kind, cpu, SETTINGS[name]),
                   "real_xeon_hash": REAL_XEON.get((kind, name))}
            rows.append(row)
            print(json.dumps(row), flush=True)
    qemu = subprocess.run(["qemu-x86_64", "--version"], capture_output=True, text=True).stdout
    setup = {"probes": {"isa": "300 SGD steps, 784-256-256-10 (shared/reference/isa_probe.py)",
                        "adam": "20 Adam steps, 784-256-10 (torch.optim.Adam as train() builds it)",
                        "adam_fused": "the same with fused=True",
                        "sqrt": "float32 torch.sqrt of 100,003 values"},
             "emulator": qemu.splitlines()[0] if qemu else "unknown",
             "settings": SETTINGS, "real_xeon_source": "shared/reference/numerics.md (2-core Intel "
             "Xeon, AVX-512, torch 2.14.1, MKL 2024.2)"}
    write_results("emulated_cpu", machine, setup, {"rows": rows})


if __name__ == "__main__":
    main()
