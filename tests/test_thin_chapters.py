"""Issue 16, part 3 and the render rule of part 1: chapters are a few calls into their view
modules, and no view resamples while a page renders (bootstrap summaries are computed by the
studies when they derive their claims, and stored)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from weakness_lib.publish.book import SCORECARD, chapter_notebooks, notebooks_dir
from weakness_lib.publish.launch import MARK

NOTEBOOKS = chapter_notebooks() + [notebooks_dir() / SCORECARD]
MAX_CODE_LINES = 40
VIEWS = Path(__file__).resolve().parent.parent / "weakness_lib" / "views"
#: chapters not yet moved into their views (strict xfail: remove an entry once its chapter is thin)
PENDING: dict[str, str] = {}
#: calls that resample or refit: none may run while a page renders
RESAMPLING = re.compile(r"\b(bootstrap\w*|pooled_rho|score_measures|n_resamples|n_boot|"
                        r"psi_between_configurations|permutation_test|resample\w*|"
                        r"default_rng|\.fit\(|train_network|compute_unit|summarise)\b")


def code_lines(notebook: Path) -> int:
    """Non-blank, non-comment lines of the notebook's code cells, except the launch bootstrap (the
    same cell in every chapter, hidden in the book: :mod:`weakness_lib.publish.launch`)."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    return sum(1 for c in nb["cells"] if c["cell_type"] == "code"
               and not "".join(c["source"]).startswith(MARK)
               for line in "".join(c["source"]).splitlines()
               if line.strip() and not line.strip().startswith("#"))


@pytest.mark.parametrize("notebook", [
    pytest.param(p, marks=pytest.mark.xfail(strict=True, reason=PENDING[p.stem])) if p.stem in PENDING else p
    for p in NOTEBOOKS], ids=[p.stem for p in NOTEBOOKS])
def test_chapter_is_a_few_calls_into_its_view(notebook: Path):
    n = code_lines(notebook)
    assert n <= MAX_CODE_LINES, (f"{notebook.name} holds {n} lines of code (at most {MAX_CODE_LINES}): "
                                 "move its logic into its module under weakness_lib/views/")


def test_code_lines_count_code_only(tmp_path):
    nb = {"cells": [{"cell_type": "markdown", "source": ["a\n", "b"]},
                    {"cell_type": "code", "source": ["# comment\n", "\n", "x = 1\n", "  # indented\n", "y()"]},
                    {"cell_type": "code", "source": [MARK + "\n", "import os\n"]}]}
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert code_lines(path) == 2


@pytest.mark.parametrize("module", sorted(VIEWS.glob("*.py")), ids=lambda p: p.stem)
def test_no_view_resamples_or_refits(module: Path):
    code = "\n".join(line.split("#", 1)[0] for line in module.read_text(encoding="utf-8").splitlines())
    code = re.sub(r'"""(.|\n)*?"""', "", code)  # docstrings may name what the studies store
    hits = sorted(set(RESAMPLING.findall(code)))
    assert not hits, f"{module.name} calls {hits} at render time: compute it in the study and store it"
