"""The appendix's 'where the store has been re-computed bit for bit': verify logs parsed, outcomes
worded on each side, and the emulator's calibration judged from its rows, never assumed."""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest

from weakness_lib.engine import base
from weakness_lib.engine.verify import _header, _unit_line
from weakness_lib.views import verified as vf


class _Table:
    """What verify's header reads of a stored table."""

    config = {"scale": "full", "lambda_max_rtol": 0.001}
    path = Path("results/full/head_to_head_mnist/586c63b8d56790fe.json")

    def __len__(self) -> int:
        return 100


def _head(study: str, cpu: str) -> str:
    """The header line as verify writes it (its CPU name set to ``cpu``)."""
    rule = base.VerifyRule(tolerances={"lambda_max": "lambda_max_rtol"}, diagnostics={"n_hvp"})
    with mock.patch("weakness_lib.engine.verify.cpu_model", lambda: cpu):
        return _header(SimpleNamespace(name=study), _Table(), 2, 1, 7, rule)


# header and unit lines as verify itself writes them, so the parser follows the writer
BIT = _unit_line("net041", 22, {"a": 1.0}, [], [], 156.6)
TOL = _unit_line("net019", 22, {"a": 1.0}, [], ["lambda_max"], 130.5)
BAD = _unit_line("net007", 22, {"a": 1.0}, [("asam", 0.00058, 0.00061)], [], 12.0)


def _log(*units: str, study: str = "head_to_head_mnist", cpu: str = "AMD EPYC") -> str:
    return "\n".join([_head(study, cpu), "  unit  fields  result  first difference",
                      *units, "verify: PASS"])


def test_a_log_is_parsed_with_each_units_outcome():
    cpu = "Intel Xeon Processor (Icelake) (emulated on AMD EPYC)"
    log = vf.parse_log(_log(BIT, TOL, BAD, cpu=cpu))
    assert (log.study, log.cpu, log.profile) == ("head_to_head_mnist", cpu, "pinned-avx2-v1")
    assert log.units == (("net041", "bit for bit"), ("net019", "within tolerance"),
                         ("net007", "differs"))
    assert vf._outcome([vf.parse_log(_log())]) == "no unit re-computed"  # proves nothing
    other = vf.parse_log(_log(BIT).replace("pinned-avx2-v1", "pinned-avx2-v0"))
    assert other.profile == "pinned-avx2-v0"  # read_logs keeps only this profile's logs
    assert vf.parse_log("") is None and vf.parse_log("  net041  49  PASS") is None


@pytest.mark.parametrize(("units", "says"), [
    ((BIT, BIT), "all bit for bit"),
    ((BIT, TOL), "2 bit for bit, 1 within λ_max's solver tolerance"),
    ((BIT, BAD), "1 of 3 differ"),  # the theory log adds a unit
])
def test_the_outcome_is_worded_on_each_side(tmp_path, units, says):
    folder = tmp_path / "amd-epyc"
    folder.mkdir()
    (folder / "head_to_head_mnist.txt").write_text(_log(*units))
    (folder / "theory.txt").write_text(_log(BIT, study="theory"))
    before = tmp_path / vf.BEFORE_PINNING
    before.mkdir()
    (before / "theory.txt").write_text(_log(BAD, study="theory"))
    table = vf.family_table(vf.read_logs(tmp_path))
    assert len(table) == 1  # the logs from before pinning are not this table's subject
    row = table.iloc[0]
    assert row["Result"] == says and row["Units"] == len(units) + 1
    assert row["Chapters"] == "04, 06"
    assert row["Tables re-computed"] == f"2 of the {len(vf.checkable_on('AMD EPYC'))} it can check"


HOST, XEON, EPYC = ("AMD EPYC", "Intel Xeon Processor (SapphireRapids) (emulated on AMD EPYC)",
                    "AMD EPYC-Genoa Processor (emulated on AMD EPYC)")
CPUS = ((HOST, None), (XEON, "SapphireRapids"), (EPYC, "EPYC-Genoa"))


