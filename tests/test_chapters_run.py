"""Every chapter of the toc runs top to bottom in a fresh Jupyter kernel with its default
parameters — executed by nbclient, without papermill (what a reader who downloads or launches the
notebook gets). With the defaults a chapter only reads the committed full-scale store, so each
takes seconds; an error in any cell fails the test and names the cell.

``make book`` executes the same chapters on the same store. Where ``$WEAKNESS_BOOK_BUILD`` names
that build (``_build`` of this checkout; CI builds the book before the tests), a chapter that the
book executed with exactly its default parameters and from exactly its current cells is checked in
that executed copy instead of being executed a second time."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import nbformat
import pytest
import yaml

from weakness_lib.core.paths import project_root

ROOT = project_root()


def toc_chapters() -> list[Path]:
    """The notebooks whose rendered pages ``_toc.yml`` lists (``book/generated/<stem>``)."""
    data = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files: list[str] = []

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                files.append(entry["file"])
            for key in ("parts", "chapters", "sections"):
                walk(entry.get(key, []))

    walk([{"parts": data.get("parts", [])}, {"chapters": data.get("chapters", [])}])
    stems = [Path(f).name for f in files if f.startswith("book/generated/")]
    return [ROOT / "notebooks" / f"{stem}.ipynb" for stem in stems]


CHAPTERS = toc_chapters()


@pytest.fixture(autouse=True)
def committed_store(monkeypatch):
    """Default parameters read the committed store: undo a results folder another fixture set
    for the session (the smoke book points WEAKNESS_RESULTS at its own store); the kernel
    inherits this environment."""
    monkeypatch.delenv("WEAKNESS_RESULTS", raising=False)


def test_every_toc_chapter_has_a_notebook():
    assert CHAPTERS and all(p.exists() for p in CHAPTERS), [p for p in CHAPTERS if not p.exists()]


#: the ``_build`` folder of a ``make book`` of this checkout, whose executed chapters may be checked
BOOK_BUILD_ENV = "WEAKNESS_BOOK_BUILD"


def _cells(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source) for c in nb.cells]


def executed_by_the_book(notebook: Path) -> nbformat.NotebookNode | None:
    """The chapter as ``make book`` executed it (``$WEAKNESS_BOOK_BUILD``), without papermill's
    injected-parameters cell — if papermill injected exactly the chapter's defaults and every other
    cell is the chapter's current one; else ``None`` (the test executes the chapter itself)."""
    from weakness_lib.publish.book import declared_parameters

    given = os.environ.get(BOOK_BUILD_ENV)
    if not given:
        return None
    path = Path(given) / "src" / "book" / "generated" / notebook.name
    if not path.exists():
        pytest.fail(f"{BOOK_BUILD_ENV}={given} holds no executed {notebook.name}: run `make book` first")
    done = nbformat.read(path, as_version=4)
    injected = dict(done.metadata.get("papermill", {}).get("parameters") or {})
    defaults = {k: ast.literal_eval(v["default"]) for k, v in declared_parameters(notebook).items()}
    done.cells = [c for c in done.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    if any(k not in defaults or defaults[k] != v for k, v in injected.items()):
        return None
    if _cells(done) != _cells(nbformat.read(notebook, as_version=4)):
        return None  # the book predates a change of the chapter
    return done


@pytest.mark.slow
@pytest.mark.parametrize("notebook", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_runs_top_to_bottom_with_default_parameters(notebook: Path):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = executed_by_the_book(notebook)
    if nb is None:
        nb = nbformat.read(notebook, as_version=4)
        client = NotebookClient(nb, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(ROOT)}})
        try:
            client.execute()
        except CellExecutionError as exc:
            pytest.fail(f"{notebook.name}: {str(exc)[-2000:]}")
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), "a cell did not run"
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    # launch bootstrap, parameters, result box (chapters with claims), then the rerun box
    shown = "".join(str(o.get("data", {}).get("text/html", "")) for c in code[:4]
                    for o in c.get("outputs", []))
    assert "rerun-box" in shown, "no Rerun-this-chapter box near the top of the page"


def test_chapter_04_caveat_speaks_of_its_own_dataset():
    """The head-to-head caveat is written for the dataset the chapter shows (it once said
    Fashion-MNIST in the MNIST chapter)."""
    from weakness_lib.views import chapter
    from weakness_lib.views import head_to_head as report

    for study, own, other in (("head_to_head_mnist", "on MNIST", "Fashion"),
                              ("head_to_head_fmnist", "on Fashion-MNIST", None)):
        caveat = report.fit_caveat(chapter.load(study, "full"))
        assert own in caveat and (other is None or other not in caveat), caveat


def _as_the_book_ran(notebook: Path, build: Path, parameters: dict, edit: str | None = None) -> None:
    """Write ``notebook`` into ``build`` as papermill leaves it (an injected-parameters cell after the
    parameters cell, the parameters in the metadata), optionally with its last cell edited."""
    nb = nbformat.read(notebook, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    injected = nbformat.v4.new_code_cell("".join(f"{k} = {v!r}\n" for k, v in parameters.items()))
    injected.metadata["tags"] = ["injected-parameters", "remove-cell"]
    nb.cells.insert(at + 1, injected)
    nb.metadata["papermill"] = {"parameters": parameters}
    if edit is not None:
        nb.cells[-1].source += edit
    dest = build / "src" / "book" / "generated" / notebook.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dest)


def test_a_book_run_stands_in_only_with_the_defaults_and_the_current_cells(tmp_path, monkeypatch):
    chapter = CHAPTERS[0]
    monkeypatch.delenv(BOOK_BUILD_ENV, raising=False)
    assert executed_by_the_book(chapter) is None  # no book named: the test executes the chapter
    monkeypatch.setenv(BOOK_BUILD_ENV, str(tmp_path))
    _as_the_book_ran(chapter, tmp_path, {"scale": "full"})
    done = executed_by_the_book(chapter)
    assert done is not None and _cells(done) == _cells(nbformat.read(chapter, as_version=4))
    _as_the_book_ran(chapter, tmp_path, {"scale": "smoke"})  # not the default
    assert executed_by_the_book(chapter) is None
    _as_the_book_ran(chapter, tmp_path, {"scale": "full"}, edit="\n# changed since the book")
    assert executed_by_the_book(chapter) is None
    with pytest.raises(pytest.fail.Exception, match="make book"):
        executed_by_the_book(CHAPTERS[1])
