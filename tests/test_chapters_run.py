"""Every chapter of the toc runs top to bottom in a fresh Jupyter kernel with its default
parameters — executed by nbclient, without papermill (what a reader who downloads or launches the
notebook gets). With the defaults a chapter only reads the committed full-scale store, so each
takes seconds; an error in any cell fails the test and names the cell."""

from __future__ import annotations

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


@pytest.mark.slow
@pytest.mark.parametrize("notebook", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_runs_top_to_bottom_with_default_parameters(notebook: Path):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

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
