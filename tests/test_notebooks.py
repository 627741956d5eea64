"""Every notebook: committed clean, declares the profile parameters, runs at smoke scale; the
smoke book builds with warnings as errors."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from weakness_lib.book import (
    SCORECARD,
    BookError,
    chapter_notebooks,
    check_parameters,
    execute,
    jupyter_book,
    notebooks_dir,
    profile,
    stage,
)
from weakness_lib.paths import SCALES

CHAPTERS = chapter_notebooks()
ALL = CHAPTERS + [notebooks_dir() / SCORECARD]
IDS = [p.stem for p in ALL]


@pytest.mark.parametrize("notebook", ALL, ids=IDS)
def test_committed_without_outputs_and_with_parameters_cell(notebook: Path):
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    assert "parameters" in code[0]["metadata"].get("tags", []), "first code cell must be 'parameters'"
    source = "\n".join("".join(c["source"]) for c in code)
    assert "matplotlib.use" not in source and "!pip" not in source and "%pip" not in source


@pytest.mark.parametrize("notebook", ALL, ids=IDS)
@pytest.mark.parametrize("scale", SCALES)
def test_profile_parameters_are_declared(notebook: Path, scale: str):
    check_parameters(notebook, profile(scale))


def test_unknown_or_mistyped_parameter_is_an_error():
    nb = ALL[0]
    with pytest.raises(BookError, match="unknown parameter 'scael'"):
        check_parameters(nb, {"scael": "full"})
    with pytest.raises(BookError, match="must be str"):
        check_parameters(nb, {"scale": 3})


@pytest.fixture(scope="session")
def smoke_book(tmp_path_factory):
    """Execute every notebook at smoke scale into a staged book, then build it (once)."""
    out = tmp_path_factory.mktemp("smoke_book")
    saved = os.environ.get("WEAKNESS_RESULTS")
    os.environ["WEAKNESS_RESULTS"] = str(out / "results")
    try:
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
            errors = {k: v for k, v in pool.map(run, CHAPTERS) if v}
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


@pytest.mark.slow
@pytest.mark.parametrize("notebook", ALL, ids=IDS)
def test_notebook_runs_at_smoke_scale(smoke_book, notebook: Path):
    _, errors, _ = smoke_book
    assert notebook.stem not in errors, errors.get(notebook.stem)


@pytest.mark.slow
def test_smoke_book_builds_with_warnings_as_errors(smoke_book):
    out, errors, build_error = smoke_book
    assert not errors, f"notebooks failed: {sorted(errors)}"
    assert build_error is None, build_error
    html = out / "_build" / "html"
    assert (html / "index.html").exists()
    scorecard = (html / "book" / "generated" / "scorecard.html").read_text(encoding="utf-8")
    claims = sorted((out / "results" / "smoke" / "claims").glob("*.json"))
    assert claims, "the smoke run wrote no claim files"
    for claim in claims:
        assert claim.stem in scorecard
    chapter = (html / "book" / "generated" / "01_reparameterisation.html").read_text(encoding="utf-8")
    assert "<img" in chapter and "Traceback" not in chapter
