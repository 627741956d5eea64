"""`make test` runs on two pytest-xdist workers with ``--dist loadgroup``: the tests that share an
expensive fixture (the smoke book, the served book, the two 5 GB launch venvs) are grouped on one
worker (``xdist_group``, conftest.py and test_launch.py). pytest 9 with pytest-xdist 3.8 silently
stopped grouping (every group was split across both workers, each building what the group
shares), so this checks that a group really lands on one worker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

INNER = '''
import os, pytest

@pytest.mark.xdist_group("shared")
@pytest.mark.parametrize("i", range(6))
def test_grouped(i):
    with open(os.environ["WORKERS_SEEN"], "a") as f:
        f.write(os.environ.get("PYTEST_XDIST_WORKER", "none") + "\\n")

@pytest.mark.parametrize("i", range(6))
def test_free(i):
    pass
'''


@pytest.mark.slow
def test_a_group_runs_on_one_worker(tmp_path: Path):
    (tmp_path / "test_inner.py").write_text(INNER)
    seen = tmp_path / "seen.txt"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "2", "--dist", "loadgroup",
                           "-p", "no:cacheprovider", str(tmp_path / "test_inner.py")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300,
                          env={**os.environ, "WORKERS_SEEN": str(seen)})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    workers = seen.read_text().split()
    assert len(workers) == 6 and len(set(workers)) == 1, f"the group ran on {sorted(set(workers))}"
