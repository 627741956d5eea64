"""Provenance records: which code, library versions and machine produced a result."""

from __future__ import annotations

import datetime as _dt
import platform
import subprocess
import sys

import torch

from weakness_lib.core import numerics
from weakness_lib.core.cpu import cpu_model
from weakness_lib.core.paths import project_root


def git_commit() -> str:
    """``HEAD`` of the project repository, suffixed ``+dirty`` when tracked *code* differs.

    Changes under ``results/`` are outputs, not code: a run that has already written some claim
    or table files is still a run of a clean commit."""
    root = project_root()
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + ("+dirty" if dirty else "")


def now_iso() -> str:
    """Current UTC time, ISO 8601, second resolution."""
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()


def environment() -> dict[str, str | int]:
    """Versions and machine facts that can change a floating-point result."""
    return {
        "cpu": cpu_model(),
        "git_commit": git_commit(),
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "torch_threads": torch.get_num_threads(),
        "numerics": numerics.record(),
        "date": now_iso(),
    }
