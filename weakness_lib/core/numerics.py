"""Pinned floating-point numerics: the same bits on every x86-64 CPU family we compute on.

A float32 training run is a long chain of roundings, so its last bits depend on *which kernel*
computes each product and sum. Four libraries pick kernels by the CPU they find at run time:

=============================  ==========================  =====================================
library (what it computes)     knob                        pinned to
=============================  ==========================  =====================================
ATen (element-wise ops, SLEEF  ``ATEN_CPU_CAPABILITY``     ``avx2`` — AVX2 code on every CPU,
math, reductions)                                          never the AVX-512 variants
MKL (torch's GEMM)             ``MKL_CBWR``                ``COMPATIBLE`` — MKL's branch meant to
                                                           give the same bits on Intel and AMD
                                                           (SSE2 without the approximate
                                                           ``rcpps``/``rsqrtps``); the ISA-named
                                                           branches are Intel-only and silently
                                                           fall back to AUTO on an AMD CPU
                               ``MKL_DYNAMIC``,            ``FALSE`` — CNR needs a fixed thread
                               ``OMP_DYNAMIC``             count (units fix torch's threads)
oneDNN (convolutions)          ``ONEDNN_MAX_CPU_ISA``,     ``AVX2``, ``STRICT`` (no implicit
                               ``ONEDNN_DEFAULT_FPMATH_``   bf16/tf32 down-conversion)
                               ``MODE``
OpenBLAS in numpy/scipy        ``OPENBLAS_CORETYPE``,      ``Haswell`` (AVX2 kernels), 1 thread
(Lanczos, LAPACK, matmul)      ``OPENBLAS_NUM_THREADS``
numpy's own SIMD ufuncs        ``NPY_ENABLE_CPU_FEATURES`` ``X86_V3`` (AVX2/FMA3; no AVX-512
(exp, log, sin, …)                                         paths, no SVML)
=============================  ==========================  =====================================

Denormals are left as IEEE requires (torch's ``set_flush_denormal`` is off by default and we never
turn it on). The set was established by the hash of a 300-step MLP training run
(``shared/reference/isa_probe.py``): default dispatch gives ``eb451cba…`` on an Intel Xeon and
``4553ca10…`` on an AMD EPYC; under this set both print ``34ccc9c8496620d1``
(:data:`PROBE_HASH`, asserted by ``tests/test_numerics.py`` on whatever machine runs the tests).

What no knob reaches, as far as we found: torch's square root. ``torch.sqrt`` is MKL's vector math
(``vmsSqrt``/``vmdSqrt``), whose kernel here (SSE4.2, on this AMD EPYC and on an emulated Xeon
alike) refines the approximate ``rsqrtps``, whose last bits are each CPU's own; ``MKL_CBWR`` and
``MKL_ENABLE_INSTRUCTIONS`` did not change its result. The ``COMPATIBLE`` branch above covers MKL's
matrix products, not this. So the library avoids it: the large-batch studies train with torch's
fused Adam (``optimizer: adam_fused``), and, but for two exemptions the README names, a stored
number that needs a root takes :func:`weakness_lib.core.ieee.sqrt` (correctly rounded),
``math.sqrt`` or ``np.sqrt`` (``tests/test_numerics.py`` scans the package for torch's roots:
``sqrt``, ``rsqrt``, ``cdist``, a power of ±1/2 however written). A study that cannot avoid such
a kernel declares ``CPU_BOUND``: its tables then compare only on the CPU that computed them
(:func:`comparable`); none does now.

Every knob is read by its library when it first dispatches, so :func:`pin` must run before torch
computes anything: ``import weakness_lib`` calls it, before any module of the package imports
torch, and it overrides values already in the environment (a leftover ``MKL_CBWR=AVX2`` in a
shell would silently break identity on AMD). ``WEAKNESS_NUMERICS=native`` opts out (the vendor
kernels, faster on some machines; results then match only on the same CPU family).
:func:`record` is what a table's provenance stores; :func:`require_pinned` is what the runner
and ``verify`` call before computing a stored number, and :func:`table_comparable` whether a
stored table may be extended (runner) or compared bitwise (``verify``) in this process.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys
from collections.abc import Callable
from typing import Any

#: name of this set of settings, stored in every table's provenance
PROFILE = "pinned-avx2-v1"
#: the environment that pins dispatch (see the module docstring for why each one)
PINNED_ENV: dict[str, str] = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "MKL_CBWR": "COMPATIBLE",
    "MKL_DYNAMIC": "FALSE",
    "OMP_DYNAMIC": "FALSE",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "ONEDNN_DEFAULT_FPMATH_MODE": "STRICT",
    "OPENBLAS_CORETYPE": "Haswell",
    "OPENBLAS_NUM_THREADS": "1",
    "NPY_ENABLE_CPU_FEATURES": "X86_V3",
}
#: the opt-out switch and its values
SWITCH = "WEAKNESS_NUMERICS"
MODES = ("pinned", "native")
#: CPU flags every pinned kernel needs (x86-64-v3)
REQUIRED_FLAGS = ("avx", "avx2", "fma", "f16c", "bmi1", "bmi2", "movbe")
#: final-weight hash of ``isa_probe.py`` under :data:`PINNED_ENV`, on Intel Xeon and AMD EPYC
PROBE_HASH = "34ccc9c8496620d1"
_MKL_CBWR_BRANCH, _MKL_CBWR_COMPATIBLE = 1, 3

_state: dict[str, Any] = {"mode": None, "late": []}


class NumericsError(RuntimeError):
    """Pinned numerics are not in effect where a stored number is computed or compared."""


def mode() -> str:
    """``pinned`` (default) or ``native``, from ``$WEAKNESS_NUMERICS``; anything else is an error."""
    value = os.environ.get(SWITCH, "pinned").strip().lower() or "pinned"
    if value not in MODES:
        raise NumericsError(f"{SWITCH}={value!r} is not a numerics mode; use one of {', '.join(MODES)}")
    return value


def cpu_flags() -> set[str]:
    """The CPU's feature flags from ``/proc/cpuinfo`` (empty where there is none)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def supported() -> str | None:
    """``None`` if this machine can run the pinned kernels, else why not (one phrase)."""
    import platform

    if platform.machine() not in ("x86_64", "AMD64"):
        return f"pinned numerics are defined for x86-64 CPUs, this is {platform.machine()}"
    missing = [f for f in REQUIRED_FLAGS if f not in cpu_flags()]
    return f"this CPU lacks {', '.join(missing)} (x86-64-v3)" if missing else None


