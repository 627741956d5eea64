"""Claim IV (does W2 add information beyond a validation set?): its statistics against dense
references and its registered verdict rule on both sides of each threshold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from weakness_lib.bennett import added_information as ai
from weakness_lib.bennett.stats import partial_spearman
from weakness_lib.engine import base
from weakness_lib.studies.bennett import weakness_vs_validation as iv

#: IV's registered settings with fewer resamples and two synthetic populations (typed, as analysed)
CFG = base.settings("weakness_vs_validation", "full").replace(
    bootstrap_resamples=400, bootstrap_seed=0, noise_simulations=300, noise_seed=0,
    populations={"mnist": "a", "fashion_mnist": "b"})


def _population(n: int, seed: int, added: float) -> pd.DataFrame:
    """Networks whose test accuracy = oracle signal + ``added`` × an independent W2 signal."""
    rng = np.random.default_rng(seed)
    true = rng.normal(size=n)
    extra = rng.normal(size=n)
    return pd.DataFrame({
        "val_acc": 0.97 + 0.002 * (true + 0.3 * rng.normal(size=n)),
        "test_acc": 0.97 + 0.002 * (true + added * extra),
        "w2": extra + 0.1 * rng.normal(size=n),
        "mean_conf": true + rng.normal(size=n),
    })


def test_vectorised_partial_equals_residual_regression():
    rng = np.random.default_rng(3)
    x, y, z = rng.normal(size=(3, 5, 40))
    y = y + x + z
    rows = ai.partial_spearman_rows(x, y, z)
    dense = [partial_spearman(x[i], y[i], z[i])[0] for i in range(5)]
    np.testing.assert_allclose(rows, dense, rtol=0, atol=1e-12)


def test_spearman_rows_matches_scipy_with_ties():
    x = np.array([1.0, 2.0, 2.0, 3.0, 5.0, 5.0, 7.0])
    y = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0])
    assert float(ai.spearman_rows(x, y)) == pytest.approx(sps.spearmanr(x, y).statistic, abs=1e-14)


def test_partial_ci_is_seeded_and_brackets_a_strong_effect():
    df = _population(100, 1, added=1.0)
    idx = ai.resample_indices(100, 500, 0)
    a = ai.partial_with_ci(df.w2, df.test_acc, df.val_acc, idx)
    b = ai.partial_with_ci(df.w2, df.test_acc, df.val_acc, ai.resample_indices(100, 500, 0))
    assert a == b
    assert a["rho"] > 0.3 and a["p"] < 1e-3 and 0 < a["ci_lo"] < a["rho"] < a["ci_hi"]
    # p uses n − 3 degrees of freedom (one control)
    t = a["rho"] * np.sqrt(97 / (1 - a["rho"] ** 2))
    assert a["p"] == pytest.approx(2 * sps.t.sf(abs(t), 97), rel=1e-12)


def test_no_added_information_gives_a_null_partial():
    df = _population(100, 2, added=0.0)
    out = ai.partial_with_ci(df.w2, df.test_acc, df.val_acc, ai.resample_indices(100, 500, 0))
    assert abs(out["rho"]) < 0.25 and out["ci_lo"] < 0 < out["ci_hi"]


def test_undefined_partial_is_none_not_a_crash():
    x = np.arange(4.0)
    out = ai.partial_with_ci(x, x[::-1], np.column_stack([x, x * x]))  # n − 2 − k < 1
    assert out["rho"] is None and "too small" in out["note"]


def test_difference_is_paired_and_signed():
    df = _population(100, 4, added=0.2)
    idx = ai.resample_indices(100, 400, 0)
    d = ai.difference_with_ci(df.w2, df.val_acc, df.test_acc, idx)
    assert d["difference"] == pytest.approx(d["rho_measure"] - d["rho_oracle"])
    assert d["rho_oracle"] > d["rho_measure"] and d["ci_hi"] < 0  # the oracle is far better here


@pytest.mark.parametrize("width", [0.0005, 0.003, 0.01, 0.08])
def test_noise_reference_follows_the_gaussian_closed_form(width):
    """Oracle o = a + e1, test t = a + e2 (independent noise, sd σ; a with sd s): with
    c = s/√(s² + σ²), ρ(a, t | o) = c/√(1 + c²) (→ 0 for a pure-noise oracle, → 1/√2 for a sharp
    one). Ranks of 100 networks follow it to a few hundredths."""
    a = 0.95 - width / 2 + width * np.random.default_rng(5).random(100)
    ref = ai.oracle_noise(a, a, 5000, 400, 0)
    s, sigma = np.std(a), np.sqrt(np.mean(a * (1 - a)) / 5000)
    c = s / np.sqrt(s**2 + sigma**2)
    assert ref["reference_median"] == pytest.approx(c / np.sqrt(1 + c * c), abs=0.06)
    assert ref["reference_lo"] < ref["reference_median"] < ref["reference_hi"]


def test_oracle_reliability_on_both_sides():
    """1 − mean(se²)/var(oracle) ≈ s²/(s² + σ²) for an oracle measured on 5,000 images."""
    rng = np.random.default_rng(6)
    for width, lo, hi in [(0.08, 0.97, 1.0), (0.003, 0.0, 0.6)]:
        a = 0.95 - width / 2 + width * rng.random(400)
        oracle = rng.binomial(5000, a) / 5000
        got = ai.oracle_noise(oracle, a, 5000, 10, 0)
        s2, se2 = np.var(a), np.mean(a * (1 - a)) / 5000
        assert lo < got["reliability"] < hi
        assert got["reliability"] == pytest.approx(s2 / (s2 + se2), abs=0.12)
        assert got["se_median"] == pytest.approx(float(np.median(np.sqrt(oracle * (1 - oracle) / 5000))))


def _per(rho_p: dict[str, tuple[float | None, float | None]]) -> dict:
    return {d: {"given_oracle": {"rho": r, "p": p}} for d, (r, p) in rho_p.items()}


@pytest.mark.parametrize("rho_p, verdict", [
    ({"m": (0.3, 0.01), "f": (0.2, 0.04)}, "reproduced"),            # Holm: 0.02, 0.04 < 0.05
    ({"m": (0.3, 0.03), "f": (0.2, 0.03)}, "not_reproduced"),        # Holm: 0.06, 0.06
    ({"m": (0.3, 0.001), "f": (0.2, 0.03)}, "reproduced"),           # 0.002, 0.03
    ({"m": (0.3, 0.001), "f": (0.2, 0.06)}, "partially_reproduced"),
    ({"m": (0.3, 0.001), "f": (-0.4, 0.0001)}, "partially_reproduced"),  # negative never counts
    ({"m": (-0.3, 0.001), "f": (-0.4, 0.0001)}, "not_reproduced"),
    ({"m": (0.3, 0.001), "f": (None, None)}, "partially_reproduced"),    # undefined never counts
    ({"m": (0.3, 0.024), "f": (0.2, 0.026)}, "reproduced"),          # Holm: 0.048, 0.048
    ({"m": (0.3, 0.026), "f": (0.2, 0.026)}, "not_reproduced"),      # Holm: 0.052, 0.052
])
def test_verdict_rule_both_sides(rho_p, verdict):
    got, adjusted = iv.iv_verdict(_per(rho_p), 0.05)
    assert got == verdict
    defined = [d for d, (r, _) in rho_p.items() if r is not None]
    assert all(adjusted[d] >= rho_p[d][1] for d in defined)  # Holm never lowers a p


def test_dataset_report_and_claim_value_is_the_smaller_partial(monkeypatch):
    frames = {"a": _population(60, 7, added=1.0), "b": _population(60, 8, added=0.0)}
    per = {d: {"population": s, **iv.dataset_report(CFG, frames[s], 5000)}
           for d, s in CFG.populations.items()}
    verdict, adjusted = iv.iv_verdict(per, 0.05)
    assert verdict == "partially_reproduced"
    assert set(per["mnist"]) >= {"given_oracle", "given_confidence", "given_both", "difference",
                                 "oracle_noise"}
    for d, p in adjusted.items():
        per[d]["given_oracle"]["p_holm"] = p
    monkeypatch.setattr(iv.base, "provenance", lambda *t: {"tables": [], "wall_s": 0.0})
    claim = iv.claims({"per_dataset": per, "verdict": verdict, "tables": []})[0]
    assert claim.claim_id == "IV" and claim.paper == "ours"
    assert claim.details["value_dataset"] == "fashion_mnist"
    assert claim.our_value == per["fashion_mnist"]["given_oracle"]["rho"]
    assert claim.ci95 == [per["fashion_mnist"]["given_oracle"]["ci_lo"],
                          per["fashion_mnist"]["given_oracle"]["ci_hi"]]


def test_iv_has_no_units_and_refuses_one():
    assert iv.units(CFG) == []
    with pytest.raises(ValueError, match="no units"):
        iv.compute_unit(CFG, "net000")


def test_verify_says_iv_trains_nothing(tmp_path, monkeypatch, capsys):
    from weakness_lib.engine.verify import verify_study

    monkeypatch.setenv("WEAKNESS_RESULTS", str(tmp_path))
    assert verify_study("weakness_vs_validation", "smoke", sample=2, seed=0, units=[], log=False) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "trains nothing" in err and "scale_60k_fmnist" in err
