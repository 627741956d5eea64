"""Every notebook: committed clean, declares the profile parameters, runs at smoke scale; the
smoke book builds with warnings as errors (the ``smoke_book`` fixture lives in conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from weakness_lib.core.paths import SCALES
from weakness_lib.publish.book import (
    SCORECARD,
    BookError,
    chapter_notebooks,
    check_parameters,
    notebooks_dir,
    profile,
)

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
