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


def numbers(row: Any, path: str = "") -> dict[str, float]:
    """Every real number of a stored row by its field path (timings and ``key`` skipped)."""
    if isinstance(row, dict):
        return {p: v for k, val in row.items() if k != "key" and not is_timing(k)
                for p, v in numbers(val, f"{path}.{k}" if path else k).items()}
    if isinstance(row, list):
        return {p: v for i, val in enumerate(row) for p, v in numbers(val, f"{path}[{i}]").items()}
    if isinstance(row, (int, float)) and not isinstance(row, bool):
        return {path: float(row)}
    return {}


def drift(old_rows: dict[str, Any], new_rows: dict[str, Any], tiny: float = 1e-9) -> dict[str, Any]:
    """How far the numbers of two tables moved, unit by unit: how many were compared and differ;
    the largest relative move |b − a| / max(|a|, |b|) (and where), over numbers at least ``tiny`` in
    size; the largest absolute move (and where) among smaller ones, which are rounding residue (a
    loss at interpolation, ~1e-31) whose relative move means nothing; and what could not be
    compared: units in one table only, and numbers of a shared unit on one side only (a network
    retrained for another number of epochs logs another history). A number that became or stopped
    being finite counts as a relative move of ∞."""
    import math

    compared = differ = one_side = 0
    worst, where, worst_tiny, where_tiny = 0.0, None, 0.0, None
    shared = sorted(set(old_rows) & set(new_rows))
    for key in shared:
        a, b = numbers(old_rows[key]), numbers(new_rows[key])
        one_side += len(set(a) ^ set(b))
        for path in sorted(set(a) & set(b)):
            x, y = a[path], b[path]
            compared += 1
            if x == y or (math.isnan(x) and math.isnan(y)):
                continue
            differ += 1
            if not (math.isfinite(x) and math.isfinite(y)):
                rel = math.inf
            elif max(abs(x), abs(y)) < tiny:
                if abs(y - x) > worst_tiny:
                    worst_tiny, where_tiny = abs(y - x), f"{key}: {path}"
                continue
            else:
                rel = abs(y - x) / max(abs(x), abs(y))
            if rel > worst:
                worst, where = rel, f"{key}: {path}"
    return {"units": len(shared), "numbers": compared, "differ": differ,
            "max_relative_difference": worst, "where": where,
            "max_absolute_difference_below_tiny": worst_tiny, "where_below_tiny": where_tiny,
            "tiny": tiny, "numbers_on_one_side": one_side,
            "units_in_one_table": len(set(old_rows) ^ set(new_rows))}
