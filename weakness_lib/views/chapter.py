"""What a chapter notebook calls: load a study's analysed results from the store, never compute.

Every chapter's parameters cell declares ``scale = "full"`` and ``compute = False``. With the
defaults a chapter renders the published results in seconds; a unit missing from the store stops
the chapter with one line naming the command that computes it. ``compute=True`` (opt-in, for
readers who explore) first runs the missing units through the same runner as
``weakness-repro run`` — same file lock, same single writer, same refusal to recompute a committed
full-scale study whose settings changed — and then loads.
"""

from __future__ import annotations

from typing import Any

from weakness_lib.core.paths import check_scale
from weakness_lib.engine import registry


def load(study: str, scale: str = "full", compute: bool = False) -> dict[str, Any]:
    """``analyse`` of ``study`` at ``scale`` (after running its missing units if ``compute``).

    The chapter's parameters are checked first, each in one line (``papermill -p scale 123``
    passes a number; ``-p compute yes`` a string)."""
    check_scale(scale)
    if not isinstance(compute, bool):
        raise ValueError(f"compute must be True or False, got {compute!r}")
    spec = registry.get(study)
    if compute:
        from weakness_lib.engine.runner import run_studies

        run_studies([study], scale, explicit=False)  # a changed full-scale setting still stops
    return spec.load().analyse(scale, **spec.params)
