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
* **no wasted work**: writability is checked *before* a unit is computed;
* **no lost rows**: every write takes the table's file lock (``<hash>.json.lock``, :mod:`filelock`),
  re-reads the file, merges the new rows and replaces it, so two processes writing one table (two
  ``weakness-repro run`` on one store) keep each other's rows;
* **canonical order**: rows are kept in the study's unit order whatever order workers finish in,
  so a table's content does not depend on the number of workers.

The file name is the hash of the config's *result settings* (:func:`weakness_lib.core.config.settings_hash`):
free-text keys (registration notes, descriptions) are stored but not hashed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from weakness_lib.core.config import settings_hash
from weakness_lib.core.jsonable import jsonable
from weakness_lib.core.paths import results_root
from weakness_lib.core.provenance import environment, now_iso

Row = dict[str, Any]


class ResultsStoreError(RuntimeError):
    """The results folder cannot be used (e.g. not writable)."""


class StaleResultsError(ResultsStoreError):
    """A stored table does not match the config it is filed under."""


def config_hash(config: Mapping[str, Any]) -> str:
    """First 16 hex digits of SHA-256 over the canonical (sorted, compact) JSON of ``config``
    (every key; tables are named by :func:`weakness_lib.core.config.settings_hash` instead)."""
    canonical = json.dumps(jsonable(config), sort_keys=True, separators=(",", ":"))
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
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results are ordinary files
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: Path, obj: Any) -> None:
    """Atomically write ``obj`` as indented JSON."""
    atomic_write_text(path, json.dumps(jsonable(obj), indent=1, sort_keys=False) + "\n")


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


LOCK_TIMEOUT_S = 600.0


class Table:
    """One experiment table: rows keyed by a unit id, stored under the hash of its settings."""

    def __init__(self, folder: Path, experiment: str, config: Mapping[str, Any]):
        self.experiment = experiment
        self.config = jsonable(dict(config))
        self.hash = settings_hash(self.config)
        self.folder = Path(folder) / experiment
        self.path = self.folder / f"{self.hash}.json"
        self._data = self._load()
        if self.path.exists():  # the stored config is the one the results were computed with
            self.config = self._data["config"]

    # -- persistence -------------------------------------------------------------------------
    def _fresh(self) -> dict[str, Any]:
        return {"experiment": self.experiment, "config_hash": self.hash, "config": self.config,
                "provenance": environment(), "rows": {}}

    def _load(self) -> dict[str, Any]:
        if not self.path.exists():
            return self._fresh()
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise StaleResultsError(
                f"results table {self.path} is unreadable ({exc}); delete it to recompute"
            ) from exc
        stored = data.get("config", {})
        if settings_hash(stored) != self.hash or data.get("config_hash") != self.hash:
            raise StaleResultsError(
                f"results table {self.path} was written for different settings "
                f"(its config hashes to {settings_hash(stored)}, expected {self.hash}); "
                "it will not be reused. Delete it to recompute."
            )
        return data

    def lock(self) -> FileLock:
        """The inter-process lock of this table (held while a writer merges and replaces it)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.path) + ".lock", timeout=LOCK_TIMEOUT_S)

    def refresh(self) -> None:
        """Re-read the table from disk (rows written by another process become visible)."""
        self._data = self._load()

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
        """All stored rows, in the table's (unit) order, each with its ``key``."""
        return [{"key": k, **v} for k, v in self._data["rows"].items()]

    def get(self, key: object) -> Row | None:
        row = self._data["rows"].get(str(key))
        return None if row is None else {"key": str(key), **row}

    @staticmethod
    def record(row: Mapping[str, Any], wall_s: float | None = None) -> dict[str, Any]:
        """The stored form of a computed row: JSON values, finish time and unit wall time."""
        out = dict(jsonable({k: v for k, v in row.items() if k != "_artifacts"}))
        out["_finished"] = now_iso()
        if wall_s is not None:
            out["_wall_s"] = round(float(wall_s), 3)
        return out

    def put_many(self, records: Mapping[str, Mapping[str, Any]],
                 order: list[str] | None = None) -> None:
        """Merge stored-form ``records`` ({key: record}) into the table under its file lock.

        The file is re-read inside the lock, so rows another process stored meanwhile are kept;
        rows are then sorted by ``order`` (the study's unit order; unknown keys keep their place
        after it) and the table is replaced atomically.
        """
        try:
            with self.lock():
                data = self._load()
                rows = dict(data["rows"])
                rows.update({str(k): dict(v) for k, v in records.items()})
                if order is not None:
                    rank = {k: i for i, k in enumerate(order)}
                    stored = {k: i for i, k in enumerate(rows)}
                    keys = sorted(rows, key=lambda k: (rank.get(k, len(rank)), stored[k]))
                    rows = {k: rows[k] for k in keys}
                data["rows"] = rows
                data["updated"] = now_iso()
                write_json(self.path, data)
                self._data = data
        except Timeout as exc:
            raise ResultsStoreError(
                f"{self.path} is locked by another process for more than {LOCK_TIMEOUT_S:.0f} s "
                f"(lock file {exc.lock_file}); is another weakness-repro still running?"
            ) from exc

    def put(self, key: object, row: Mapping[str, Any], wall_s: float | None = None) -> Row:
        """Store ``row`` under ``key`` (locked merge, atomic replace); return the stored row."""
        self.put_many({str(key): self.record(row, wall_s)})
        return self.get(key)  # type: ignore[return-value]

    def get_or_compute(self, key: object, compute: Callable[[], Mapping[str, Any]]) -> Row:
        """Return the stored row for ``key``, or run ``compute()`` and store its result."""
        found = self.get(key)
        if found is not None:
            return found
        ensure_writable(self.folder)
        start = time.perf_counter()
        row = compute()
        return self.put(key, row, wall_s=time.perf_counter() - start)

    # -- beside the table ------------------------------------------------------------------------
    def artifact(self, name: str) -> Path:
        """Path for a binary artifact of this table (e.g. ``train.pt``); folder is created."""
        folder = self.folder / self.hash
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name

    def write_artifact(self, name: str, payload: bytes) -> Path:
        """Atomically write an artifact returned by a unit (``row["_artifacts"]``)."""
        path = self.artifact(name)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return path

    def summary_path(self, digest: str) -> Path:
        return self.folder / self.hash / f"summary_{digest}.json"

    def summary(self, digest: str) -> dict[str, Any] | None:
        """The stored summary of the rows with content ``digest``, or ``None`` (read-only)."""
        path = self.summary_path(digest)
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None

    def write_summary(self, digest: str, summary: Mapping[str, Any]) -> Path:
        """Store a summary of the rows with content ``digest`` (older summaries are removed)."""
        path = self.summary_path(digest)
        for old in path.parent.glob("summary_*.json"):
            if old != path:
                old.unlink(missing_ok=True)  # another runner may have removed it already
        write_json(path, summary)
        return path

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
