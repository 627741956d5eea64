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


def _chapter_code(nb: dict) -> list[dict]:
    """The chapter's own code cells: all but the launch bootstrap (weakness_lib.publish.launch),
    whose clone-and-install code runs only where the package is missing."""
    from weakness_lib.publish.launch import MARK

    return [c for c in nb["cells"] if c["cell_type"] == "code"
            and not "".join(c["source"]).startswith(MARK)]


@pytest.mark.parametrize("notebook", ALL, ids=IDS)
def test_committed_without_outputs_and_with_parameters_cell(notebook: Path):
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    code = _chapter_code(nb)  # the launch bootstrap comes first (tests/test_launch.py checks it)
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


COMPUTE_CALLS = ("compute_unit", "run_studies", "get_or_compute", ".run(", "summarise(")


@pytest.mark.parametrize("notebook", ALL, ids=IDS)
def test_no_notebook_calls_a_compute_function(notebook: Path):
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    source = "\n".join("".join(c["source"]) for c in _chapter_code(nb))
    assert not [c for c in COMPUTE_CALLS if c in source]
    params = "".join(_chapter_code(nb)[0]["source"])
    assert 'scale = "full"' in params and "compute = False" in params  # defaults: published, read-only


@pytest.mark.slow
def test_chapters_render_from_the_store_in_any_order(smoke_book, tmp_path, monkeypatch):
    """Against the store the smoke book used: the chapters that need others first, reversed."""
    from weakness_lib.publish.book import execute

    out, _, _ = smoke_book
    monkeypatch.setenv("WEAKNESS_RESULTS", str(out / "results"))
    claims = {p.name: p.read_bytes() for p in (out / "results" / "smoke" / "claims").glob("*.json")}
    for stem in ("09_wen_scenario_III", "06_theory_finite_languages", "01_reparameterisation"):
        execute(notebooks_dir() / f"{stem}.ipynb", tmp_path / f"{stem}.ipynb", {"scale": "smoke"})
    after = {p.name: p.read_bytes() for p in (out / "results" / "smoke" / "claims").glob("*.json")}
    assert after == claims  # chapters never write claims


@pytest.mark.slow
def test_a_missing_unit_stops_a_chapter_with_one_line(tmp_path, monkeypatch):
    from weakness_lib.publish.book import execute

    monkeypatch.setenv("WEAKNESS_RESULTS", str(tmp_path / "empty"))
    with pytest.raises(BookError) as exc:
        execute(notebooks_dir() / "01_reparameterisation.ipynb", tmp_path / "01.ipynb", {"scale": "smoke"})
    assert "weakness-repro run reparameterisation --scale smoke" in str(exc.value)
    failed = json.loads((tmp_path / "01.failed.ipynb").read_text(encoding="utf-8"))
    errors = [o for c in failed["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert len(errors) == 1 and len(errors[0]["traceback"]) == 1  # one line, no traceback
    assert not (tmp_path / "empty" / "smoke" / "reparameterisation").exists()  # nothing computed
