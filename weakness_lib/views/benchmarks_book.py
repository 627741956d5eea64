"""The code of the benchmarks appendix (``notebooks/10_benchmarks.ipynb``), second half: the study
runner with 1 and 2 workers, the confirmatory compute of chapter 5b, pinned numerics and the
re-derived store, and the time of the whole book. The first half is
:mod:`weakness_lib.views.benchmarks_chapter`.

Every number is read from the committed ``benchmarks/results/*.json``; a missing file is said in
one line naming the script that writes it. Each function shows what one cell of the page shows and
glues the numbers its prose quotes.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from weakness_lib.views import bench as br
from weakness_lib.views import names, tables
from weakness_lib.views import rederive as rv
from weakness_lib.views.benchmarks_ci import ci  # noqa: F401  (the appendix calls bb.ci())
from weakness_lib.views.chapter import glue

#: the goals set for the benchmarks before they ran: the runner's speed-up with 2 workers over 1, the
#: smoke book's wall time (s) and the paper-scale book's from a clean clone (min)
RUNNER_GOAL, SMOKE_BOOK_GOAL_S, CLEAN_CLONE_GOAL_MIN = 1.8, 300, 45
#: the runner benchmark's workloads (``benchmarks/results/runner.json``) as a reader names them
WORKLOADS = {"head_to_head_20": "20 head-to-head networks (MNIST, full scale)",
             "smoke": "every study at smoke scale"}




def runner() -> None:
    """The study runner with 1 and 2 Dask workers (speed-up of the 20 head-to-head networks)."""
    from IPython.display import display

    rec = br.load_optional("runner")
    if rec is None:
        br.markdown("*No `benchmarks/results/runner.json` yet: run `benchmarks/bench_runner.py`.*")
        return
    rt = br.runner_table(rec)
    rt["workload"] = rt["workload"].map(lambda w: WORKLOADS.get(w, w))
    h2h = rec["results"].get("head_to_head_20")
    if h2h:
        glue(runner_speedup_20=h2h["speedup"])
        br.markdown(f"20 head-to-head networks: **{h2h['speedup']:.2f}×** faster with 2 workers "
                  f"(goal: at least {RUNNER_GOAL:g} times as fast; {br.met(h2h['speedup'] >= RUNNER_GOAL)}); stores bit-identical: "
                  f"{'yes' if h2h['bitwise_identical'] else 'no'}.")
    display(tables.table(rt, digits=3, main=[c for c in rt.columns if c != "units phase s"][:tables.MAX_COLUMNS]))


def confirmatory() -> None:
    """The confirmatory studies of chapter 5b from an empty store: one command, timed."""
    from IPython.display import display

    conf = br.load_optional("confirmatory_compute")
    if conf is None:
        br.markdown("*No `benchmarks/results/confirmatory_compute.json` yet: run "
                  "`benchmarks/record_confirmatory.py`.*")
        return
    display(tables.table(br.confirmatory_table(conf), digits=3,
                         caption=f"One run from an empty store: {conf['results']['run_wall_min']:.1f} min wall "
                                 f"(budget {conf['results']['budget_min']} min)."))
    br.markdown(conf["results"]["note"])


def numerics() -> None:
    """What pinned numerics cost, per workload."""
    from IPython.display import display

    num, _ = rv.load()
    if num is None:
        br.markdown("*No `benchmarks/results/numerics.json` yet: run `benchmarks/bench_numerics.py`.*")
        return
    m = num["machine"]
    br.markdown(f"Measured on {m['cpu']}, {num['setup']['rounds']} rounds (median)"
              + (", on a shared machine: absolute times are inflated, the ratios less so."
                 if m["shared_machine"] else "."))
    display(tables.table(rv.cost_table(num), digits=3))


def verified() -> None:
    """Where the store has been re-computed bit for bit, and how far an emulated CPU is a stand-in."""
    from IPython.display import display

    from weakness_lib.views import verified as vf

    def show(frame: pd.DataFrame, key: list[str] | None = None) -> None:
        display(tables.table(frame, wrap=frame.columns, key=key))

    logs = vf.read_logs()
    show(vf.family_table(logs), key=["CPU the process ran on", "Result"])
    if missing := vf.not_yet(logs):
        br.markdown(missing)
    record = br.load_optional("emulated_cpu")
    if record is None:
        br.markdown("*No `benchmarks/results/emulated_cpu.json` yet: run `benchmarks/record_emulated_cpu.py`.*")
        return
    qemu = re.search(r"version (\S+)", record["setup"]["emulator"])
    br.markdown(f"**Calibration** (QEMU {qemu[1] if qemu else '?'}; the 784-256-256-10 training probe "
                "of the cost table above, `benchmarks/record_emulated_cpu.py`; the first 8 of 16 hex "
                "digits of the final weights' hash): " + vf.calibration_finding(record))
    show(vf.calibration_table(record))
    if finding := vf.leftover_finding(record):
        br.markdown("**What pinning leaves to the CPU.** " + finding)
        show(vf.leftover_table(record))


def rederived() -> None:
    """How far the re-derivation under pinned numerics got, and every claim before and after."""
    from IPython.display import display

    _, red = rv.load()
    if red is None:
        br.markdown("*No `benchmarks/results/rederive.json` yet: run `benchmarks/record_rederive.py`.*")
        return
    s = rv.summary(red)
    moved = ", ".join(s["moved"]) or "none"
    if s["complete"]:
        glue(rederive_min=s["end_to_end_min"])
        head = (f"**All {s['n_studies']} studies** are re-derived. Computing the whole book from an "
                f"empty store took **{s['end_to_end_min']:.0f} min** of measured wall time on 2 workers "
                f"({' and '.join(s['cpu'])}, 2 cores; the sum of the groups' wall times, a group that "
                "was interrupted and resumed counted in both parts). ")
    else:
        head = (f"**{s['n_rederived']} of {s['n_studies']} studies** are re-derived so far, in "
                f"{s['measured_min']:.1f} min of measured wall time on 2 workers; the tables of "
                f"{', '.join(s['pending_claims']) or 'no claim'} are still pending. ")
    br.markdown(
        head + f"Of the {s['n_claims_rederived']} claims whose tables are "
        f"re-derived, the value moved for: **{moved}**; verdicts changed: "
        f"**{', '.join(s['verdicts_changed']) or 'none'}**. A value moves because its networks are "
        "trained again: other kernels round differently from the first SGD step on, so the trained "
        "weights drift apart and everything measured on them moves. " + _how_far(s) + "B2's number is the largest "
        "factor by which a function-preserving rescaling changes a sharpness measure of one trained "
        "network, so it moves with that network, while every exactness check of the audit "
        "(predictions and weakness estimators identical at every rescaling) holds as before. "
        + rederive_coverage(red))
    display(tables.table(rv.claims_table(red)))


def rederive_coverage(red: dict[str, Any]) -> str:
    """Whether the re-derivation's table lists every claim of the book (its claim files)."""
    book, listed = book_claims(), [c["claim_id"] for c in red["claims"]]
    missing = [c for c in book if c not in listed]
    if not missing:
        return f"The table lists every one of the book's {len(book)} claims."
    return (f"The table lists {len(book) - len(missing)} of the book's {len(book)} claims; not in it: "
            f"{', '.join(missing)}, computed after the re-derivation"
            + (", under pinned numerics from the first unit, so there is nothing to re-derive."
               if all(_pinned_from_start(c) for c in missing) else "."))


