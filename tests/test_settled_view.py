"""Chapter 05c's view: the caveats beside each verdict follow the numbers on both sides, and the
tables speak readers' words (no code identifiers, true minus signs, no 'nan')."""

from __future__ import annotations

import math

import pytest

from weakness_lib.views import settled as view


def _claim(value: float, ci: list[float] | None, verdict: str = "reproduced", **details) -> dict:
    return {"claim_id": "B7-60k", "our_value": value, "ci95": ci, "verdict": verdict,
            "paper_value": "ρ = +0.384", "details": details}


@pytest.mark.parametrize("ci, word", [([0.30, 0.50], "contains"), ([0.40, 0.60], "excludes"),
                                      ([0.10, 0.383], "excludes")])
def test_population_caveat_says_whether_the_ci_holds_the_paper(ci, word):
    text = view.population_caveat(_claim(0.45, ci, w1={"rho": -0.7}), 0.384, 0.91)
    assert f"{word} the paper's +0.384" in text
    assert "W1 (τ = 0.01), gives ρ = −0.700" in text and "oracle gives ρ = +0.910" in text


def test_caveat_without_ci_starts_a_sentence():
    text = view.population_caveat(_claim(0.45, None), 0.384, 0.5)
    assert text[0].isupper() and "CI" not in text


def test_numbers_use_true_minus_and_dash_for_missing():
    assert view.signed(-0.25) == "−0.250" and view.signed(0.25) == "+0.250"
    assert view.signed(None) == view.signed(math.nan) == "—"
    assert view.interval(math.nan, 0.1) == "—" and view.interval(-0.1, 0.2) == "[−0.100, +0.200]"


def _iv(reference: float) -> dict:
    per = {"given_oracle": {"rho": 0.12, "p": 0.2, "p_holm": 0.4, "ci_lo": -0.08, "ci_hi": 0.3},
           "given_confidence": {"rho": 0.3}, "given_both": {"rho": None},
           "difference": {"difference": -0.2, "ci_lo": -0.4, "ci_hi": 0.01},
           "oracle_noise": {"images": 5000, "se_median": 0.002, "sd_between": 0.003,
                            "reliability": 0.55, "reference_median": reference,
                            "reference_lo": reference - 0.1, "reference_hi": reference + 0.1}}
    return {"claim_id": "IV", "our_value": 0.12, "ci95": [-0.08, 0.3], "verdict": "not_reproduced",
            "paper_value": "none", "details": {"mnist": per, "fashion_mnist": per}}


def test_iv_tables_and_caveat_read_the_claim():
    iv = _iv(0.61)
    t = view.iv_table(iv)
    assert list(t["dataset"]) == ["MNIST", "Fashion-MNIST"]
    assert t.iloc[0]["given both"] == "—" and t.iloc[0]["Holm p"] == "0.4"
    n = view.noise_table(iv)
    assert n.iloc[0]["noise-only partial ρ"] == "+0.610 [+0.510, +0.710]"
    assert "+0.610 on MNIST" in view.iv_caveat(iv) and "not a number from the paper" in view.iv_caveat(iv)
    assert not any("_" in c for c in list(t.columns) + list(n.columns))  # no code identifiers


def test_result_box_escapes_and_shows_the_verdict():
    box = view.result_box(_claim(-0.2, [-0.4, 0.1], "not_reproduced"), "a <caveat>")
    assert "❌ not reproduced" in box and "−0.200" in box and "&lt;caveat&gt;" in box


def test_b5_section_says_b5r_is_pending_until_it_is_computed():
    pending = view.b5_section({"B5": {}}).data
    assert "Not computed yet" in pending and "weakness-repro run batch_size_r --scale full" in pending
    curve = [{"n": 2000, "seeds": 7}, {"n": 60000, "seeds": 7}]
    assert "rests on its 7 seeds" in view.b5_section({"B5": {"details": {"curve": curve}}}).data


def test_claims_require_the_populations_and_take_b5r_when_present(tmp_path, monkeypatch):
    import json

    from weakness_lib.engine.base import MissingResults

    monkeypatch.setenv("WEAKNESS_RESULTS", str(tmp_path))
    folder = tmp_path / "smoke" / "claims"
    folder.mkdir(parents=True)
    for cid in view.REQUIRED:
        (folder / f"{cid}.json").write_text(json.dumps({"claim_id": cid}))
    assert set(view.claims("smoke")) == set(view.REQUIRED)
    (folder / "B5-R.json").write_text(json.dumps({"claim_id": "B5-R"}))
    assert set(view.claims("smoke")) == {*view.REQUIRED, "B5-R"}
    (folder / "IV.json").unlink()
    with pytest.raises(MissingResults, match="IV"):
        view.claims("smoke")
