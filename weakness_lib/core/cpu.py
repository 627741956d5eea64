"""Which CPU this process runs on: kernels, and therefore the last bits of a float32 result, differ
between CPU families. A module of its own so that :mod:`weakness_lib.core.numerics` (is a stored
table comparable here?) and :mod:`weakness_lib.core.provenance` (what produced a result) do not
import each other."""

from __future__ import annotations

import platform
import re


def cpu_model() -> str:
    """The CPU model (``/proc/cpuinfo``): kernels, and therefore the last bits of a float32
    training run, differ between CPU families (e.g. Intel Xeon vs AMD EPYC with AVX-512)."""
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_family() -> str:
    """A folder-safe name of this CPU model, e.g. ``amd-epyc`` or ``intel-r-xeon-r-platinum-8481c``
    (frequency suffixes dropped): the unit of "a CPU family" for verify logs."""
    model = re.sub(r"\s*(CPU\s*)?@.*$", "", cpu_model())
    slug = re.sub(r"[^a-z0-9]+", "-", model.lower()).strip("-")
    return slug or "unknown-cpu"