def _pinned_from_start(claim_id: str) -> bool:
    """Every table of the claim was created under pinned numerics (its provenance says so)."""
    from weakness_lib.views.chapter import claim

    tables = ((claim(claim_id, "full") or {}).get("provenance") or {}).get("tables") or []
    return bool(tables) and all(str(t.get("numerics", "")).startswith("pinned") for t in tables)


# ---------------------------------------------------------------------------------------------
# The whole book
# ---------------------------------------------------------------------------------------------
def book_smoke(results: dict[str, dict[str, Any]]) -> None:
    """The smoke book's total time and its steps, from ``benchmarks/results/book.json``."""
    from IPython.display import display

    book = results.get("book")
    if book is None:
        br.markdown("*No `benchmarks/results/book.json` yet: run `benchmarks/bench_book.py`.*")
    smoke = br.book_tables(book)[0] if book else pd.DataFrame()
    bres = book["results"] if book else {}
    if "smoke" not in bres:
        return
    glue(book_smoke_s=bres["smoke"]["total_wall_s"])
    ok = bres["smoke"].get("succeeded", True)
    br.markdown(f"Smoke book: **{bres['smoke']['total_wall_s']:.0f} s** in total (goal: at most "
              f"{SMOKE_BOOK_GOAL_S / 60:g} minutes; {br.met(bres['smoke']['total_wall_s'] <= SMOKE_BOOK_GOAL_S)}). "
              "Chapters run two at a time, so the steps below add up to more than the total"
              + _not_timed(smoke) + ("." if ok else "; in that run the final `jupyter-book build -W` step **failed** (see "
               "`error` in `benchmarks/results/book.json`), so the time covers executing every "
               "notebook and a failed render."))
    display(tables.table(smoke.sort_values("seconds", ascending=False), digits=3))


