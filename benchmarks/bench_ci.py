"""Record a clean-clone CI run (``bash .ci/run``) as ``benchmarks/results/ci.json``.

CI's own log is the measurement: ``.ci/run`` announces and times each step and prints the step
times and the total at its end; ``make test`` prints pytest's summary and its 25 slowest tests.
This script only reads that log (it runs nothing), so the record says what one real CI run cost:
each step's seconds, the total, the number of tests and the slowest ones, the clone's commit, the
CPU and the load of the machine while it ran (``--note``: what else ran beside it).

Run, after ``git clone <main> <dir>/repo; cd <dir>/repo; CI=true bash .ci/run > <log> 2>&1``:
    .venv/bin/python benchmarks/bench_ci.py --log <log> --repo <dir>/repo [--note "..."]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Machine, cpu_model, write_results  # noqa: E402

#: the goal set for a clean-clone CI run on the 2-core machine, in minutes
GOAL_MIN = 8.0
_STEP = re.compile(r"^\s*(\d+) s  (.+)$")
_TOTAL = re.compile(r"^total: (\d+) s$")
_SUMMARY = re.compile(r"^=*\s*(\d+) passed(?:, (\d+) skipped)?.* in ([\d.]+)s")
_SLOW = re.compile(r"^([\d.]+)s (call|setup|teardown)\s+(\S+)$")


def ungrouped(test_id: str) -> str:
    """A test id without pytest-xdist's ``@<group>`` suffix (``--dist loadgroup``); an ``@`` inside
    the parameters (``[intro@1280]``) stays."""
    at = test_id.rfind("@")
    return test_id[:at] if at > test_id.rfind("]") else test_id


class LoggedMachine(Machine):
    """The machine CI ran on (this one: the record is written right after the run), without the
    load average now, which would describe the moment of writing, not the run."""

    def finish(self) -> dict[str, Any]:
        return {"cpu": cpu_model(), "logical_cores": os.cpu_count() or 1,
                "note": "load while CI ran: results.note"}


def parse(text: str) -> dict[str, Any]:
    """Step times (the block after the last ``CI step times:``), total, test summary, slowest tests."""
    lines = text.splitlines()
    try:
        start = max(i for i, line in enumerate(lines) if line.strip().startswith("CI step times"))
    except ValueError:
        raise SystemExit("bench_ci: no 'CI step times' block in the log (did .ci/run finish?)") from None
    steps, total = [], None
    for line in lines[start + 1:]:
        if m := _STEP.match(line):
            steps.append({"step": m.group(2).strip(), "seconds": int(m.group(1))})
        elif m := _TOTAL.match(line.strip()):
            total = int(m.group(1))
    failed = any(line.startswith("CI FAILED") for line in lines)
    tests: dict[str, Any] = {}
    for line in lines:
        if m := _SUMMARY.match(line.strip()):
            tests = {"passed": int(m.group(1)), "skipped": int(m.group(2) or 0),
                     "pytest_s": float(m.group(3))}
    slowest = [{"seconds": float(m.group(1)), "phase": m.group(2), "test": ungrouped(m.group(3))}
               for line in lines if (m := _SLOW.match(line.strip()))]
    if total is None:
        raise SystemExit("bench_ci: no 'total: N s' line after the step times")
    return {"passed": not failed, "total_s": total, "steps": steps, "tests": tests,
            "slowest_tests": slowest}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log", type=Path, required=True, help="the output of CI=true bash .ci/run")
    ap.add_argument("--repo", type=Path, required=True, help="the clean clone CI ran in")
    ap.add_argument("--note", default="", help="what else ran on the machine meanwhile")
    args = ap.parse_args(argv)
    try:
        text = args.log.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        print(f"bench_ci: cannot read the CI log {args.log}: {exc.strerror}", file=sys.stderr)
        return 2
    commit = subprocess.run(["git", "-C", str(args.repo), "rev-parse", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "unknown"
    record = {**parse(text), "commit": commit, "goal_min": GOAL_MIN, "note": args.note}
    path = write_results("ci", LoggedMachine(), {"command": "CI=true bash .ci/run", "clone": "fresh"},
                         record)
    print(f"bench_ci: {record['total_s']} s at {commit[:10]} -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
