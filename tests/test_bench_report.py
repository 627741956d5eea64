"""weakness_lib.views.bench reads the committed benchmark results and fails clearly without them."""

from __future__ import annotations

import pytest

from weakness_lib.views import bench as br


def test_missing_results_name_the_script(tmp_path, monkeypatch):
    monkeypatch.setattr(br, "results_dir", lambda: tmp_path)
    with pytest.raises(FileNotFoundError, match="bench_curvature.py"):
        br.load("curvature")
    assert br.load_optional("book") is None


@pytest.mark.skipif(not (br.results_dir() / "curvature.json").exists(), reason="not benchmarked yet")
def test_curvature_tables_are_consistent():
    curv = br.load("curvature")
    lam = br.lambda_table(curv)
    assert set(lam["dtype"]) == {"float32", "float64"}
    assert (lam["HVPs"] > 0).all()
    ref = curv["results"]["lambda_max"]["reference"]["lambda_max"]
    assert ref > 0
    # every Lanczos/ARPACK method met the 1e-3 accuracy it was asked for
    for r in curv["results"]["lambda_max"]["rows"]:
        if r["method"] in ("ours", "ours_fast", "ours_graph_arpack", "curvlinops"):
            assert r["rel_err"] <= 1e-3, r["method"]
    tr = br.trace_table(curv)
    hutch = tr[~tr["method"].str.contains("defaults")]
    assert (hutch["rel. s.e."] <= 0.01 + 1e-12).all()
    conv = br.convergence_frame(curv)
    assert set(conv["method"]) == {"Lanczos (ours, new)", "power iteration (PyHessian)"}


@pytest.mark.skipif(not (br.results_dir() / "training.json").exists(), reason="not benchmarked yet")
def test_training_table_counts_flops_consistently():
    train = br.load("training")
    table = br.training_table(train)
    per = train["results"]["flops_per_network_epoch"]
    assert per == pytest.approx(5000 * (2 * 268_800 * 2 + 2 * (65_536 + 2_560)) + 5000 * 2 * 268_800)
    ratio = table["GFLOP/s"] / table["networks·epochs / s"]
    assert ratio.round(6).nunique() == 1


def test_confirmatory_compute_record_matches_the_committed_tables():
    """The recorded per-study unit counts are the committed tables' (624 networks in all), training
    plus measuring never exceeds a study's summed unit time, and the budget flag follows the wall."""
    from weakness_lib.engine import base

    rec = br.load("confirmatory_compute")
    t = br.confirmatory_table(rec)
    assert list(t["study"]) == sorted(rec["results"]["per_study"])
    for _, r in t.iterrows():
        assert r["units"] == len(base.load_table(r["study"], "full").rows())
        assert r["training [min]"] + r["measuring [min]"] <= r["unit time, summed [min]"] + 1e-9
    assert t["units"].sum() == 624
    assert rec["results"]["within_budget"] == (rec["results"]["run_wall_min"] <= 90)


_CI_LOG = """== CI step: python and browser (15:22:21)
........ [ 97%]
1320 passed, 3 skipped, 3 warnings in 558.26s (0:09:18)
============================= slowest 25 durations =============================
120.53s call     tests/test_browser.py::test_pages[390]
8.01s setup    tests/test_cli.py::test_run
CI step times:
    21 s  python and browser
   562 s  make test
total: 583 s
"""