def _not_timed(steps: pd.DataFrame) -> str:
    """'; it predates chapters …' for the book's chapters that the timed build did not have."""
    from weakness_lib.core.paths import project_root

    timed = set(steps["step"]) if "step" in steps else set()
    missing = [p.stem for p in sorted((project_root() / "notebooks").glob("*.ipynb"))
               if f"{p.name}" not in timed]
    numbers = [m.split("_")[0].lstrip("0") for m in missing]
    return f"; it predates chapters {', '.join(numbers)}, not timed here" if missing and timed else ""


def _today(claims_cmp: pd.DataFrame) -> str:
    """How today's book compares with the one timed from a clean clone (its claims, and the time its
    studies took from an empty store when the store was re-derived)."""
    _, red = rv.load()
    if red is None or not red.get("complete"):
        return ""
    minutes = rv.summary(red)["end_to_end_min"]
    return (f"The book has grown since to {len(book_claims())} claims; computing its studies from an "
            f"empty store took {minutes:.0f} min on 2 workers when the store was re-derived (above), "
            f"so a clean-clone build of today's book would "
            f"{'meet' if minutes <= CLEAN_CLONE_GOAL_MIN else 'not meet'} the goal. ")


def _interval(bounds: Any) -> str:
    return "—" if bounds is None else f"[{bounds[0]:.3g}, {bounds[1]:.3g}]".replace("-", "−")  # true minus


def book_claims() -> list[str]:
    """The ids of the book's claims at full scale (its claim files), sorted."""
    from weakness_lib.core.claims import load_claims

    return sorted(c["claim_id"] for c in load_claims("full"))


def _verdicts_kept(claims_cmp: pd.DataFrame) -> str:
    """How many compared claims kept their verdict, and which of the book's claims the comparison
    does not include (claims added after it was measured)."""
    if not len(claims_cmp):
        return "no claim was compared"
    same = int((claims_cmp["committed_verdict"] == claims_cmp["rebuilt_verdict"]).sum())
    text = (f"the verdict of {'every one' if same == len(claims_cmp) else same} of the {len(claims_cmp)} "
            "claims compared is unchanged")
    later = [c for c in book_claims() if c not in set(claims_cmp["claim"])]
    red = rv.load()[1]
    rederived = {c["claim_id"] for c in red["claims"]} if red else set()
    if later:
        text += (f"; the book's other {len(later)} claims ({', '.join(later)}) were added after this "
                 "measurement" + (", and the re-derived store above covers them"
                                  if set(later) <= rederived else ""))
    return text


