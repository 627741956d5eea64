"""The portable re-run's record and its appendix section: ``core.bitwise.drift`` (how far two
tables' numbers moved) and ``views.portable`` (what the appendix says, judged from the record)."""

from __future__ import annotations

import copy
import math

import pytest

from weakness_lib.core.bitwise import drift, numbers
from weakness_lib.views import portable


def test_numbers_walks_nested_rows_and_skips_timings_and_flags():
    row = {"key": "a", "acc": 0.5, "ok": True, "_wall_s": 3.0, "train_wall_s": 2.0,
           "history": [{"loss": 1.0, "epoch": 2}], "name": "x"}
    assert numbers(row) == {"acc": 0.5, "history[0].loss": 1.0, "history[0].epoch": 2.0}


def test_drift_counts_moves_and_keeps_rounding_residue_apart():
    old = {"u1": {"acc": 0.5, "loss": 1e-31, "trace": 16.0, "_wall_s": 1.0},
           "u2": {"acc": 0.25}, "only_old": {"acc": 1.0}}
    new = {k: copy.deepcopy(v) for k, v in old.items() if k != "only_old"}
    same = drift(old, new)
    assert same["differ"] == 0 and same["max_relative_difference"] == 0 and same["where"] is None
    assert same["units"] == 2 and same["numbers"] == 4  # shared units only; timings skipped
    new["u1"]["loss"] = 2e-31                       # 100 % relative, but residue below tiny
    new["u1"]["trace"] = 16.0 * (1 + 2**-52)        # one ulp
    new["u1"]["_wall_s"] = 9.0                      # timing: ignored
    d = drift(old, new)
    assert d["differ"] == 2 and d["where"] == "u1: trace"
    assert d["max_relative_difference"] == pytest.approx(2**-52, rel=1e-3)
    assert d["max_absolute_difference_below_tiny"] == pytest.approx(1e-31)
    assert d["where_below_tiny"] == "u1: loss" and d["units_in_one_table"] == 1
    new["u1"]["history"] = [1.0, 2.0]               # logged on one side only: counted, not compared
    assert drift(old, new)["numbers_on_one_side"] == 2 and drift(old, new)["differ"] == 2
    new["u2"]["acc"] = math.nan                     # stopped being finite: an infinite move
    assert drift(old, new)["max_relative_difference"] == math.inf


def _record(*, wen_rel=1.6e-13, verdict_b5="partially_reproduced", b5_after=0.05):
    claim = lambda cid, study, b, a, vb, va: {  # noqa: E731
        "claim_id": cid, "study": study, "before": {"value": b, "ci95": [b - 0.1, b + 0.1], "verdict": vb},
        "after": {"value": a, "ci95": [a - 0.1, a + 0.1], "verdict": va},
        "moved": a != b, "verdict_changed": vb != va}
    moved = lambda rel, tiny=0.0: {"units": 10, "numbers": 8000, "differ": 66,  # noqa: E731
                                   "max_relative_difference": rel, "where": "u: x",
                                   "max_absolute_difference_below_tiny": tiny, "tiny": 1e-9}
    return {"wall_s": 3000.0, "before_commit": "985f4c3", "groups": [],
            "studies": {"batch_size": {"cpu": "AMD EPYC", "moved": moved(0.4)},
                        "wen_scenario_3": {"cpu": "AMD EPYC", "moved": moved(wen_rel, 1.1e-16)}},
            "claims": [claim("B5", "batch_size", 0.11, b5_after, "partially_reproduced", verdict_b5),
                       claim("WLM-III", "wen_scenario_3", 0.98, 0.98, "reproduced", "reproduced")]}


def test_claims_table_shows_before_after_and_a_changed_verdict():
    table = portable.claims_table(_record(verdict_b5="reproduced")).set_index("Claim")
    assert table.loc["B5", "Verdict"] == "partially reproduced → reproduced"
    assert table.loc["B5", "Change"] == "Δ = −0.060"
    assert table.loc["WLM-III", "Verdict"] == "reproduced" and table.loc["WLM-III", "Change"] == "none"
    assert table.loc["B5", "Before [95 % CI]"] == "0.110 [0.010, 0.210]"
    assert table.loc["WLM-III", "After [95 % CI]"] == "0.980 [0.880, 1.080]"
    assert list(table.columns[:1]) == ["Verdict"]  # beside the claim: on a phone's first screen


def test_moved_table_names_tables_in_readers_words():
    table = portable.moved_table(_record()).set_index("Table")
    assert table.loc["Large batch vs n, 5 seeds (B5)", "Largest move"] == "40%"
    assert table.loc["Wen scenario III (WLM-III)", "Largest move"] == "1.6 × 10⁻¹³"
    assert table.loc["Wen scenario III (WLM-III)", "Code change"] == "correctly rounded root"
    assert table.loc["Wen scenario III (WLM-III)", "Numbers that moved"] == "66 of 8,000 (< 1 %)"
    assert "Not comparable" not in table  # "none" in every row: said once, in the caption
    assert table.loc["Wen scenario III (WLM-III)", "In"] == "x"  # where "u: x" is
    record = _record()
    record["studies"]["batch_size"]["moved"].update(numbers_on_one_side=4, where="n2000_small_s0: history[3].train_loss")
    table = portable.moved_table(record).set_index("Table")
    assert table.loc["Large batch vs n, 5 seeds (B5)", "Not comparable"] == "4 numbers on one side only"
    assert table.loc["Large batch vs n, 5 seeds (B5)", "In"] == "training loss"
    assert portable._sci(math.inf) == "∞" and portable._relative(math.inf) == "∞"


def test_finding_says_rounding_only_when_the_wen_moves_are_rounding():
    says = portable.finding(_record())
    assert "rounding, not a different result" in says and "50 min" in says
    assert "verdicts that changed: **none**" in says and "Claim values that moved: **B5**" in says
    bigger = portable.finding(_record(wen_rel=0.02))
    assert "rounding, not a different result" not in bigger and "2%" in bigger
    assert "half-width" not in says  # B5 moved by 0.06, its former CI's half-width is 0.1
    far = portable.finding(_record(b5_after=0.25))
    assert "first run's 95 % CI: **B5 (+0.14)**" in far
    changed = portable.finding(_record(verdict_b5="not_reproduced"))
    assert "verdicts that changed: **B5**" in changed
