"""Launch buttons that work: the first code cell of every chapter, and the Binder environment.

The book's Binder and Colab buttons open the committed notebook ``notebooks/<chapter>.ipynb``.

* **Binder** builds ``binder/requirements.txt`` (pinned CPU-only torch, then the repository itself,
  editable, so the committed results, configs and claims are found beside the package).
* **Colab** (or any Jupyter without the package) has no ``weakness_lib`` and no results. The first
  code cell of every chapter, :data:`BOOTSTRAP`, then clones the repository (``$WEAKNESS_REPO``, else
  the book's repository from ``_config.yml``), installs the package from the clone and points
  ``$WEAKNESS_ROOT`` at the clone; where ``weakness_lib`` imports, it does nothing. The cell is tagged
  ``remove-cell``: the rendered book does not show it.

``python -m weakness_lib.publish.launch`` writes the cell into every notebook (a test checks that
each notebook carries it, unchanged).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from weakness_lib.core.paths import project_root

#: the tag that keeps the cell out of the rendered book (Jupyter Book's ``remove-cell``)
TAGS = ["remove-cell"]
#: marks the cell, so that a rewrite finds and replaces it
MARK = "# launch bootstrap (Colab, or any Jupyter without weakness_lib)"

BOOTSTRAP = '''{mark}: install the package from the
# repository and use its committed results. Where weakness_lib is installed, this cell does nothing.
import importlib.util, os, subprocess, sys
if importlib.util.find_spec("weakness_lib") is None:
    _repo = os.environ.get("WEAKNESS_REPO", "{url}")
    _dest = os.path.abspath(os.environ.get("WEAKNESS_CLONE", "flat-minima-book"))
    if not os.path.isdir(_dest):
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", _repo, _dest], check=True)
    _pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", _dest],
                          capture_output=True, text=True)
    if _pip.returncode:
        raise RuntimeError("installing weakness_lib failed:\\n" + _pip.stderr[-3000:])
    os.environ["WEAKNESS_ROOT"] = _dest  # committed results, configs and claims
    importlib.invalidate_caches()'''


def repository_url(root: Path | None = None) -> str:
    """The repository the book is published from (``repository.url`` of ``_config.yml``)."""
    config = yaml.safe_load(((root or project_root()) / "_config.yml").read_text())
    return str(config["repository"]["url"])


def bootstrap_source(url: str | None = None) -> str:
    """The bootstrap cell's code for the repository ``url`` (default: the book's)."""
    return BOOTSTRAP.format(mark=MARK, url=url or repository_url())


def _cell(source: str) -> dict:
    lines = source.splitlines(keepends=True)
    return {"cell_type": "code", "execution_count": None, "id": "launch-bootstrap",
            "metadata": {"tags": list(TAGS)}, "outputs": [], "source": lines}


def with_bootstrap(nb: dict, source: str) -> dict:
    """``nb`` with the bootstrap as its first code cell (an older bootstrap cell is replaced)."""
    cells = [c for c in nb["cells"]
             if not (c["cell_type"] == "code" and "".join(c["source"]).startswith(MARK))]
    first_code = next((i for i, c in enumerate(cells) if c["cell_type"] == "code"), len(cells))
    cells.insert(first_code, _cell(source))
    return {**nb, "cells": cells}


def bootstrap_of(nb: dict) -> tuple[int, dict] | None:
    """Index among code cells and the cell itself of ``nb``'s bootstrap, or ``None``."""
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for i, c in enumerate(code):
        if "".join(c["source"]).startswith(MARK):
            return i, c
    return None


def write_all(folder: Path | None = None) -> list[Path]:
    """Write the current bootstrap into every notebook of ``notebooks/``; return those changed."""
    folder = folder or project_root() / "notebooks"
    source, changed = bootstrap_source(), []
    for path in sorted(folder.glob("*.ipynb")):
        nb = json.loads(path.read_text())
        new = with_bootstrap(nb, source)
        if new != nb:
            path.write_text(json.dumps(new, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
            changed.append(path)
    return changed


if __name__ == "__main__":
    for p in write_all(Path(sys.argv[1]) if len(sys.argv) > 1 else None):
        print(f"bootstrap written: {p}")
