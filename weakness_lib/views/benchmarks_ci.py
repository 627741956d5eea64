"""The benchmarks appendix's section on the test loop: one clean-clone CI run
(``benchmarks/results/ci.json``, written by ``benchmarks/bench_ci.py`` from CI's own log), its steps
and slowest tests against the goal set for it. Re-exported by
:mod:`weakness_lib.views.benchmarks_book`."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from weakness_lib.views import bench as br
from weakness_lib.views import tables
from weakness_lib.views.chapter import glue

#: how many of the slowest tests the page lists
SHOWN = 10


def ci() -> None:
    """The test loop: one clean-clone CI run (``benchmarks/results/ci.json``), its steps and its
    slowest tests, against the goal set for it."""
    from IPython.display import display

    rec = br.load_optional("ci")
    if rec is None:
        br.markdown("*No `benchmarks/results/ci.json` yet: run `benchmarks/bench_ci.py` on a CI log.*")
        return
    r = rec["results"]
    minutes, goal = r["total_s"] / 60, float(r["goal_min"])
    glue(ci_total_min=minutes, ci_tests=r["tests"].get("passed", 0))
    tests = r["tests"]
    br.markdown(
        f"One clean-clone CI run (`CI=true bash .ci/run` in a fresh clone at commit "
        f"`{r['commit'][:10]}`, {rec['machine']['logical_cores']} cores of an {rec['machine']['cpu']}): "
        f"**{minutes:.1f} min** (goal: at most {goal:g} minutes; {br.met(minutes <= goal)}), "
        f"{'passed' if r['passed'] else 'failed'}, {tests.get('passed', 0):,} tests passed and "
        f"{tests.get('skipped', 0)} skipped. The machine was {r['note'] or 'otherwise idle'}."
        + _largest_step(r["steps"], r["total_s"]))
    steps = pd.DataFrame(r["steps"])[["step", "seconds"]].rename(columns={"step": "CI step"})
    background = any("background" in st["step"] for st in r["steps"])  # CI records since 7f0bafd
    display(tables.table(steps, formats={"seconds": "{:,.0f}"}, caption=(
        "Two jobs run in the background beside steps that keep only one core busy for much of "
        "their time: the launch tests' Binder venv (a second torch install, beside make venv) and "
        "verify-sample (one process, beside the smoke runs and make book). A 'wait' row is how "
        "long CI then waited for one of them.") if background else None))
    if r.get("slowest_tests"):
        slow = pd.DataFrame(r["slowest_tests"])[["test", "phase", "seconds"]].head(SHOWN)
        slow["test"] = [_test_id(t) for t in slow["test"]]  # a reader may rerun it
        display(tables.table(slow, formats={"seconds": "{:,.1f}"}, wrap=["test"],
                             escape=False, caption=f"The {len(slow)} slowest tests (pytest --durations). A "
                             "'setup' is a fixture that a group of tests shares, timed with the "
                             "first of them: the smoke book (every chapter executed at smoke scale, "
                             "then built), the browser's visit of every page."))


def _largest_step(steps: list[dict[str, Any]], total_s: float) -> str:
    """' The largest step is <name>: <share> % of the run.' (empty without steps)."""
    if not steps or not total_s:
        return ""
    top = max(steps, key=lambda st: st["seconds"])
    return f" The largest step is {top['step']}: {100 * top['seconds'] / total_s:.0f} % of the run."


def _test_id(test: str) -> str:
    """A pytest id as inline code that wraps only between its words (after ``/``, ``::``, ``_``)."""
    breaks = {"/": "/<wbr>", "::": "::<wbr>", "_": "_<wbr>"}
    text = html.escape(test)
    for sep, shown in breaks.items():
        text = text.replace(sep, shown)
    return f'<code class="test-id">{text}</code>'
