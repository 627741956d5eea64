"""Population scores of a generalisation measure: Jiang's τ and Ψ, Dziugaite's environments,
Hoeffding weights and sign errors, the configuration bootstrap, and bad input."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pandas as pd
import pytest

from weakness_lib.bennett import robustness as R
from weakness_lib.bennett import robustness_pairs as P


def _grid(levels: dict[str, list], seeds: int, rng: np.random.Generator, drop: int = 0) -> pd.DataFrame:
    """A full grid of configurations × seeds with random measure/gap (ties in ``mu_tied``)."""
    rows = [dict(zip(levels, values), seed=s)
            for values in itertools.product(*levels.values()) for s in range(seeds)]
    df = pd.DataFrame(rows)
    if drop:
        configs = df[list(levels)].drop_duplicates()
        gone = configs.sample(drop, random_state=int(rng.integers(1 << 30)))
        df = df.merge(gone, how="left", indicator=True).query("_merge == 'left_only'").drop(columns="_merge")
    df = df.reset_index(drop=True)
    df["gap"] = rng.uniform(0.0, 0.2, len(df))
    df["mu"] = rng.normal(size=len(df))
    df["mu_tied"] = rng.integers(0, 3, len(df)).astype(float)
    return df


def _brute_tau(mu, g) -> float:
    n, total = len(mu), 0.0
    for i in range(n):
        for j in range(i + 1, n):
            total += np.sign(mu[i] - mu[j]) * np.sign(g[i] - g[j])
    return total / (n * (n - 1) / 2)


def _brute_psi(df, measure, target, hparams):
    psis = {}
    for k in hparams:
        others = [h for h in hparams if h != k]
        taus = []
        for _, grp in df.groupby(others) if others else [(None, df)]:
            if grp[k].nunique() >= 2 and len(grp) >= 2:
                taus.append(_brute_tau(grp[measure].to_numpy(), grp[target].to_numpy()))
        psis[k] = np.mean(taus) if taus else np.nan
    return np.nanmean(list(psis.values())), psis


# ---------------------------------------------------------------- Kendall τ and granulated Ψ
def test_kendall_tau_hand_examples():
    assert R.kendall_tau([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(4 / 6)  # one discordant pair of 6
    assert R.kendall_tau([1, 1, 2], [1, 2, 3]) == pytest.approx(2 / 3)  # the μ tie counts 0, not ½
    assert R.kendall_tau([1, 2, 3], [5, 5, 5]) == 0.0
    assert R.kendall_tau([3, 2, 1], [1, 2, 3]) == -1.0


def test_kendall_tau_matches_brute_force_loop():
    rng = np.random.default_rng(1)
    for _ in range(3):
        mu, g = rng.integers(0, 6, 40).astype(float), rng.integers(0, 6, 40).astype(float)
        assert R.kendall_tau(mu, g) == pytest.approx(_brute_tau(mu, g), abs=1e-12)


def test_granulated_psi_hand_example():
    # 2 × 2 grid, one seed: along a the measure agrees when b = 0 and disagrees when b = 1
    df = pd.DataFrame({"a": [0, 1, 0, 1], "b": [0, 0, 1, 1], "seed": 0,
                       "gap": [1.0, 2.0, 3.0, 4.0], "mu": [1.0, 2.0, 4.0, 3.0]})
    psi, per = R.granulated_psi(df, "mu", "gap", ["a", "b"])
    assert per == {"a": pytest.approx(0.0), "b": pytest.approx(1.0)}
    assert psi == pytest.approx(0.5)
    # drop (a=1, b=1): the group b = 1 has a single value of a and is skipped
    psi, per = R.granulated_psi(df.iloc[:3], "mu", "gap", ["a", "b"])
    assert per == {"a": pytest.approx(1.0), "b": pytest.approx(1.0)}


def test_granulated_psi_includes_pairs_of_seeds():
    # one hyper-parameter, two seeds: the discordant pair is the two seeds of a = 0
    df = pd.DataFrame({"a": [0, 0, 1, 1], "seed": [0, 1, 0, 1],
                       "gap": [1.0, 2.0, 3.0, 4.0], "mu": [2.0, 1.0, 3.0, 4.0]})
    psi, per = R.granulated_psi(df, "mu", "gap", ["a"])
    assert psi == pytest.approx(4 / 6) and per["a"] == pytest.approx(4 / 6)


def test_granulated_psi_matches_brute_force_on_incomplete_grid():
    rng = np.random.default_rng(2)
    df = _grid({"lr": [0.1, 0.2, 0.3], "width": [8, 16], "depth": [1, 2, 3]}, seeds=3, rng=rng, drop=4)
    hp = ["lr", "width", "depth"]
    for measure in ("mu", "mu_tied"):
        psi, per = R.granulated_psi(df, measure, "gap", hp)
        ref_psi, ref_per = _brute_psi(df, measure, "gap", hp)
        assert psi == pytest.approx(ref_psi, abs=1e-12)
        assert per == pytest.approx(ref_per, abs=1e-12)


# ---------------------------------------------------------------- environments and Hoeffding
def test_environments_of_a_full_3x3x2_grid():
    df = _grid({"x": [1, 2, 3], "y": ["a", "b", "c"], "z": [0.5, 1.5]}, seeds=2, rng=np.random.default_rng(3))
    envs = R.environments(df, ["x", "y", "z"])
    assert len(envs) == 18 * (2 + 2 + 1) == 90  # ordered pairs, as create_environments.py
    assert pd.Series([e.varied for e in envs]).value_counts().to_dict() == {"x": 36, "y": 36, "z": 18}
    pairs = {(e.config_a, e.config_b) for e in envs}
    assert len(pairs) == 90 and all((b, a) in pairs for a, b in pairs)
    names = ["x", "y", "z"]
    for e in envs:
        differ = [n for n, u, v in zip(names, e.config_a, e.config_b) if u != v]
        assert differ == [e.varied]
    with pytest.raises(dataclasses.FrozenInstanceError):
        envs[0].varied = "y"
    # a missing configuration takes its 5 outgoing and 5 incoming environments with it
    partial = df[~((df.x == 2) & (df.y == "b") & (df.z == 0.5))]
    assert len(R.environments(partial, names)) == 80


def test_hoeffding_weight_hand_values():
    # φ = 2 exp(−2·100·0.15²) = 0.0222180; (1 − φ)² = 0.9560577; minus ½
    assert R.hoeffding_weight(0.3, 100) == pytest.approx(0.4560576530633774, rel=1e-12)
    assert R.hoeffding_weight(-0.3, 100) == R.hoeffding_weight(0.3, 100)
    assert R.hoeffding_weight(0.3, 100, min_weight=0.0) == pytest.approx(0.9560576530633774, rel=1e-12)
    assert R.hoeffding_weight(0.0, 10_000, min_weight=0.0) == 0.0  # φ(0) = 2
    # weight > 0 iff (1 − φ)² > ½ iff Δg > √(2 ln(2/(1 − 1/√2))/n) = 0.0196015 at n = 10,000
    w = R.hoeffding_weight(np.array([0.0195, 0.0197, 1.0]), 10_000)
    assert w[0] == 0.0 and 0.0 < w[1] < 0.01 and w[2] == pytest.approx(0.5)
    with pytest.raises(ValueError):
        R.hoeffding_weight(0.1, 0)


# ---------------------------------------------------------------- sign errors
def _hand_df() -> pd.DataFrame:
    # A: gaps 0.0, 0.1; B: 0.5, 0.6 -> every cross pair has weight ½ at n = 10,000.
    # μ: A0 = 1 < both B; A1 = 3 ties B0 (error ½) and is < B1 (error 0): error = ½ / 4
    return pd.DataFrame({"a": ["A", "A", "B", "B"], "seed": [0, 1, 0, 1],
                         "gap": [0.0, 0.1, 0.5, 0.6], "mu": [1.0, 3.0, 3.0, 4.0]})


def test_sign_errors_hand_example():
    err = R.sign_errors(_hand_df(), "mu", "gap", ["a"], n_test=10_000)
    assert list(err.columns[:6]) == ["varied", "config_a", "config_b", "n_pairs", "weight", "ess"]
    assert err[["config_a", "config_b"]].values.tolist() == [[("A",), ("B",)], [("B",), ("A",)]]
    assert err.n_pairs.tolist() == [4, 4]
    assert err.weight.tolist() == pytest.approx([2.0, 2.0])
    assert err.ess.tolist() == pytest.approx([4.0, 4.0])
    assert err.sign_error.tolist() == pytest.approx([0.125, 0.125])


def test_zero_weight_environment_is_nan_and_excluded():
    df = _hand_df()
    df.loc[df.a == "B", "gap"] = [0.1, 0.0]  # gaps of B equal A's: every cross pair has Δg ≤ 0.1
    err = R.sign_errors(df, "mu", "gap", ["a"], n_test=100)  # threshold 1.96/√100 = 0.196
    assert (err.weight == 0).all() and err.sign_error.isna().all()
    s = R.robust_summary(err)
    assert s["n_environments"] == 0 and s["n_excluded"] == 2 and math.isnan(s["max"])


def test_sign_errors_match_brute_force_loop():
    rng = np.random.default_rng(4)
    df = _grid({"lr": [1, 2, 3], "width": [8, 16]}, seeds=3, rng=rng, drop=1)
    n_test = 400  # weights between 0 and ½, many pairs at 0
    for measure in ("mu", "mu_tied"):
        err = R.sign_errors(df, measure, "gap", ["lr", "width"], n_test)
        assert len(err) == len(R.environments(df, ["lr", "width"]))
        for row in err.itertuples():
            a = df[(df.lr == row.config_a[0]) & (df.width == row.config_a[1])]
            b = df[(df.lr == row.config_b[0]) & (df.width == row.config_b[1])]
            num = den = 0.0
            for (_, x), (_, y) in itertools.product(a.iterrows(), b.iterrows()):
                dg = abs(x.gap - y.gap)
                w = max(0.0, max(0.0, 1 - 2 * math.exp(-2 * n_test * (dg / 2) ** 2)) ** 2 - 0.5)
                num += w * (1 - np.sign(x[measure] - y[measure]) * np.sign(x.gap - y.gap)) / 2
                den += w
            assert row.n_pairs == len(a) * len(b) and row.weight == pytest.approx(den, abs=1e-12)
            if den > 0:
                assert row.sign_error == pytest.approx(num / den, abs=1e-12)
            else:
                assert math.isnan(row.sign_error)
        assert err.sign_error.notna().sum() > 5


# ---------------------------------------------------------------- exact properties
def test_negating_the_measure_flips_every_score():
    rng = np.random.default_rng(5)
    df = _grid({"lr": [1, 2, 3], "width": [8, 16, 32]}, seeds=2, rng=rng)
    hp = ["lr", "width"]
    df["neg"] = -df["mu_tied"]
    assert R.kendall_tau(df.neg, df.gap) == pytest.approx(-R.kendall_tau(df.mu_tied, df.gap), abs=1e-15)
    psi, per = R.granulated_psi(df, "mu_tied", "gap", hp)
    npsi, nper = R.granulated_psi(df, "neg", "gap", hp)
    assert npsi == pytest.approx(-psi, abs=1e-15) and all(nper[k] == pytest.approx(-per[k]) for k in hp)
    e = R.sign_errors(df, "mu_tied", "gap", hp, n_test=200)
    ne = R.sign_errors(df, "neg", "gap", hp, n_test=200)
    ok = e.sign_error.notna()
    assert ok.sum() > 10 and (ne.weight == e.weight).all() and (ne.sign_error.notna() == ok).all()
    np.testing.assert_allclose(ne.sign_error[ok], 1 - e.sign_error[ok], atol=1e-12)
    assert (e.sign_error[ok] != 0.5).any()  # not trivially ½ everywhere


def test_perfect_measure_scores_perfectly():
    rng = np.random.default_rng(6)
    df = _grid({"lr": [1, 2, 3], "width": [8, 16], "depth": [1, 2]}, seeds=2, rng=rng)
    hp = ["lr", "width", "depth"]
    assert R.kendall_tau(df.gap, df.gap) == 1.0
    psi, per = R.granulated_psi(df, "gap", "gap", hp)
    assert psi == 1.0 and set(per.values()) == {1.0}
    err = R.sign_errors(df, "gap", "gap", hp, n_test=1000)
    assert err.sign_error.notna().sum() > 10 and (err.sign_error.dropna() == 0.0).all()
    s = R.robust_summary(err)
    assert s["max"] == s["p90"] == s["mean"] == 0.0


def test_robust_summary_hand_example():
    err = pd.DataFrame({"varied": ["a", "a", "b", "b", "b"], "ess": [1.0, 20.0, 30.0, 30.0, 0.0],
                        "sign_error": [1.0, 0.2, 0.4, 0.0, np.nan]})
    s = R.robust_summary(err)
    assert s["max"] == 1.0 and s["mean"] == pytest.approx(0.4)
    assert s["p90"] == pytest.approx(np.percentile([1.0, 0.2, 0.4, 0.0], 90)) == pytest.approx(0.82)
    assert (s["n_environments"], s["n_excluded"]) == (4, 1)
    assert s["per_hparam"]["a"] == {"max": 1.0, "mean": pytest.approx(0.6), "n_environments": 2}
    assert s["per_hparam"]["b"]["max"] == 0.4 and s["per_hparam"]["b"]["n_environments"] == 2
    s12 = R.robust_summary(err, min_ess=12)  # the ESS filter of figure_cdf_all_measures.py
    assert (s12["max"], s12["n_environments"], s12["n_excluded"]) == (0.4, 3, 2)


# ---------------------------------------------------------------- bootstrap
def test_repeated_percentile_equals_np_percentile_of_repeated_values():
    rng = np.random.default_rng(7)
    values = rng.uniform(size=9)
    counts = rng.integers(0, 3, (50, 9)).astype(float)
    counts[0] = 0
    got = P.repeated_percentile(values, counts, 90.0)
    assert math.isnan(got[0])
    for b in range(1, 50):
        if counts[b].sum():
            assert got[b] == pytest.approx(np.percentile(np.repeat(values, counts[b].astype(int)), 90))


def test_resample_counts_equal_an_explicitly_duplicated_population():
    rng = np.random.default_rng(8)
    df = _grid({"lr": [1, 2, 3], "width": [8, 16]}, seeds=2, rng=rng)
    hp = ["lr", "width"]
    pop = P.population(df, "mu_tied", "gap", hp, n_test=300)
    counts = np.array([[2.0, 0.0, 1.0, 3.0, 1.0, 1.0]])  # configuration index = sorted (lr, width)
    cfg = [pop.configs.index(t) for t in zip(df.lr, df.width)]
    dup = df.assign(net=range(len(df))).loc[np.repeat(df.index, counts[0, cfg].astype(int))]
    mu, g, net = dup.mu_tied.to_numpy(), dup.gap.to_numpy(), dup.net.to_numpy()
    i, j = np.triu_indices(len(dup), 1)
    keep = net[i] != net[j]  # a network paired with its own copy is not a pair
    s = np.sign(mu[i] - mu[j]) * np.sign(g[i] - g[j])
    assert pop.tau(counts)[0] == pytest.approx(s[keep].mean(), abs=1e-12)
    assert pop.tau(counts)[0] != pytest.approx(s.mean(), abs=1e-6)  # self-pairs would dilute τ
    psi_k = []
    for k in hp:
        other = "width" if k == "lr" else "lr"
        taus = []
        for val in dup[other].unique():
            sel = (dup[other].to_numpy()[i] == val) & (dup[other].to_numpy()[j] == val) & keep
            if dup.loc[dup[other] == val, k].nunique() >= 2:
                taus.append(s[sel].mean())
        psi_k.append(np.mean(taus))
    psi, per = pop.psi(counts)
    np.testing.assert_allclose(per[0], psi_k, atol=1e-12)
    assert psi[0] == pytest.approx(np.mean(psi_k))
    ok = pop.env_ok
    mult = (counts[0, pop.env_a] * counts[0, pop.env_b])[ok].astype(int)
    rep = np.repeat(pop.env_err[ok], mult)
    rob = pop.robust(counts)
    assert rob["max"][0] == rep.max() and rob["mean"][0] == pytest.approx(rep.mean())
    assert rob["p90"][0] == pytest.approx(np.percentile(rep, 90))


def _clear_signal(seed: int = 9) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = _grid({"lr": [1, 2, 3, 4], "width": [8, 16, 32], "depth": [1, 2]}, seeds=3, rng=rng)
    df["gap"] = 0.02 * df.lr + 0.03 * df.depth - 0.0005 * df.width + rng.normal(0, 0.005, len(df))
    df["mu"] = df.gap + rng.normal(0, 0.01, len(df))
    return df


def test_bootstrap_is_deterministic_and_brackets_the_estimate():
    df, hp = _clear_signal(), ["lr", "width", "depth"]
    a = R.bootstrap_scores(df, "mu", "gap", hp, n_test=10_000, n_boot=300, seed=1)
    assert a == R.bootstrap_scores(df, "mu", "gap", hp, n_test=10_000, n_boot=300, seed=1)
    assert a != R.bootstrap_scores(df, "mu", "gap", hp, n_test=10_000, n_boot=300, seed=2)
    tau, (psi, _) = R.kendall_tau(df.mu, df.gap), R.granulated_psi(df, "mu", "gap", hp)
    summary = R.robust_summary(R.sign_errors(df, "mu", "gap", hp, n_test=10_000))
    assert tau > 0.5 and a["tau"][0] <= tau <= a["tau"][1] and a["tau"][0] > 0.3
    assert a["psi"][0] <= psi <= a["psi"][1] and a["psi"][0] > 0
    assert a["sign_error_mean"][0] <= summary["mean"] <= a["sign_error_mean"][1] < 0.3
    assert set(a) == {"tau", "psi", "sign_error_max", "sign_error_p90", "sign_error_mean"}


def test_score_measures_orients_and_returns_plain_floats():
    df, hp = _clear_signal(), ["lr", "width", "depth"]
    df["neg"] = -df["mu"]
    table = R.score_measures(df, {"mu": 1, "neg": -1}, "gap", hp, n_test=10_000, n_boot=50, seed=3)
    assert table.measure.tolist() == ["mu", "neg"]
    a, b = table.drop(columns=["measure", "orientation"]).to_dict("records")
    assert a == pytest.approx(b, nan_ok=True)  # −1 × (−μ) is μ: identical scores and CIs
    assert a["tau"] == pytest.approx(R.kendall_tau(df.mu, df.gap))
    assert a["psi_depth"] == pytest.approx(R.granulated_psi(df, "mu", "gap", hp)[1]["depth"])
    assert all(type(v) in (float, int) for v in a.values())
    assert {"sign_error_max_lr", "sign_error_mean_width", "tau_lo", "psi_hi", "sign_error_p90_lo"} <= set(a)
    with pytest.raises(ValueError, match="orientation"):
        R.score_measures(df, {"mu": 2}, "gap", hp, n_test=10_000, n_boot=0)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, match", [
    (lambda df: R.granulated_psi(df, "nope", "gap", ["a"]), "not in the DataFrame"),
    (lambda df: R.sign_errors(df, "mu", "gap", ["a", "lr"], 100), "not in the DataFrame"),
    (lambda df: R.granulated_psi(df.iloc[:1], "mu", "gap", ["a"]), "at least 2 networks"),
    (lambda df: R.bootstrap_scores(df, "mu", "gap", ["seed", "a"], 100, n_boot=0), "n_boot"),
    (lambda df: R.environments(df, "a"), "non-empty sequence"),
    (lambda df: R.granulated_psi(df.assign(mu=np.nan), "mu", "gap", ["a"]), "NaN"),
    (lambda df: R.granulated_psi(df.assign(c=1), "mu", "gap", ["a", "c"]), "single value"),
    (lambda df: R.kendall_tau([1.0], [2.0]), "length"),
])
def test_bad_input_raises_one_clear_line(call, match):
    with pytest.raises(ValueError, match=match) as info:
        call(_hand_df())
    assert "\n" not in str(info.value)