def _bench_ci():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_ci.py"
    spec = importlib.util.spec_from_file_location("bench_ci", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ci_record_reads_steps_tests_and_slowest_from_the_log():
    ci = _bench_ci()
    rec = ci.parse(_CI_LOG)
    assert rec["passed"] and rec["total_s"] == 583
    assert rec["steps"] == [{"step": "python and browser", "seconds": 21},
                            {"step": "make test", "seconds": 562}]
    assert rec["tests"] == {"passed": 1320, "skipped": 3, "pytest_s": 558.26}
    assert rec["slowest_tests"][0] == {"seconds": 120.53, "phase": "call",
                                       "test": "tests/test_browser.py::test_pages[390]"}
    failed = ci.parse(_CI_LOG.replace("CI step times:", "CI FAILED in step 'make test'\nCI step times:"))
    assert not failed["passed"]
    with pytest.raises(SystemExit, match="no 'CI step times' block"):
        ci.parse("== CI step: make test (15:25:06)\n")  # a run that never finished
    # pytest-xdist's group suffix is dropped; an @ inside the parameters stays
    assert ci.ungrouped("tests/t.py::test_page[intro@1280]@given_book") == "tests/t.py::test_page[intro@1280]"
    assert ci.ungrouped("tests/t.py::test_page[intro@1280]") == "tests/t.py::test_page[intro@1280]"
    assert ci.ungrouped("tests/t.py::test_venv@launch_venvs") == "tests/t.py::test_venv"


def test_ci_view_says_whether_the_goal_was_met(monkeypatch, capsys):
    from IPython.display import HTML, Markdown

    from weakness_lib.views import benchmarks_book as bb

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: shown.extend(objs))
    rec = {"machine": {"cpu": "AMD EPYC", "logical_cores": 2},
           "results": {**_bench_ci().parse(_CI_LOG), "commit": "ed83b2e4e5aa", "goal_min": 8.0,
                       "note": ""}}
    for total, says in ((583, "(goal: at most 8 minutes; not met)"), (420, "(goal: at most 8 minutes; met)")):
        rec["results"]["total_s"] = total
        monkeypatch.setattr(bb.br, "load_optional", lambda name, rec=rec: rec if name == "ci" else None)
        shown.clear()
        bb.ci()
        text = next(o.data for o in shown if isinstance(o, Markdown))
        assert says in text and "1,320 tests passed" in text, text
        assert f"The largest step is make test: {100 * 562 / total:.0f} % of the run." in text
        assert any(isinstance(o, HTML) and "<code class=\"test-id\">tests/<wbr>test_<wbr>browser.py::<wbr>" in o.data for o in shown)
        # the step table explains background jobs only where the record has some
        assert not any(isinstance(o, HTML) and "in the background" in o.data for o in shown)
    rec["results"]["steps"] = [*rec["results"]["steps"], {"step": "wait for the Binder venv (background)",
                                                          "seconds": 0}]
    shown.clear()
    bb.ci()
    assert any(isinstance(o, HTML) and "Two jobs run in the background" in o.data for o in shown)
    monkeypatch.setattr(bb.br, "load_optional", lambda name: None)
    shown.clear()
    bb.ci()
    assert "bench_ci.py" in shown[0].data


def test_rederive_names_each_claim_that_moved_beyond_half_its_ci():
    from weakness_lib.views import benchmarks_book as bb
    from weakness_lib.views import rederive as rv

    def claim(cid, before, after, ci):
        return {"claim_id": cid, "before": {"value": before, "ci95": ci}, "after": {"value": after}}

    claims = [claim("B7-R", -0.002, 0.373, [-0.21, 0.21]),   # moved 0.375 > 0.21: named
              claim("B6-R", 0.262, 0.195, [0.06, 0.43]),     # moved 0.067 < 0.185: not named
              claim("B1", 1.5e7, 1.49e7, None)]              # no interval: never named
    moved = rv.beyond_ci(claims)
    assert list(moved) == ["B7-R"] and moved["B7-R"] == pytest.approx(0.375)
    assert rv.twin_range({"twin_agreement": {"a": {"test_acc": 0.27}, "b": {"test_acc": 0.83},
                                             "c": {"networks": 26}}}) == (0.27, 0.83)
    text = bb._how_far({"beyond_ci": moved, "twin_test_acc": (0.27, 0.83)})
    assert "ρ = 0.27 to 0.83" in text and "B7-R (+0.375)" in text and "chapter 5b" in text
    assert bb._how_far({"beyond_ci": {}, "twin_test_acc": None}) == ""


def test_book_timings_say_what_they_predate_and_whether_today_s_book_meets_the_goal(monkeypatch):
    import pandas as pd

    from weakness_lib.views import benchmarks_book as bb
    from weakness_lib.views import rederive as rv

    steps = pd.DataFrame({"step": ["01_reparameterisation.ipynb", "weakness-repro run all"],
                          "seconds": [10.0, 20.0]})
    text = bb._not_timed(steps)
    assert text.startswith("; it predates chapters 2, 3, 4") and "5b, 5c" in text and " 11," in text
    assert bb._not_timed(pd.DataFrame({"step": [], "seconds": []})) == ""
    for minutes, word in ((366, "not meet"), (40, "meet")):
        red = {"complete": True}
        monkeypatch.setattr(rv, "load", lambda red=red: (None, red))
        monkeypatch.setattr(rv, "summary", lambda r, m=minutes: {"end_to_end_min": m})
        said = bb._today(pd.DataFrame())
        assert f"took {minutes} min on 2 workers" in said and f"would {word} the goal" in said
