"""Where the project keeps things: project root, results store, configs, caches.

Environment overrides (all optional):
``WEAKNESS_ROOT`` (project root), ``WEAKNESS_CONFIGS`` (pre-registrations), ``WEAKNESS_RESULTS`` (results root, holding ``smoke/`` and
``full/``), ``WEAKNESS_DATA`` (dataset folder, see :mod:`weakness_lib.bennett.data`), ``WEAKNESS_CACHE``
(writable cache for decompressed data).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

SCALES: tuple[str, ...] = ("smoke", "full")


def project_root() -> Path:
    """The repository root: ``$WEAKNESS_ROOT``, else the folder holding this package's pyproject."""
    env = os.environ.get("WEAKNESS_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parents[2]
    if (here / "pyproject.toml").exists():
        return here
    return Path.cwd().resolve()


class ScaleError(ValueError):
    """A scale that is neither ``smoke`` nor ``full``; a notebook shows just its one line."""

    def _render_traceback_(self) -> list[str]:  # IPython's hook: shown instead of a traceback
        return [f"{type(self).__name__}: {self}"]


def check_scale(scale: str) -> str:
    """Validate a scale name (``smoke`` or ``full``): one line naming what is wrong otherwise
    (e.g. ``papermill … -p scale 123``, where papermill passes the number 123)."""
    if not isinstance(scale, str) or scale not in SCALES:
        raise ScaleError(f"scale must be 'smoke' or 'full', got {scale!r}")
    return scale


def results_root(scale: str) -> Path:
    """Results of one scale: ``results/full`` is committed, ``results/smoke`` is git-ignored."""
    base = os.environ.get("WEAKNESS_RESULTS")
    root = Path(base) if base else project_root() / "results"
    return root / check_scale(scale)


def configs_dir() -> Path:
    """Pre-registered experiment configs (committed before full runs): ``$WEAKNESS_CONFIGS`` or
    ``configs/`` of the project."""
    env = os.environ.get("WEAKNESS_CONFIGS")
    return Path(env) if env else project_root() / "configs"


def cache_dir() -> Path:
    """A writable cache (decompressed datasets): ``$WEAKNESS_CACHE`` or the user cache dir."""
    env = os.environ.get("WEAKNESS_CACHE")
    return Path(env) if env else Path(platformdirs.user_cache_dir("weakness_lib"))
