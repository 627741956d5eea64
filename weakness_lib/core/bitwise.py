"""What "bit for bit" means for two stored rows: every field equal, timings aside.

Timings differ between identical runs and are skipped: fields starting with ``_`` (bookkeeping:
finish time, unit wall time, device), ending in ``_s`` or containing ``wall``. Used by
``weakness-repro verify`` (a row against its recomputation) and by
:mod:`weakness_lib.engine.compare` (one store against another).
"""

from __future__ import annotations

from typing import Any


def is_timing(field: str) -> bool:
    """Fields that legitimately differ between identical runs: bookkeeping and wall times."""
    return field.startswith("_") or field.endswith("_s") or "wall" in field


def differences(stored: Any, new: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Every (field path, stored, recomputed) pair that is not bit-identical (timings skipped)."""
    if isinstance(stored, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(stored) | set(new)):
            if k == "key" or is_timing(k):
                continue
            out += differences(stored.get(k), new.get(k), f"{path}.{k}" if path else k)
        return out
    if isinstance(stored, list) and isinstance(new, list) and len(stored) == len(new):
        return [d for i, (a, b) in enumerate(zip(stored, new)) for d in differences(a, b, f"{path}[{i}]")]
    return [] if stored == new else [(path, stored, new)]
