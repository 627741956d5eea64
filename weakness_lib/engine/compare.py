"""Bitwise comparison of stored results: one store against another, unit by unit.

What counts as a difference (every field, timings aside) is :mod:`weakness_lib.core.bitwise`;
``weakness-repro compare`` calls :func:`compare_stores`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from weakness_lib.core.bitwise import differences
from weakness_lib.core.config import settings_hash
from weakness_lib.core.paths import results_root


class UnreadableTable(ValueError):
    """A stored table is not valid JSON (e.g. truncated) or not a table; the message names it."""


def read_table(path: Path) -> dict[str, Any]:
    """The JSON of the table at ``path``, or :class:`UnreadableTable` naming the file and why."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UnreadableTable(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno} column "
                              f"{exc.colno}; truncated?): restore or remove that table") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadableTable(f"{path} cannot be read ({' '.join(str(exc).split())})") from None
    if not isinstance(data, dict) or not isinstance(data.get("rows"), dict):
        raise UnreadableTable(f"{path} is not a results table (no 'rows' mapping)")
    return data


def _tables(root: Path) -> dict[tuple[str, str], Path]:
    """{(experiment, settings hash): path} of every table under ``root`` (a scale folder)."""
    out = {}
    for p in sorted(Path(root).glob("*/*.json")):
        if p.parent.name in ("claims", "verify"):
            continue
        cfg = read_table(p).get("config", {})
        out[(p.parent.name, settings_hash(cfg))] = p
    return out


def compare_stores(other: Path, scale: str = "full", mine: Path | None = None) -> list[dict[str, Any]]:
    """Compare every table of another results root (``<other>/<scale>/…``) with the table of the
    same experiment and settings here, unit by unit, bitwise (timings excluded). Tables are matched
    by the hash of their result settings, so a store filed under an older naming scheme compares."""
    here = _tables(mine if mine is not None else results_root(scale))
    out = []
    for (experiment, h), path in _tables(Path(other) / scale).items():
        row: dict[str, Any] = {"experiment": experiment, "table": path.name, "settings": h}
        if (experiment, h) not in here:
            out.append({**row, "status": "no table with these settings here"})
            continue
        a = read_table(here[(experiment, h)])["rows"]
        b = read_table(path)["rows"]
        common = sorted(set(a) & set(b))
        differing = [k for k in common if differences(a[k], b[k])]
        out.append({**row, "units_compared": len(common), "units_differing": len(differing),
                    "only_here": len(set(a) - set(b)), "only_there": len(set(b) - set(a)),
                    "status": "identical" if not differing else "DIFFERENT",
                    "first_differing": differing[:5]})
    return out