def _row(probe: str, settings: str, cpu: str, qemu: str | None, hash_: str, real: str | None = None,
         wrong: int | None = None) -> dict:
    return {"probe": probe, "settings": settings, "cpu": cpu, "qemu_model": qemu, "hash": hash_,
            "real_xeon_hash": real, "not_correctly_rounded": wrong}


RECORD = {"results": {"rows": [
    _row("isa", "intel_only_mkl_branch", HOST, None, "3c5ae5635f19cb63", "54ce7aa24724bbc9"),
    _row("isa", "intel_only_mkl_branch", XEON, "SapphireRapids", "54ce7aa24724bbc9", "54ce7aa24724bbc9"),
    _row("isa", "intel_only_mkl_branch", EPYC, "EPYC-Genoa", "3c5ae5635f19cb63", "54ce7aa24724bbc9"),
    *(_row("isa", "pinned", c, q, "34ccc9c8496620d1", "34ccc9c8496620d1") for c, q in CPUS),
    _row("adam", "pinned", HOST, None, "6909150317d4a039"),
    *(_row("adam", "pinned", c, q, "e83aba3a0250aaaa") for c, q in CPUS[1:]),
    *(_row("adam_fused", "pinned", c, q, "cda0be1862d5d366") for c, q in CPUS),
    _row("sqrt", "pinned", HOST, None, "d1ca2c28390e6de6", wrong=16652),
    *(_row("sqrt", "pinned", c, q, "0f0f0f0f0f0f0f0f", wrong=15142) for c, q in CPUS[1:]),
]}}


def _with(probe: str, settings: str, qemu: str | None, new_hash: str, rec: dict = RECORD) -> dict:
    rec = copy.deepcopy(rec)
    for r in rec["results"]["rows"]:
        if (r["probe"], r["settings"], r["qemu_model"]) == (probe, settings, qemu):
            r["hash"] = new_hash
    return rec


def test_the_calibration_is_judged_from_its_rows():
    assert vf.calibration_finding(RECORD).startswith("Under MKL's Intel-only branch")
    assert "every CPU gives the same hash" in vf.calibration_finding(RECORD)
    # the emulated Xeon misses the real Xeon's bits, or the emulated AMD the host's: not faithful
    for broken in (_with("isa", "intel_only_mkl_branch", "SapphireRapids", "0" * 16),
                   _with("isa", "intel_only_mkl_branch", "EPYC-Genoa", "0" * 16),
                   _with("isa", "intel_only_mkl_branch", None, "54ce7aa24724bbc9")):  # no vendor contrast
        assert "does **not** reproduce" in vf.calibration_finding(broken)
    assert "hashes **differ**" in vf.calibration_finding(_with("isa", "pinned", "EPYC-Genoa", "0" * 16))


def test_the_calibration_table_labels_the_real_xeon_as_not_run_here():
    table = vf.calibration_table(RECORD)
    assert table.iloc[0]["CPU the probe was told of"] == vf.REAL_XEON
    assert list(table.iloc[0])[1:] == ["54ce7aa2…", "34ccc9c8…"]
    assert set(table["CPU the probe was told of"]) == {
        vf.REAL_XEON, "AMD EPYC (this machine)", "Intel Xeon (SapphireRapids), emulated",
        "AMD EPYC-Genoa, emulated"}


def test_cpu_names_are_short_and_keep_emulation_visible():
    assert vf.short_cpu(XEON) == "Intel Xeon (SapphireRapids), emulated"
    assert vf.short_cpu("AMD EPYC") == "AMD EPYC"
    assert vf.short_cpu("Intel(R) Xeon(R) Processor") == "Intel(R) Xeon(R) Processor"  # real: as is