def pin() -> None:
    """Set :data:`PINNED_ENV` in this process (and so in every child it starts), once.

    Called by ``import weakness_lib``. Knobs whose library already dispatched cannot change any
    more; :func:`effective` finds that out, and :func:`require_pinned` refuses to go on then."""
    if _state["mode"] is not None:
        return
    try:
        _state["mode"] = mode()
    except NumericsError:  # reported, in one line, where numerics are first needed
        _state["mode"] = "invalid"
        return
    if _state["mode"] != "pinned" or supported():
        return
    _state["late"] = [m for m in ("numpy", "torch") if m in sys.modules]
    os.environ.update(PINNED_ENV)


def worker_env() -> dict[str, str]:
    """The environment a child process (a Dask worker, a notebook kernel) needs for this
    process's numerics: :data:`PINNED_ENV` and the switch, so it pins before torch loads."""
    if mode() == "native":
        return {SWITCH: "native"}
    return {**PINNED_ENV, SWITCH: "pinned"}


@functools.lru_cache(maxsize=1)
def _mkl_cbwr_get() -> Callable[[int], int] | None:
    """MKL's ``mkl_serv_cbwr_get`` in the libtorch this process loaded (``None``: not exported).

    Loaded once per process: the library, and so the symbol, cannot change while it runs (a forked
    child shares the mapping). The branch itself is read on every call (:func:`_mkl_branch`)."""
    import torch

    try:
        lib = ctypes.CDLL(os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so"))
        get = lib.mkl_serv_cbwr_get
    except (OSError, AttributeError):
        return None
    get.restype, get.argtypes = ctypes.c_int, [ctypes.c_int]
    return get


def _mkl_branch() -> int | None:
    """MKL's active CNR branch (3 = COMPATIBLE), read from the MKL that torch links, if visible.

    Asked of MKL on each call, so it is this process's branch now; MKL reads ``$MKL_CBWR`` once,
    when it first runs, and :func:`pin` sets it before then."""
    get = _mkl_cbwr_get()
    return None if get is None else int(get(_MKL_CBWR_BRANCH))


def _numpy_simd() -> list[str]:
    """numpy's active dispatch targets wider than AVX2 (empty under pinned numerics)."""
    try:
        from numpy._core import _multiarray_umath as um
    except ImportError:  # numpy < 2
        from numpy.core import _multiarray_umath as um
    feats = um.__cpu_features__
    return sorted(t for t in um.__cpu_dispatch__
                  if feats.get(t) and t.startswith(("AVX512", "X86_V4")))


def effective() -> list[str]:
    """What is *not* as pinned in this process (empty list: pinned numerics are in effect)."""
    import torch

    problems = []
    if mode() != "pinned":
        problems.append(f"{SWITCH}={mode()}")
    if (why := supported()) is not None:
        return [why]
    cap = torch.backends.cpu.get_cpu_capability()
    if cap not in ("AVX2",):
        problems.append(f"torch dispatches {cap} kernels (ATEN_CPU_CAPABILITY read before pinning)")
    branch = _mkl_branch()
    if branch is not None and branch & 0xFFFF != _MKL_CBWR_COMPATIBLE:
        problems.append(f"MKL's reproducibility branch is {branch}, not COMPATIBLE")
    if wide := _numpy_simd():
        problems.append(f"numpy dispatches {', '.join(wide)} (numpy imported before pinning)")
    return problems


def record() -> dict[str, Any]:
    """The numerics of this process, as a table's provenance stores them.

    ``profile`` is :data:`PROFILE` when every pinned knob is in effect, else ``native`` (the
    vendor's dispatch, which differs between CPU families); ``kernels`` names what ran."""
    import numpy as np
    import torch

    problems = effective()
    return {
        "profile": PROFILE if not problems else "native",
        "kernels": torch.backends.cpu.get_cpu_capability(),
        "mkl_cbwr_branch": _mkl_branch(),
        "env": {k: os.environ.get(k) for k in PINNED_ENV},
        "numpy": np.__version__,
        "not_pinned": problems,
    }


def describe(rec: dict[str, Any] | None, cpu: str | None = None) -> str:
    """A table's numerics in words, for messages (``None``: recorded before numerics were)."""
    if not rec:
        return f"native dispatch{f' on {cpu}' if cpu else ''} (recorded before numerics were pinned)"
    if rec.get("profile") == PROFILE:
        return f"pinned numerics {PROFILE}"
    return f"native dispatch ({rec.get('kernels')} kernels{f' on {cpu}' if cpu else ''})"


def comparable(stored: dict[str, Any] | None, stored_cpu: str | None, here: dict[str, Any],
               here_cpu: str, cpu_bound: str | None = None) -> str | None:
    """``None`` if a table computed under ``stored`` numerics can be re-computed here bit for bit;
    else the reason, in one sentence. ``cpu_bound``: why the study's results keep CPU-specific
    bits even under pinning (its module's ``CPU_BOUND``); its tables then compare only on the CPU
    that computed them."""
    if stored and stored.get("profile") == PROFILE and here.get("profile") == PROFILE:
        if cpu_bound and stored_cpu != here_cpu:
            return (f"the table was computed on {stored_cpu or 'an unrecorded CPU'}, and {cpu_bound}, "
                    f"so a bitwise comparison on {here_cpu} would only measure the CPU")
        return None
    stored_profile = (stored or {}).get("profile", "native")  # unrecorded: the vendor's dispatch
    same_native = (stored_profile == "native" and here.get("profile") == "native"
                   and bool(stored_cpu) and stored_cpu == here_cpu
                   and (stored or {}).get("kernels", here.get("kernels")) == here.get("kernels"))
    if same_native:
        return None
    return (f"the table was computed under {describe(stored, stored_cpu)}, this process runs "
            f"{describe(here, here_cpu)}: their kernels differ in the last bits, so a bitwise "
            "comparison would only measure the CPU")


def table_comparable(source: Any, cpu_bound: str | None = None) -> tuple[bool, str]:
    """Whether a stored table can be re-computed in *this* process bit for bit: ``(True, "")``,
    or ``(False, reason)`` with :func:`comparable`'s one-sentence reason.

    ``source`` is a table (anything with a ``provenance`` mapping) or its provenance itself; what
    it recorded (``numerics``, ``cpu``) is set against :func:`record` and this machine's CPU."""
    from weakness_lib.core import cpu

    prov = getattr(source, "provenance", source) or {}
    why = comparable(prov.get("numerics"), prov.get("cpu"), record(), cpu.cpu_model(), cpu_bound)
    return why is None, why or ""


def require_pinned(what: str) -> None:
    """Raise :class:`NumericsError` (one line) unless pinned numerics are in effect, or
    ``$WEAKNESS_NUMERICS`` asks for native numerics explicitly."""
    if mode() == "native":
        return
    problems = effective()
    if problems:
        hint = ("import weakness_lib before torch or numpy" if _state["late"] or
                any("before pinning" in p for p in problems) else f"or set {SWITCH}=native")
        raise NumericsError(f"{what} needs pinned numerics, but {'; '.join(problems)}; {hint}")
