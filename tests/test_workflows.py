"""The publishing workflow under .github/workflows/ passes actionlint, and builds and deploys the
book the way the README says.

actionlint comes from PyPI with the dev extras (a wheel that ships the binary: nothing is
downloaded at install or run time). Without it the test skips on a developer machine and fails
under CI (``$CI`` set).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from weakness_lib.core.paths import project_root

WORKFLOWS = sorted((project_root() / ".github" / "workflows").glob("*.y*ml"))


def actionlint() -> str:
    exe = Path(sys.executable).with_name("actionlint")
    found = str(exe) if exe.exists() else shutil.which("actionlint")
    if found:
        return found
    message = "actionlint not installed: pip install -e '.[dev]'"
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {message}")
    pytest.skip(message)


def test_there_is_a_publishing_workflow():
    assert WORKFLOWS, "no workflow under .github/workflows/"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_actionlint_passes(workflow: Path):
    proc = subprocess.run([actionlint(), "-no-color", str(workflow)], capture_output=True, text=True,
                          cwd=project_root())
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path):
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ github.nonexistent_context_key }}\n      - uses: \n",
                   encoding="utf-8")
    proc = subprocess.run([actionlint(), "-no-color", str(bad)], capture_output=True, text=True,
                          cwd=tmp_path)
    assert proc.returncode != 0


def test_book_workflow_builds_with_the_readme_command_and_deploys_the_html():
    book = yaml.safe_load((project_root() / ".github" / "workflows" / "book.yml").read_text())
    steps = book["jobs"]["build"]["steps"]
    runs = [s.get("run", "") for s in steps]
    assert "make book" in runs
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_build/html"
    assert any(str(s.get("uses", "")).startswith("actions/deploy-pages")
               for s in book["jobs"]["deploy"]["steps"])
    build_env = next(s for s in steps if s.get("run") == "make book").get("env", {})
    assert "BOOK_REPOSITORY_URL" in build_env  # launch buttons open the repository it runs in
