"""Chapter 05c's view: the caveats beside each verdict follow the numbers on both sides, and the
tables speak readers' words (no code identifiers, true minus signs, no 'nan')."""

from __future__ import annotations

import math

import pytest

from weakness_lib.views import settled as view


def _claim(value: float, ci: list[float] | None, verdict: str = "reproduced", **details) -> dict:
    return {"claim_id": "B7-60k", "our_value": value, "ci95": ci, "verdict": verdict,
            "paper_value": "ρ = +0.384", "details": details}


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
    assert "partial ρ of about +0.61 on MNIST and +0.61 on Fashion-MNIST" in view.iv_caveat(iv)
    assert not any("_" in c for c in list(t.columns) + list(n.columns))  # no code identifiers


def _b5(verdict: str, large: float, ci: list[float] | None, seeds: int) -> dict:
    curve = [{"n": 2000, "seeds": seeds}, {"n": 60000, "seeds": seeds}]
    return {"claim_id": "B5-R", "verdict": verdict, "our_value": large, "ci95": ci,
            "details": {"n_small": 2000, "n_large": 60000, "A_small_n": 1.48, "se_small_n": 0.06,
                        "A_large_n": large, "se_large_n": 0.036, "curve": curve}}


def test_b5_caveat_gives_both_seed_counts():
    text = view.b5_caveat(_b5("partially_reproduced", 0.11, [0.05, 0.18], 5),
                          _b5("partially_reproduced", 0.205, [0.13, 0.28], 20))
    assert text == ("At n = 60,000 the advantage is +0.20 ± 0.04 pp with 20 fresh seeds, "
                    "+0.11 ± 0.04 pp with B5's 5.")


@pytest.mark.parametrize("ci, n, says", [
    ([0.13, 0.28], 60000, "The 95 % CI [+0.13, +0.28] pp excludes the paper's +0.02 pp at n = 60,000"),
    ([-0.03, 0.019], 60000, "excludes the paper's +0.02 pp"),
    ([0.01, 0.28], 60000, None),            # holds +0.02: nothing to say
    ([12.8, 16.7], 1000, None),             # the smoke grid: the paper gives no value at n = 1,000
])
def test_a_large_batch_ci_that_excludes_the_paper_at_the_same_n_is_a_caveat(ci, n, says):
    from weakness_lib.views.caveats import caveats

    claim = _b5("partially_reproduced", 0.205, ci, 20)
    claim["details"]["n_large"] = n
    claim["provenance"] = {"tables": [{"table": "results/full/batch_size_r/x.json"}]}
    found = [c for c in caveats(claim) if "excludes the paper" in c]
    assert (found == []) if says is None else (len(found) == 1 and says in found[0]), found


@pytest.mark.parametrize("verdict, words", [("reproduced", "vanishes"),
                                            ("partially_reproduced", "more than 2 standard errors"),
                                            ("not_reproduced", "does not shrink")])
def test_b5_glue_and_reading_follow_the_verdict_and_dash_until_b5r_exists(verdict, words):
    b5, b5r = _b5("partially_reproduced", 0.11, [0.05, 0.18], 5), _b5(verdict, 0.205, [0.13, 0.28], 20)
    g = view.b5_glue({"B5": b5, "B5-R": b5r}, "full")
    assert words in view.b5_reading(b5r) and words in view.b5_section({"B5": b5, "B5-R": b5r}).data
    assert g["b5_seeds"] == 5 and g["b5r_seeds"] == 20
    assert g["b5r_seed_range"] == "8000–8019" and g["b5r_ci"] == "[+0.13, +0.28]"
    pending = view.b5_glue({"B5": b5}, "full")
    assert pending["b5r_large"] == pending["b5r_verdict"] == "—" and pending["b5_seeds"] == 5


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


@pytest.mark.parametrize("ci, paper_word, first_word", [
    ([0.373, 0.687], "contains", "contains"),   # today's B6-60k-R: the paper's +0.374 just inside
    ([0.375, 0.60], "excludes", "excludes"),    # both outside
    ([0.30, 0.62], "contains", "excludes"),     # B6-60k's +0.628 just outside
])
def test_replication_caveat_reports_the_ci_beside_the_paper_and_b6_60k(ci, paper_word, first_word):
    """B6-60k-R's registration: 'reported beside it: whether the CI contains the paper's +0.374
    and B6-60k's' value (read from B6-60k's claim file, not the one typed at registration)."""
    text = view.replication_caveat({"our_value": 0.628}, {"ci95": ci})
    if paper_word == first_word:
        assert f"{paper_word} both the paper's +0.374 and the first n = 60,000 population's" in text
    else:
        assert f"{paper_word} the paper's +0.374 but {first_word} the first n = 60,000 population's" in text
    assert "ρ = +0.628 (B6-60k" in text  # configs/scale_60k_mnist_r.yaml holds +0.374