def test_what_pinning_leaves_to_the_cpu_is_judged_from_its_rows():
    says = vf.leftover_finding(RECORD)
    assert says == ("Torch's default Adam kernel gives the same bits on every emulated CPU, but not "
                    "this machine's. Torch's fused Adam gives the same bits on every CPU.")
    # fused Adam moving too: said so, not left out
    assert "fused Adam gives different bits" in vf.leftover_finding(
        _with("adam_fused", "pinned", "SapphireRapids", "1" * 16))
    # the emulated CPUs disagree with each other, or one of them matches the host: not "the same"
    assert "different bits on different CPUs." in vf.leftover_finding(_with("adam", "pinned", "EPYC-Genoa", "2" * 16))
    one_matches = _with("adam", "pinned", "EPYC-Genoa", "6909150317d4a039")
    assert "different bits on different CPUs." in vf.leftover_finding(one_matches)
    # plain Adam equal everywhere but fused not: both halves said
    plain_same = _with("adam", "pinned", None, "e83aba3a0250aaaa")
    fused_moves = _with("adam_fused", "pinned", "EPYC-Genoa", "3" * 16, plain_same)
    assert vf.leftover_finding(fused_moves) == (
        "Torch's default Adam kernel gives this machine's bits on every emulated CPU. "
        "Torch's fused Adam gives different bits on different CPUs too.")
    # everything equal: one plain sentence
    assert vf.leftover_finding(plain_same) == ("Adam gives this machine's bits on every emulated "
                                               "CPU, in both implementations.")
    # an older record without the Adam probes says nothing
    old = {"results": {"rows": [r for r in RECORD["results"]["rows"] if r["probe"] == "isa"]}}
    assert vf.leftover_finding(old) == ""


def test_the_leftover_table_counts_square_roots_that_are_not_correctly_rounded():
    table = vf.leftover_table(RECORD).set_index("CPU the probe was told of")
    assert table.loc["AMD EPYC (this machine)", vf.ROOTS] == 16652
    assert table.loc["AMD EPYC-Genoa, emulated", vf.ROOTS] == 15142
    fused = vf.LEFTOVER["adam_fused"]
    assert table.loc[vf.short_cpu(XEON), fused] == table.loc[vf.short_cpu(EPYC), fused] == "cda0be18…"


def test_a_cpu_counts_only_the_tables_it_can_check(monkeypatch):
    """Every stored table is checkable on every CPU now; a CPU-bound study's (``CPU_BOUND``) only
    on the CPU that computed it. Theory's exact enumerations count (verify re-computes them); IV,
    which stores no units of its own, does not."""
    from weakness_lib.engine import registry

    trained = vf.stored_studies()
    assert "theory" in trained and "weakness_vs_validation" not in trained
    home = base.table("batch_size", "full").provenance["cpu"]
    xeon = "Intel Xeon Processor (SapphireRapids) (emulated on AMD EPYC)"
    assert sorted(vf.checkable_on(home)) == sorted(vf.checkable_on(xeon)) == sorted(trained)
    monkeypatch.setattr(registry.get("batch_size").load(), "CPU_BOUND", "a reason", raising=False)
    assert sorted(vf.checkable_on(home)) == sorted(trained)
    assert set(trained) - set(vf.checkable_on(xeon)) == {"batch_size", "batch_size_r"}


def test_the_cpu_generation_is_shown_where_logs_record_it(tmp_path):
    """A virtual machine's ``AMD EPYC`` hides its generation: the row names the CPUID family and
    model the logs record, and says how many logs (older ones) do not."""
    folder = tmp_path / "amd-epyc"
    folder.mkdir()
    zen5 = "  CPUID: AuthenticAMD family 26 model 2 stepping 1; FMA AVX2 AVX-512F"
    text = _log(BIT).replace("\n", f"\n{zen5}\n", 1)
    assert vf.parse_log(text).cpuid == zen5.split(": ", 1)[1] and vf.parse_log(_log(BIT)).cpuid is None
    assert vf.parse_log(text).units == (("net041", "bit for bit"),)  # the line is not a unit
    (folder / "head_to_head_mnist.txt").write_text(text)
    (folder / "theory.txt").write_text(_log(BIT, study="theory"))
    cell = vf.family_table(vf.read_logs(tmp_path)).iloc[0]["CPU the process ran on"]
    assert cell == "AMD EPYC (CPUID family 26, model 2, recorded in 1 of 2 logs)"
    (folder / "theory.txt").write_text(_log(BIT, study="theory").replace("\n", f"\n{zen5}\n", 1))
    cell = vf.family_table(vf.read_logs(tmp_path)).iloc[0]["CPU the process ran on"]
    assert cell == "AMD EPYC (CPUID family 26, model 2)"
    (folder / "theory.txt").write_text(_log(BIT, study="theory").replace(
        "\n", "\n  CPUID: AuthenticAMD family 6 model 17 stepping 1; FMA AVX2 AVX-512F\n", 1))
    cell = vf.family_table(vf.read_logs(tmp_path)).iloc[0]["CPU the process ran on"]
    assert cell == "AMD EPYC (CPUID family 6, model 17; family 26, model 2)"  # in numeric order


