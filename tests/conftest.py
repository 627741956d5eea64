"""Shared fixtures: tiny float64 networks and batches, isolated results/cache folders, and the
smoke book (built once per test run, used by test_notebooks.py and test_browser.py).

``$WEAKNESS_SMOKE_STORE`` (a results root holding ``smoke/``, as ``.ci/run`` leaves it after its
``weakness-repro run all --scale smoke``) lets the smoke book read that store instead of running
every study again; unset, the fixture computes the store itself (``make test`` alone). Under
pytest-xdist (``make test`` runs 2 workers) the book is built once, by the first worker that
needs it, under a file lock; the tests that use it run on one worker (``xdist_group``)."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# Waiting OpenMP threads sleep instead of spinning. make test runs 2 pytest-xdist workers on 2 cores,
# each with torch on up to 2 threads, and spinning threads took the cores from the other worker's
# work: two test files run side by side took 10.1 s and 12.8 s, 6.2 s and 9.8 s with PASSIVE (AMD
# EPYC). The policy says how an idle thread waits, not how work is split among threads, so no
# result depends on it. Set before torch loads its OpenMP runtime.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# isort: off
import weakness_lib  # noqa: F401  (first: pins CPU dispatch before torch or numpy loads)
import pytest
import torch
# isort: on

from weakness_lib.bennett.models import build_mlp
from weakness_lib.core.paths import configs_dir
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

#: a results root whose ``smoke/`` the smoke book reads instead of computing its own
SMOKE_STORE_ENV = "WEAKNESS_SMOKE_STORE"
#: a built book that the tests of the rendered pages check instead of the smoke book (CI: the one
#: ``make book`` built, the published book)
BOOK_HTML_ENV = "WEAKNESS_BOOK_HTML"
#: test files that check the rendered book: the smoke book unless ``$WEAKNESS_BOOK_HTML`` names one
RENDERED_BOOK_FILES = ("test_browser.py", "test_book_names.py")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    """xdist groups (``--dist loadgroup``): the tests that use the smoke book run on the worker that
    builds it, so that no other worker waits for it; the browser tests share one served site and
    one pass over its pages (a module fixture), so they run on one worker too — beside the smoke
    book's when they check a given book."""
    given = bool(os.environ.get(BOOK_HTML_ENV))
    for item in items:
        if "smoke_book" in getattr(item, "fixturenames", ()) or (
                item.path.name in RENDERED_BOOK_FILES and not given):
            item.add_marker(pytest.mark.xdist_group("smoke_book"))
        elif item.path.name == "test_browser.py":
            item.add_marker(pytest.mark.xdist_group("given_book"))


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


def _build_smoke_book(out: Path) -> tuple[dict[str, str], str | None]:
    """Every study at smoke scale into ``out/results`` (or ``$WEAKNESS_SMOKE_STORE``, linked
    there), every notebook executed into a staged book, the book built: ``(errors, build_error)``."""
    from weakness_lib.engine.registry import STUDIES
    from weakness_lib.engine.runner import run_studies

    given = os.environ.get(SMOKE_STORE_ENV)
    if given and not (out / "results").is_symlink():
        (out / "results").symlink_to(Path(given).resolve(), target_is_directory=True)
    saved = os.environ.get("WEAKNESS_RESULTS")
    os.environ["WEAKNESS_RESULTS"] = str(out / "results")  # the kernels inherit it
    try:
        # what `make book` does; with a complete $WEAKNESS_SMOKE_STORE it computes nothing
        run_studies(list(STUDIES), "smoke", workers=2, progress=False)
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
        return errors, build_error
    finally:
        if saved is None:
            os.environ.pop("WEAKNESS_RESULTS", None)
        else:
            os.environ["WEAKNESS_RESULTS"] = saved


@pytest.fixture(scope="session")
def smoke_book(tmp_path_factory):
    """The smoke book, built once per test run (shared by xdist workers through a file lock).

    Returns ``(out, errors, build_error)``: ``out/_build/html`` is the book, ``out/results/smoke``
    the results store it read, ``errors`` maps failed notebook stems to their error.
    """
    if os.environ.get("PYTEST_XDIST_WORKER"):  # one folder for all workers of this run
        out = tmp_path_factory.getbasetemp().parent / "smoke_book"
    else:
        out = tmp_path_factory.mktemp("smoke_book")
    out.mkdir(exist_ok=True)
    done = out / "built.json"
    with open(out.parent / "smoke_book.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second worker waits for the first's book
        try:
            if not done.exists():
                errors, build_error = _build_smoke_book(out)
                done.write_text(json.dumps({"errors": errors, "build_error": build_error}))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    built = json.loads(done.read_text())
    return out, built["errors"], built["build_error"]


@pytest.fixture
def user_configs(tmp_path, monkeypatch):
    """A user's copy of configs/ (WEAKNESS_CONFIGS) to edit, and an empty results store."""
    shutil.copytree(configs_dir(), tmp_path / "configs")
    monkeypatch.setenv("WEAKNESS_CONFIGS", str(tmp_path / "configs"))
    monkeypatch.setenv("WEAKNESS_RESULTS", str(tmp_path / "results"))
    return tmp_path / "configs"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def edit():
    """``edit(path, old, new)``: replace the one occurrence of ``old`` in a (config) file."""
    return _edit
