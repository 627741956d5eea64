"""Results store: resumable, atomic, hash-keyed, loud about stale or unwritable folders."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from weakness_lib.core.claims import Claim, ClaimError, load_claims, write_claim
from weakness_lib.core.store import (
    ResultsStore,
    ResultsStoreError,
    StaleResultsError,
    Table,
    _umask,
    config_hash,
)


def test_config_hash_is_canonical():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": (1, 2), "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})


def test_resume_computes_each_unit_once(tmp_path):
    calls = []

    def unit(i):
        calls.append(i)
        return {"value": np.float64(i) ** 2, "vec": np.arange(3)}

    table = ResultsStore("smoke", tmp_path).table("exp", {"n": 3})
    for i in range(2):
        table.get_or_compute(i, lambda i=i: unit(i))
    # a new process (new Table object) resumes: only the missing unit is computed
    again = ResultsStore("smoke", tmp_path).table("exp", {"n": 3})
    rows = [again.get_or_compute(i, lambda i=i: unit(i)) for i in range(3)]
    assert calls == [0, 1, 2]
    assert [r["value"] for r in rows] == [0.0, 1.0, 4.0] and rows[2]["vec"] == [0, 1, 2]
    assert "_wall_s" in rows[0] and again.provenance["torch"]
    assert not list(tmp_path.rglob("*.tmp")), "atomic writes leave no temporary files"


def test_interrupted_unit_is_not_stored(tmp_path):
    table = ResultsStore("smoke", tmp_path).table("exp", {"n": 1})
    table.get_or_compute("a", lambda: {"x": 1})

    def boom():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        table.get_or_compute("b", boom)
    fresh = ResultsStore("smoke", tmp_path).table("exp", {"n": 1})
    assert fresh.keys() == ["a"]


def test_table_from_other_config_is_refused(tmp_path):
    table = ResultsStore("smoke", tmp_path).table("exp", {"lr": 0.1})
    table.get_or_compute("a", lambda: {"x": 1})
    data = json.loads(table.path.read_text())
    data["config"]["lr"] = 0.2  # written by an older config / edited by hand
    table.path.write_text(json.dumps(data))
    with pytest.raises(StaleResultsError, match="different settings"):
        ResultsStore("smoke", tmp_path).table("exp", {"lr": 0.1})
    table.path.write_text("{ torn")
    with pytest.raises(StaleResultsError, match="unreadable"):
        ResultsStore("smoke", tmp_path).table("exp", {"lr": 0.1})


def test_unwritable_results_folder_fails_before_computing(tmp_path):
    blocker = tmp_path / "results"
    blocker.write_text("not a folder")
    table = ResultsStore("smoke", blocker).table("exp", {"n": 1})
    computed = []
    with pytest.raises(ResultsStoreError, match="not writable.*WEAKNESS_RESULTS"):
        table.get_or_compute("a", lambda: computed.append(1) or {"x": 1})
    assert computed == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permission bits")
def test_read_only_results_folder(tmp_path):
    ro = tmp_path / "ro"
    (ro / "exp").mkdir(parents=True)
    os.chmod(ro / "exp", 0o555)
    table = ResultsStore("smoke", ro).table("exp", {"n": 1})
    with pytest.raises(ResultsStoreError, match="not writable"):
        table.get_or_compute("a", lambda: {"x": 1})


def _claim(**kw):
    base = dict(claim_id="X1", paper="bennett2026", statement="s", paper_value="p", metric="m",
                our_value=1.5, ci95=[1.0, 2.0], verdict="reproduced", verdict_rule="rule",
                provenance={"git_commit": "abc"})
    return Claim(**{**base, **kw})


def test_claims_roundtrip_and_validation(isolated_results):
    write_claim(_claim(), "smoke")
    write_claim(_claim(claim_id="A0", ci95=None, verdict="not_reproduced"), "smoke")
    write_claim(_claim(claim_id="A0-R"), "smoke")  # a replication follows its claim
    assert [c["claim_id"] for c in load_claims("smoke")] == ["A0", "A0-R", "X1"]
    with pytest.raises(ClaimError, match="verdict"):
        _claim(verdict="maybe")
    with pytest.raises(ClaimError, match="finite"):
        _claim(our_value=float("nan"))
    with pytest.raises(ClaimError, match="ci95"):
        _claim(ci95=[2.0, 1.0])
    with pytest.raises(ClaimError, match="paper"):
        _claim(paper="someone2020")


def test_rewriting_an_unchanged_claim_keeps_the_file(isolated_results):
    path, changed = write_claim(_claim(provenance={"git_commit": "abc", "date": "d1", "n": 1}), "smoke")
    before = path.read_text()
    assert changed
    _, changed = write_claim(_claim(provenance={"git_commit": "def", "date": "d2", "n": 1}), "smoke")
    assert path.read_text() == before and not changed  # only when/where it was written differs
    _, changed = write_claim(_claim(our_value=2.5, provenance={"git_commit": "def", "date": "d2", "n": 1}), "smoke")
    assert json.loads(path.read_text())["our_value"] == 2.5 and changed
    assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~_umask())  # not mkstemp's 0600


def test_a_renamed_claim_keeps_its_file_and_its_former_id(isolated_results):
    """A claim renamed without re-deriving it (its provenance names the former id) is kept when the
    runner re-derives the same content, which does not know the former id."""
    path, _ = write_claim(_claim(provenance={"git_commit": "abc", "n": 1}), "smoke")
    record = json.loads(path.read_text())
    record["provenance"]["renamed_from"] = "W9"
    path.write_text(json.dumps(record, indent=1) + "\n")
    before = path.read_text()
    _, changed = write_claim(_claim(provenance={"git_commit": "def", "n": 1}), "smoke")
    assert not changed and path.read_text() == before
    _, changed = write_claim(_claim(provenance={"git_commit": "def", "n": 2}), "smoke")
    assert changed and "renamed_from" not in json.loads(path.read_text())["provenance"]


def test_free_text_does_not_change_the_table_name(tmp_path):
    a = ResultsStore("smoke", tmp_path).table("exp", {"lr": 0.1, "other_measures": "trace, ..."})
    a.put("u", {"x": 1})
    b = ResultsStore("smoke", tmp_path).table("exp", {"lr": 0.1, "other_measures": "trace, … (typo fixed)"})
    assert b.path == a.path and b.keys() == ["u"]
    c = ResultsStore("smoke", tmp_path).table("exp", {"lr": 0.2, "other_measures": "trace, ..."})
    assert c.path != a.path and len(c) == 0


def test_rows_follow_the_unit_order_whatever_order_they_finish_in(tmp_path):
    order = ["a", "b", "c", "d"]
    first = ResultsStore("smoke", tmp_path / "1").table("exp", {"n": 4})
    second = ResultsStore("smoke", tmp_path / "2").table("exp", {"n": 4})
    for key in ["c", "a", "d", "b"]:
        first.put_many({key: {"v": key}}, order=order)
    for key in order:
        second.put_many({key: {"v": key}}, order=order)
    assert first.keys() == second.keys() == order


def test_a_second_writer_keeps_rows_stored_by_the_first(tmp_path):
    """Two Table objects on one file (two processes): each put re-reads under the lock."""
    one = ResultsStore("smoke", tmp_path).table("exp", {"n": 2})
    two = ResultsStore("smoke", tmp_path).table("exp", {"n": 2})
    one.put("a", {"x": 1})
    two.put("b", {"x": 2})  # `two` loaded before "a" was written: must not drop it
    assert sorted(ResultsStore("smoke", tmp_path).table("exp", {"n": 2}).keys()) == ["a", "b"]


_WRITER = """
import sys
from weakness_lib.core.store import ResultsStore
t = ResultsStore("smoke", sys.argv[1]).table("exp", {"n": 1})
for i in range(int(sys.argv[3])):
    t.put(f"{sys.argv[2]}{i}", {"i": i, "pad": "x" * 20000})
