"""What a chapter notebook calls: load a study's analysed results from the store, never compute.

Every chapter's parameters cell declares ``scale = "full"`` and ``compute = False``. With the
defaults a chapter renders the published results in seconds; a unit missing from the store stops
the chapter with one line naming the command that computes it. ``compute=True`` (opt-in, for
readers who explore) first runs the missing units through the same runner as
``weakness-repro run`` — same file lock, same single writer, same refusal to recompute a committed
full-scale study whose settings changed — and then loads. A chapter reads its verdicts from the
claim files the runner wrote (:func:`claim`), never re-derives them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from weakness_lib.core.claims import claims_dir
from weakness_lib.core.paths import check_scale
from weakness_lib.engine import registry
from weakness_lib.engine.base import MissingResults


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


def claim(claim_id: str, scale: str = "full") -> dict[str, Any]:
    """The claim file ``claim_id`` at ``scale`` (:class:`MissingResults` naming the command)."""
    path = claims_dir(check_scale(scale)) / f"{claim_id}.json"
    if not path.exists():
        raise MissingResults(f"claim {claim_id} at scale {scale} is not derived yet; compute it "
                             f"with `weakness-repro run <its study> --scale {scale}`")
    return json.loads(path.read_text(encoding="utf-8"))


def derived(claim_ids: Iterable[str], scale: str = "full") -> dict[str, dict[str, Any]]:
    """The claim files among ``claim_ids`` that are derived at ``scale``, in order (the others,
    not computed yet, are left out; a chapter says so where it needs one)."""
    folder = claims_dir(check_scale(scale))
    return {c: claim(c, scale) for c in claim_ids if (folder / f"{c}.json").exists()}


def glue(**values: Any) -> None:
    """Glue each value under its name for the chapter's prose (myst-nb, not displayed)."""
    from myst_nb import glue as glue_one

    for key, value in values.items():
        glue_one(key, value, display=False)
