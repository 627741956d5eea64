"""Shared fixtures: tiny float64 networks and batches, isolated results/cache folders, and the
smoke book (built once per session, used by test_notebooks.py and test_browser.py)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# isort: off
import weakness_lib  # noqa: F401  (first: pins CPU dispatch before torch or numpy loads)
import pytest
import torch
# isort: on

from weakness_lib.bennett.models import build_mlp
from weakness_lib.publish.book import (
    SCORECARD,
    BookError,
    chapter_notebooks,
    execute,
    jupyter_book,
    notebooks_dir,
    profile,
    stage,
)

torch.set_num_threads(max(1, min(2, torch.get_num_threads())))


@pytest.fixture
def tiny_mlp():
    """A 5-4-3-3 ReLU MLP with biases, in float64 (≈ 51 parameters)."""
    return build_mlp((5, 4, 3, 3), seed=0).double()


@pytest.fixture
def tiny_batch():
    gen = torch.Generator().manual_seed(1)
    X = torch.randn(32, 5, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 3, (32,), generator=gen)
    return X, y


@pytest.fixture
def isolated_results(tmp_path, monkeypatch):
    """Point the results store and the data cache at temporary folders."""
    monkeypatch.setenv("WEAKNESS_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("WEAKNESS_CACHE", str(tmp_path / "cache"))
    return tmp_path


@pytest.fixture(scope="session")
def smoke_book(tmp_path_factory):
    """Run every study at smoke scale (2 Dask workers), execute every notebook into a staged book,
    then build it (once).

    Yields ``(out, errors, build_error)``: ``out/_build/html`` is the book, ``out/results/smoke``
    the results store it wrote, ``errors`` maps failed notebook stems to their error.
    """
    out = tmp_path_factory.mktemp("smoke_book")
    saved = os.environ.get("WEAKNESS_RESULTS")
    os.environ["WEAKNESS_RESULTS"] = str(out / "results")
    try:
        from weakness_lib.engine.registry import STUDIES
        from weakness_lib.engine.runner import run_studies

        run_studies(list(STUDIES), "smoke", workers=2, progress=False)  # what `make book` does
        staging = out / "_build" / "src"
        stage(staging)
        dest = staging / "book" / "generated"
        params = profile("smoke")

        def run(nb: Path) -> tuple[str, str | None]:
            try:
                execute(nb, dest / nb.name, params, timeout=300)
                return nb.stem, None
            except BookError as exc:
                return nb.stem, str(exc)

        with ThreadPoolExecutor(max_workers=2) as pool:
            errors = {k: v for k, v in pool.map(run, chapter_notebooks()) if v}
        errors.update({k: v for k, v in [run(notebooks_dir() / SCORECARD)] if v})
        build_error = None
        if not errors:
            try:
                jupyter_book(staging, out)
            except BookError as exc:
                build_error = str(exc)
        yield out, errors, build_error
    finally:
        if saved is None:
            os.environ.pop("WEAKNESS_RESULTS", None)
        else:
            os.environ["WEAKNESS_RESULTS"] = saved
