"""Rename stored tables to the current naming scheme without recomputing anything.

Tables were once filed under the hash of their *whole* config (free text included); they are now
filed under :func:`weakness_lib.core.config.settings_hash`. :func:`migrate_store` moves each table
(and its artifact folder) to its new name, rewrites only its ``config_hash`` field, and drops
derived caches that are rebuilt by the runner. Rows are copied byte for byte in value; check with
``weakness-repro compare`` against a copy taken before.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from weakness_lib.core.config import settings_hash
from weakness_lib.core.store import write_json


def migrate_table(path: Path) -> dict[str, Any]:
    """Move one table file (and its artifact folder) to its settings-hash name."""
    data = json.loads(path.read_text(encoding="utf-8"))
    new = settings_hash(data["config"])
    old = path.stem
    if old == new and data.get("config_hash") == new:
        return {"table": str(path), "status": "already current"}
    target = path.with_name(f"{new}.json")
    if target.exists() and target != path:
        return {"table": str(path), "status": f"NOT moved: {target.name} exists"}
    data["config_hash"] = new
    data.setdefault("migrated_from", old)
    write_json(target, data)
    if target != path:
        path.unlink()
    folder = path.with_name(old)
    if folder.is_dir() and old != new and path.with_name(new).exists():
        return {"table": str(path), "status": f"moved; artifact folder {old}/ NOT moved: {new}/ exists"}
    if folder.is_dir() and old != new:
        for cache in folder.glob("stats_*.json"):  # derived caches: rebuilt as summaries
            cache.unlink()
        if any(folder.iterdir()):
            shutil.move(str(folder), str(path.with_name(new)))
        else:
            folder.rmdir()
    return {"table": str(path), "status": f"{old} -> {new}"}


def migrate_store(root: Path) -> list[dict[str, Any]]:
    """Migrate every table ``<root>/<experiment>/<hash>.json`` (claim files untouched)."""
    return [migrate_table(p) for p in sorted(Path(root).glob("*/*.json"))
            if p.parent.name not in ("claims", "verify")]