def test_every_committed_log_is_read_whole():
    """Each pinned-numerics log in the store parses, with a unit line per unit it names in its
    header: a log the parser half-read would make the appendix under-report."""
    root = vf.results_root("full") / "verify"
    logs = {f: vf.parse_log(f.read_text(encoding="utf-8"))
            for f in root.glob("*/*.txt") if f.parent.name != vf.BEFORE_PINNING}
    assert logs and all(log is not None for log in logs.values())
    for f, log in logs.items():
        named = int(f.read_text(encoding="utf-8").split("): ", 1)[1].split(" of ", 1)[0])
        assert len(log.units) == named, f
    assert sum(len(v) for v in vf.read_logs().values()) == len(logs)  # all on today's numerics


def test_a_study_without_units_of_its_own_declares_that_it_trains_nothing():
    """``TRAINS`` (what CI's verify-sample draws from) agrees with the configs: a study whose full
    config has no units trains nothing (IV once defaulted to 'trains', and the appendix counted it)."""
    from weakness_lib.core.config import experiment_config
    from weakness_lib.engine.registry import STUDIES

    for name, spec in STUDIES.items():
        module = spec.load()
        if not module.units(base.typed(experiment_config(name, "full"))):
            assert not base.trains(module), name


def test_the_tables_a_cpu_lacks_are_named_with_what_they_would_cost(tmp_path, monkeypatch):
    """The appendix names the tables an emulated CPU has not re-computed (by claim and chapter),
    their native unit times, and the emulator's slowdown measured on units both CPUs hold."""
    monkeypatch.setattr(vf, "checkable_on", lambda cpu: ["head_to_head_mnist", "theory", "invariance_audit"])
    native, emulated = tmp_path / "amd-epyc", tmp_path / "emulated-intel-xeon"
    native.mkdir(), emulated.mkdir()
    unit = lambda key, s: _unit_line(key, 22, {"a": 1.0}, [], [], s)  # noqa: E731
    (native / "head_to_head_mnist.txt").write_text(_log(unit("net041", 10.0), unit("net019", 20.0)))
    (native / "theory.txt").write_text(_log(unit("b3_n5", 2.0), study="theory"))
    (native / "invariance_audit.txt").write_text(_log(unit("layer1_a10", 150.0), study="invariance_audit"))
    assert vf.not_yet(vf.read_logs(tmp_path)) == ""  # the native CPU has every table
    (emulated / "head_to_head_mnist.txt").write_text(_log(unit("net041", 1000.0), cpu=XEON))
    (emulated / "theory.txt").write_text(_log(unit("b3_n5", 40.0), study="theory", cpu=XEON))
    logs = vf.read_logs(tmp_path)
    assert logs["amd-epyc"][0].seconds == (10.0, 20.0)
    assert vf.slowdown(logs) == (20.0, 100.0)  # net041: 1000/10; b3_n5: 40/2; net019 has no pair
    assert vf.not_yet(logs) == (
        "**Not yet re-computed on the Intel Xeon (SapphireRapids), emulated:** the tables of B2 "
        "(chapter 02). A unit of theirs took 150 s natively; the emulator has taken 20 to "
        "100 times as long as natively for the same unit, so about 0.8 to 4 h each.")
