"""The study runner: dependency order, only missing units, one writer, Dask workers, bitwise
identity whatever the worker count, refusal to silently recompute changed full-scale settings."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from weakness_lib.core.claims import load_claims
from weakness_lib.engine import base, registry
from weakness_lib.engine.compare import compare_stores
from weakness_lib.engine.registry import Study
from weakness_lib.engine.runner import SettingsChanged, UnitFailed, run_studies

TESTS = Path(__file__).resolve().parent
TOY = textwrap.dedent("""
    claims: {}
    common: {seed: 7, steps: 20, torch_threads: 1}
    smoke: {n_units: 4}
    full: {n_units: 4}
""")


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """Register two toy studies (``toy_needs`` needs ``toy``) with configs in a temporary folder."""
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "toy.yaml").write_text(TOY)
    (configs / "toy_needs.yaml").write_text("claims: {}\ncommon: {}\nsmoke: {}\nfull: {}\n")
    monkeypatch.setenv("WEAKNESS_CONFIGS", str(configs))
    monkeypatch.setenv("WEAKNESS_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.syspath_prepend(str(TESTS))
    studies = {
        "toy": Study("toy", "fixtures.toy_study", "none", ("T1",)),
        "toy_needs": Study("toy_needs", "fixtures.toy_needs", "none", ("T2",), needs=("toy",)),
    }
    monkeypatch.setattr(registry, "STUDIES", studies)
    return tmp_path


def _rows(root: Path, scale: str = "smoke") -> dict:
    (path,) = (root / scale / "toy").glob("*.json")
    return json.loads(path.read_text())["rows"]


def test_dependencies_first_then_nothing_twice(toy):
    reports = run_studies(["toy_needs"], "smoke", workers=1, progress=False)
    assert [r.name for r in reports] == ["toy", "toy_needs"]
    assert [r.computed for r in reports] == [5, 1]
    assert sorted(c["claim_id"] for c in load_claims("smoke")) == ["T1", "T2"]
    claim = toy / "results" / "smoke" / "claims" / "T1.json"
    before = claim.read_text()
    again = run_studies(["toy_needs"], "smoke", workers=1, progress=False)
    assert [r.computed for r in again] == [0, 0] and not any(r.claims_written for r in again)
    assert claim.read_text() == before  # only write-time provenance would differ: file kept


def test_rows_are_stored_in_unit_order_with_artifacts_and_summary(toy):
    run_studies(["toy"], "smoke", workers=1, progress=False)
    rows = _rows(toy / "results")
    assert list(rows) == ["fit", "probe:0", "probe:1", "probe:2", "probe:3"]
    t = base.table("toy", "smoke")
    assert t.artifact("w.pt").exists() and "_artifacts" not in rows["fit"]
    assert base.summary(t)["mean_loss"] > 0


def test_workers_1_and_2_give_bitwise_identical_stores(toy, monkeypatch):
    run_studies(["toy"], "smoke", workers=1, progress=False)
    monkeypatch.setenv("WEAKNESS_RESULTS", str(toy / "parallel"))
    reports = run_studies(["toy"], "smoke", workers=2, progress=False)
    assert reports[0].computed == 5
    (result,) = compare_stores(toy / "parallel", "smoke", mine=toy / "results" / "smoke")
    assert result["status"] == "identical" and result["units_compared"] == 5
    assert list(_rows(toy / "parallel")) == list(_rows(toy / "results"))


def test_a_missing_unit_stops_analysis_with_the_command(toy):
    with pytest.raises(base.MissingResults, match=r"weakness-repro run toy --scale smoke"):
        base.load_table("toy", "smoke")
    err = base.MissingResults("x")
    assert err._render_traceback_() == ["MissingResults: x"]  # one line in a notebook


def test_failed_unit_keeps_finished_units_and_resumes(toy, monkeypatch):
    monkeypatch.setenv("TOY_FAIL_ON", "probe:2")
    with pytest.raises(UnitFailed, match=r"toy: unit probe:2 failed.*toy failure.* at toy_study.py:\d+\); 3 finished unit.*rerun to resume"):
        run_studies(["toy"], "smoke", workers=1, progress=False)
    assert set(_rows(toy / "results")) == {"fit", "probe:0", "probe:1"}
    monkeypatch.delenv("TOY_FAIL_ON")
    assert run_studies(["toy"], "smoke", workers=1, progress=False)[0].computed == 2


def test_changed_full_settings_are_refused_unless_named(toy):
    run_studies(["toy"], "full", workers=1, progress=False)
    cfg = toy / "configs" / "toy.yaml"
    cfg.write_text(TOY.replace("steps: 20", "steps: 21"))
    with pytest.raises(SettingsChanged, match=r"steps: 20 → 21.*weakness-repro run toy --scale full"):
        run_studies(["toy_needs"], "full", workers=1, progress=False)  # toy pulled in, not named
    assert len(list((toy / "results" / "full" / "toy").glob("*.json"))) == 1  # nothing recomputed
    # free text is not a setting: editing a note never triggers the refusal
    cfg.write_text(TOY.replace("torch_threads: 1}", "torch_threads: 1, revision: a typo fixed}"))
    run_studies(["toy"], "full", workers=1, progress=False)
    cfg.write_text(TOY.replace("steps: 20", "steps: 21"))
    assert run_studies(["toy"], "full", workers=1, explicit=True, progress=False)[0].computed == 5


_CONCURRENT = """
import sys
sys.path.insert(0, {tests!r})
from weakness_lib.engine import registry
from weakness_lib.engine.registry import Study
from weakness_lib.engine.runner import run_studies
registry.STUDIES = {{"toy": Study("toy", "fixtures.toy_study", "none", ("T1",))}}
run_studies(["toy"], "smoke", workers=1, progress=False)
"""


def test_two_runner_processes_on_one_store_lose_nothing(toy):
    code = _CONCURRENT.format(tests=str(TESTS))
    procs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE) for _ in range(2)]
    errs = [p.communicate(timeout=300)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errs
    assert list(_rows(toy / "results")) == ["fit", "probe:0", "probe:1", "probe:2", "probe:3"]


@contextlib.contextmanager
def external_cluster(tmp_path: Path):
    """`dask scheduler` and two `dask worker` processes on localhost; yields the address."""
    dask = Path(sys.executable).with_name("dask")
    sched_file = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(sched_file)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.time() + 60
        while not sched_file.exists() and time.time() < deadline:
            time.sleep(0.2)
        address = json.loads(sched_file.read_text())["address"]
        for _ in range(2):
            procs.append(subprocess.Popen(
                [str(dask), "worker", address, "--nthreads", "1", "--no-dashboard"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from dask.distributed import Client

        with Client(address, timeout="60s") as c:
            c.wait_for_workers(2, timeout=60)
            assert len(c.scheduler_info()["workers"]) == 2
        yield address
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)


@pytest.mark.slow
def test_an_external_dask_scheduler_with_two_workers(toy, tmp_path, monkeypatch):
    """Toy units (two stages, an artifact) through a real scheduler: same bits as inline."""
    with external_cluster(tmp_path) as address:
        reports = run_studies(["toy"], "smoke", scheduler=address, progress=False)
    assert reports[0].computed == 5
    local = tmp_path / "local"
    monkeypatch.setenv("WEAKNESS_RESULTS", str(local))
    run_studies(["toy"], "smoke", workers=1, progress=False)
    (result,) = compare_stores(local, "smoke", mine=toy / "results" / "smoke")
    assert result["status"] == "identical"


@pytest.mark.slow
def test_a_book_smoke_study_through_an_external_scheduler(tmp_path, monkeypatch, capsys):
    """`weakness-repro run wen_scenario_1 --scheduler tcp://…` (WEAKNESS_SCHEDULER) vs inline."""
    from weakness_lib.cli import main

    with external_cluster(tmp_path) as address:
        monkeypatch.setenv("WEAKNESS_RESULTS", str(tmp_path / "remote"))
        monkeypatch.setenv("WEAKNESS_SCHEDULER", address)
        assert main(["run", "wen_scenario_1", "--scale", "smoke", "--quiet"]) == 0
    monkeypatch.delenv("WEAKNESS_SCHEDULER")
    monkeypatch.setenv("WEAKNESS_RESULTS", str(tmp_path / "inline"))
    assert main(["run", "wen_scenario_1", "--scale", "smoke", "--quiet", "--workers", "1"]) == 0
    capsys.readouterr()
    assert main(["compare", str(tmp_path / "remote"), "--scale", "smoke"]) == 0
    assert "every common unit is bit-identical" in capsys.readouterr().out


@pytest.mark.slow
def test_a_book_smoke_study_with_1_and_2_workers_compares_bit_identical(tmp_path, monkeypatch, capsys):
    """`weakness-repro run` of a real smoke study inline and on 2 Dask workers, then `compare`."""
    from weakness_lib.cli import main

    for workers in ("1", "2"):
        monkeypatch.setenv("WEAKNESS_RESULTS", str(tmp_path / f"w{workers}"))
        assert main(["run", "wen_scenario_1", "--scale", "smoke", "--quiet", "--workers", workers]) == 0
    capsys.readouterr()
    assert main(["compare", str(tmp_path / "w1"), "--scale", "smoke"]) == 0  # mine = w2
    out = capsys.readouterr().out
    assert "wen_scenario_1" in out and "identical" in out and "every common unit is bit-identical" in out
    assert main(["run", "wen_scenario_1", "--scale", "smoke", "--quiet", "--workers", "2"]) == 0
    assert "run: 0 unit(s) computed" in capsys.readouterr().out  # a second run computes nothing


@pytest.mark.slow
def test_a_chapter_that_opts_in_computes_through_the_runner(tmp_path, monkeypatch):
    """``chapter.load(..., compute=True)``: missing units run through the runner, then analyse."""
    from weakness_lib.views import chapter

    monkeypatch.setenv("WEAKNESS_RESULTS", str(tmp_path / "results"))
    with pytest.raises(base.MissingResults):
        chapter.load("wen_scenario_1", "smoke")  # default: read only
    result = chapter.load("wen_scenario_1", "smoke", compute=True)
    assert result["checks"]["verdict"] in ("reproduced", "partially_reproduced", "not_reproduced")
    assert (tmp_path / "results" / "smoke" / "claims" / "WLM-I.json").exists()  # written by the runner


def _bookkeeping() -> tuple:
    import dask

    return tuple(dask.config.get(k) for k in (
        "distributed.admin.tick.interval", "distributed.admin.system-monitor.interval",
        "distributed.worker.memory.monitor-interval", "distributed.scheduler.work-stealing",
        "distributed.worker.profile.enabled"))


def test_embedded_workers_run_with_slow_bookkeeping_and_close_while_the_driver_analyses(toy, monkeypatch):
    """The embedded cluster's workers get the settings that keep Dask's periodic bookkeeping off
    the cores (measured: units 6.8 % slower than inline with the defaults, 2.3 % with these), and
    run_studies closes the cluster in a thread beside the analysis, joined before it returns."""
    import threading

    from weakness_lib.engine.executor import Executor

    ex = Executor(workers=2)
    try:
        seen = set(ex.client().run(_bookkeeping).values())
    finally:
        ex.close()
    assert seen == {("1s", "5s", "2s", False, False)}
    assert _bookkeeping()[0] == "20ms"  # this process's own Dask settings are left as they were
    closed_in, close = [], Executor.close

    def recording(self):
        closed_in.append(threading.current_thread())
        close(self)

    monkeypatch.setattr(Executor, "close", recording)
    assert run_studies(["toy"], "smoke", workers=2, progress=False)[0].computed == 5
    assert [t.name for t in closed_in] == ["close-executor"] and not closed_in[0].is_alive()
