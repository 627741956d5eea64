"""Rank statistics: the paper's p-values, agreement with scipy, bootstrap, partial ρ, Holm."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from weakness_lib.bennett import stats as S


def test_paper_p_values_follow_from_rho_and_n_100():
    # reference §8: the reported p = 0.00012 for ρ = 0.374 and 8.15e-5 for ρ = 0.384 at n = 100
    p1 = S.spearman_p_from_rho(0.374, 100)
    assert p1 == pytest.approx(1.27e-4, rel=5e-3)
    assert f"{p1:.1e}" == "1.3e-04"
    assert S.spearman_p_from_rho(0.3743, 100) < 1.25e-4 + 5e-7  # rounds to the paper's 0.00012
    p2 = S.spearman_p_from_rho(0.3836, 100)
    assert p2 == pytest.approx(8.16e-5, rel=5e-3)
    assert S.spearman_p_from_rho(0.384, 100) == pytest.approx(8.0e-5, rel=1e-2)
    assert S.spearman_p_from_rho(-0.226, 100) == pytest.approx(0.0238, rel=5e-3)
    assert S.spearman_p_from_rho(0.0194, 100) == pytest.approx(0.848, abs=1e-3)


def test_fisher_z_does_not_reproduce_the_paper():
    table = S.derived_p_table(rhos=(0.374, 0.384))
    assert table.p_fisher_z.iloc[0] == pytest.approx(1.7e-4, rel=3e-2)
    assert table.p_fisher_z.iloc[1] == pytest.approx(1.1e-4, rel=3e-2)


@pytest.mark.parametrize("seed", range(5))
def test_spearman_and_its_p_equal_scipy(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=100)
    y = 0.3 * x + rng.normal(size=100)
    rho, p = S.spearman(x, y)
    ref = sps.spearmanr(x, y)
    assert rho == ref.statistic and p == ref.pvalue
    assert S.spearman_p_from_rho(rho, 100) == pytest.approx(ref.pvalue, rel=1e-10)


def test_bootstrap_ci_is_seeded_and_brackets_rho():
    rng = np.random.default_rng(0)
    x = rng.normal(size=80)
    y = 0.5 * x + rng.normal(size=80)
    rho, _ = S.spearman(x, y)
    lo, hi = S.bootstrap_ci(x, y, n_resamples=2000, seed=3)
    assert lo < rho < hi
    assert (lo, hi) == S.bootstrap_ci(x, y, n_resamples=2000, seed=3)
    assert 0.1 < hi - lo < 0.6


def test_kendall_equals_scipy():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=50), rng.normal(size=50)
    ref = sps.kendalltau(x, y)
    assert S.kendall(x, y) == (ref.statistic, ref.pvalue)


def test_partial_spearman_equals_the_first_order_partial_formula():
    rng = np.random.default_rng(2)
    z = rng.normal(size=120)
    x = z + rng.normal(size=120)
    y = z + rng.normal(size=120)
    r = lambda a, b: sps.spearmanr(a, b).statistic  # noqa: E731
    rxy, rxz, ryz = r(x, y), r(x, z), r(y, z)
    expected = (rxy - rxz * ryz) / np.sqrt((1 - rxz**2) * (1 - ryz**2))
    rho, p = S.partial_spearman(x, y, z)
    assert rho == pytest.approx(expected, abs=1e-12)
    # controlling for the common cause removes most of the association
    assert abs(rho) < abs(rxy)
    t = rho * np.sqrt((120 - 3) / (1 - rho**2))
    assert p == pytest.approx(2 * sps.t.sf(abs(t), 117))


def test_holm_against_hand_computation():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted 0.005, 0.01, 0.03, 0.04 → ×4, ×3, ×2, ×1 = 0.02, 0.03, 0.06, 0.04 → running max
    assert S.holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert S.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    with pytest.raises(ValueError):
        S.holm([0.1, float("nan")])


def test_correlation_table_columns_and_orientation():
    rng = np.random.default_rng(4)
    n = 60
    acc = rng.normal(size=n)
    df = pd.DataFrame({"acc": acc, "good": acc + rng.normal(size=n), "sharp": -acc + rng.normal(size=n),
                       "loss": rng.normal(size=n)})
    table = S.correlation_table(df, ["good", "sharp"], "acc", control="loss",
                                orientation={"sharp": -1}, n_resamples=500)
    assert list(table.measure) == ["good", "sharp"]
    for col in ("rho", "p", "p_holm", "ci_lo", "ci_hi", "kendall_tau", "partial_rho", "rho_oriented"):
        assert col in table.columns
    assert table.rho.iloc[0] > 0 > table.rho.iloc[1]
    assert table.rho_oriented.iloc[1] == -table.rho.iloc[1]
    assert np.all(table.p_holm >= table.p)
    with pytest.raises(KeyError, match="missing_col"):
        S.correlation_table(df, ["missing_col"], "acc")


def test_nan_inputs_raise():
    with pytest.raises(ValueError, match="NaN"):
        S.spearman([1.0, 2.0, float("nan"), 4.0], [1.0, 2.0, 3.0, 4.0])
