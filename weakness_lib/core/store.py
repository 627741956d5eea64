"""A results store of resumable experiment tables, keyed by a hash of their config.

Layout: ``<results_root(scale)>/<experiment>/<hash>.json`` holds one table: its ``config``,
``config_hash``, table-level ``provenance`` and ``rows`` (one per finished unit of work, e.g. one
network or one α). Artifacts (trained weights) live beside it in ``<hash>/``.

Guarantees:
* **atomic**: every write goes to a temporary file and is ``os.replace``-d into place, so a
  killed process leaves either the old or the new table, never a torn one;
* **resumable**: :meth:`Table.get_or_compute` returns a stored row or computes and stores it,
  so an interrupted run loses at most the unit in flight;
* **no silent reuse**: the file name is the hash of the canonical JSON of the config; a file
  whose stored config does not hash to its name (edited, or written by other code) raises
  :class:`StaleResultsError` instead of being reused;
* **no wasted work**: writability is checked *before* a unit is computed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from weakness_lib.core.paths import results_root
from weakness_lib.core.provenance import environment, now_iso

Row = dict[str, Any]


class ResultsStoreError(RuntimeError):
    """The results folder cannot be used (e.g. not writable)."""


class StaleResultsError(ResultsStoreError):
    """A stored table does not match the config it is filed under."""


def _jsonable(obj: Any) -> Any:
    """Convert numpy/torch scalars, tuples and paths into plain JSON values (NaN → None)."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 0) == 0:
        obj = obj.item()
    if hasattr(obj, "tolist") and callable(obj.tolist):
        return _jsonable(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def config_hash(config: Mapping[str, Any]) -> str:
    """First 16 hex digits of SHA-256 over the canonical (sorted, compact) JSON of ``config``."""
    canonical = json.dumps(_jsonable(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary file in the same folder, then replace)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise ResultsStoreError(
            f"cannot write results to {path.parent}: {exc.strerror or exc}. "
            "Make the folder writable or point WEAKNESS_RESULTS at a writable folder."
        ) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_json(path: Path, obj: Any) -> None:
    """Atomically write ``obj`` as indented JSON."""
    atomic_write_text(path, json.dumps(_jsonable(obj), indent=1, sort_keys=False) + "\n")


def ensure_writable(folder: Path) -> None:
    """Raise :class:`ResultsStoreError` unless files can be created in ``folder``."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ResultsStoreError(
            f"results folder {folder} is not writable ({exc.strerror or exc}); nothing was "
            "computed. Make it writable or set WEAKNESS_RESULTS to a writable folder."
        ) from exc


class Table:
    """One experiment table: rows keyed by a unit id, stored under the config hash."""

    def __init__(self, folder: Path, experiment: str, config: Mapping[str, Any]):
        self.experiment = experiment
        self.config = _jsonable(dict(config))
        self.hash = config_hash(self.config)
        self.folder = Path(folder) / experiment
        self.path = self.folder / f"{self.hash}.json"
        self._data = self._load()

    # -- persistence -------------------------------------------------------------------------
    def _load(self) -> dict[str, Any]:
        if not self.path.exists():
            return {
                "experiment": self.experiment,
                "config_hash": self.hash,
                "config": self.config,
                "provenance": environment(),
                "rows": {},
            }
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise StaleResultsError(
                f"results table {self.path} is unreadable ({exc}); delete it to recompute"
            ) from exc
        stored = data.get("config", {})
        if config_hash(stored) != self.hash or data.get("config_hash") != self.hash:
            raise StaleResultsError(
                f"results table {self.path} was written for a different config "
                f"(its config hashes to {config_hash(stored)}, expected {self.hash}); "
                "it will not be reused. Delete it to recompute."
            )
        return data

    def _save(self) -> None:
        write_json(self.path, self._data)

    # -- rows ----------------------------------------------------------------------------------
    @property
    def provenance(self) -> dict[str, Any]:
        return self._data["provenance"]

    def __contains__(self, key: object) -> bool:
        return str(key) in self._data["rows"]

    def __len__(self) -> int:
        return len(self._data["rows"])

    def keys(self) -> list[str]:
        return list(self._data["rows"])

    def rows(self) -> list[Row]:
        """All stored rows, in insertion order, each with its ``key``."""
        return [{"key": k, **v} for k, v in self._data["rows"].items()]

    def get(self, key: object) -> Row | None:
        row = self._data["rows"].get(str(key))
        return None if row is None else {"key": str(key), **row}

    def put(self, key: object, row: Mapping[str, Any], wall_s: float | None = None) -> Row:
        """Store ``row`` under ``key`` (atomically rewriting the table)."""
        record = dict(_jsonable(dict(row)))
        record["_finished"] = now_iso()
        if wall_s is not None:
            record["_wall_s"] = round(float(wall_s), 3)
        self._data["rows"][str(key)] = record
        self._data["updated"] = now_iso()
        self._save()
        return {"key": str(key), **record}

    def get_or_compute(self, key: object, compute: Callable[[], Mapping[str, Any]]) -> Row:
        """Return the stored row for ``key``, or run ``compute()`` and store its result."""
        found = self.get(key)
        if found is not None:
            return found
        ensure_writable(self.folder)
        start = time.perf_counter()
        row = compute()
        return self.put(key, row, wall_s=time.perf_counter() - start)

    def artifact(self, name: str) -> Path:
        """Path for a binary artifact of this table (e.g. ``seed3.pt``); folder is created."""
        folder = self.folder / self.hash
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name

    def total_wall_s(self) -> float:
        return float(sum(r.get("_wall_s", 0.0) for r in self._data["rows"].values()))

    def to_frame(self):  # -> pandas.DataFrame (imported lazily: pandas is heavy)
        import pandas as pd

        return pd.DataFrame(self.rows())


class ResultsStore:
    """The results of one scale (``smoke`` or ``full``)."""

    def __init__(self, scale: str, root: Path | None = None):
        self.scale = scale
        self.root = Path(root) if root is not None else results_root(scale)

    def table(self, experiment: str, config: Mapping[str, Any]) -> Table:
        return Table(self.root, experiment, config)

    def tables(self, experiment: str) -> Iterator[Path]:
        """Every stored table file of ``experiment`` (any config)."""
        yield from sorted((self.root / experiment).glob("*.json"))