"""


def test_two_concurrent_processes_lose_no_rows(tmp_path):
    import subprocess
    import sys

    n = 40
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), tag, str(n)])
             for tag in ("p", "q")]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    keys = ResultsStore("smoke", tmp_path).table("exp", {"n": 1}).keys()
    assert sorted(keys) == sorted([f"p{i}" for i in range(n)] + [f"q{i}" for i in range(n)])


def test_record_drops_artifacts_and_stamps_time():
    rec = Table.record({"x": np.float64(2.0), "_artifacts": {"w.pt": b"..."}}, wall_s=1.23456)
    assert rec["x"] == 2.0 and "_artifacts" not in rec and rec["_wall_s"] == 1.235


def test_deep_merge_overrides_only_named_nested_keys():
    from weakness_lib.core.config import deep_merge

    common = {"train": {"lr": 0.05, "epochs": 15, "momentum": 0.9}, "taus": [0.01, 0.05]}
    merged = deep_merge(common, {"train": {"epochs": 5}, "taus": [0.1]})
    assert merged == {"train": {"lr": 0.05, "epochs": 5, "momentum": 0.9}, "taus": [0.1]}
    assert common["train"]["epochs"] == 15  # inputs untouched


def test_settings_hash_ignores_declared_free_text():
    from weakness_lib.core.config import settings_hash

    base = {"lr": 0.1, "experiment": "e", "scale": "full"}
    assert settings_hash({**base, "revision": "a"}) == settings_hash({**base, "revision": "b"})
    declared = {**base, "free_text": ["comment"]}
    assert settings_hash({**declared, "comment": "x"}) == settings_hash({**declared, "comment": "y"})
    assert settings_hash({**base, "lr": 0.2}) != settings_hash(base)


def test_a_claim_re_derived_on_another_cpu_keeps_the_file(isolated_results):
    """Last-bit differences of an analysis (another CPU family) do not rewrite a claim; a real
    change does."""
    path, _ = write_claim(_claim(details={"partial_rho": -0.25791834110352514}), "smoke")
    before = path.read_text()
    _, changed = write_claim(_claim(details={"partial_rho": -0.25791834110352520}), "smoke")
    assert not changed and path.read_text() == before
    _, changed = write_claim(_claim(details={"partial_rho": -0.2579}), "smoke")
    assert changed