def book_clean_clone(results: dict[str, dict[str, Any]]) -> None:
    """The paper-scale book from a clean clone: time, steps, the unit-by-unit comparison of the
    rebuilt store with the committed one and every claim before and after."""
    from IPython.display import display

    cc = (results.get("book") or {}).get("results", {}).get("full_clean_clone")
    if cc is None:
        br.markdown("*No measured clean-clone build recorded (`benchmarks/bench_book.py clean-clone-log`).*")
        return
    glue(book_full_clean_min=cc["total_wall_s"] / 60)
    cmp = pd.DataFrame(cc.get("bitwise_comparison_with_committed_store", []))
    n_units = int(cmp["units_compared"].sum()) if len(cmp) else 0
    n_diff = int(cmp["units_differing"].sum()) if len(cmp) else 0
    glue(book_full_clean_units=n_units, book_full_clean_diff=n_diff)
    claims_cmp = pd.DataFrame(cc.get("claims_rebuilt_vs_committed", []))
    br.markdown(
        f"Paper-scale book from a clean clone with an empty results store: **{cc['total_wall_s'] / 60:.1f} min** "
        f"in total (goal: at most {CLEAN_CLONE_GOAL_MIN} minutes; {br.met(cc['total_wall_s'] <= CLEAN_CLONE_GOAL_MIN * 60)} "
        f"for the book as it was then, with {len(claims_cmp)} claims), including creating the "
        f"virtual environment; {'the build succeeded' if cc['exit_code'] == 0 else 'the build failed'}. "
        + _today(claims_cmp) +
        f"The rebuilt store was compared with the committed one: **{n_units} units compared, {n_diff} differ** "
        "(every stored number, timings excluded). This build was measured before the numerics were pinned "
        "(section *Numerics* above): the store committed then had been computed on an Intel Xeon and this "
        f"rebuild ran on {cc.get('cpu', 'another machine')}, and without pinning float32 training is "
        "bit-reproducible within one CPU family only, so trained networks differed in their last bits and "
        "everything measured on them moved a little. What matters to a reader is below: " + _verdicts_kept(claims_cmp) + ".")
    times = pd.Series(dict(cc["timings_s"].items()), name="seconds").sort_values(ascending=False)
    display(tables.table(times, digits=3))
    if len(cmp):
        display(tables.table(cmp[["experiment", "units_compared", "units_differing", "status"]]))
    if len(claims_cmp):
        display(tables.table(pd.DataFrame({
            "claim": claims_cmp["claim"],
            "committed then": [tables.fmt_number(v, 4) for v in claims_cmp["committed"]],
            "rebuilt": [tables.fmt_number(v, 4) for v in claims_cmp["rebuilt"]],
            "committed then, 95 % CI": [_interval(c) for c in claims_cmp["committed_ci95"]],
            "rebuilt 95 % CI": [_interval(c) for c in claims_cmp["rebuilt_ci95"]],
            "verdict (committed → rebuilt)": [f"{a} → {b}".replace("_", " ") for a, b in zip(
                claims_cmp["committed_verdict"], claims_cmp["rebuilt_verdict"])],
        })))


def _how_far(s: dict[str, Any]) -> str:
    """How far re-training moved the populations: twin agreement, and each claim that moved by
    more than half its CI's width (the sentence is empty where there is nothing to say)."""
    text = ""
    if s.get("twin_test_acc"):
        lo, hi = s["twin_test_acc"]
        text += (f"Not always a little: a re-derived network's test accuracy ranks with its twin's "
                 f"(same seed, same code) at ρ = {lo:.2f} to {hi:.2f} across the populations, so a "
                 "population of seed-only networks is in part a fresh sample. ")
    moved = s.get("beyond_ci") or {}
    if moved:
        listed = ", ".join(f"{cid} ({names.signed(d, 3)})" for cid, d in moved.items())
        text += f"Moved by more than half the width of its 95 % CI before: {listed}"
        text += ("; chapter 5b discusses the replications. " if {"B6-R", "B7-R"} & set(moved)
                 else ". ")
    return text
