"""Finite-language theory: exchangeable demand laws, minimax regret, KL = log-weakness, re-creation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import comb

from weakness_lib.bennett import theory as T
from weakness_lib.bennett.models import build_mlp
from weakness_lib.bennett.reparam import rescale_layer
from weakness_lib.bennett.weakness import probe_logits, w1_log_freedom


def _brute_success(law: np.ndarray, n: int, C: int) -> float:
    return float(sum(law[D] for D in range(1 << n) if D & C == D))


def test_uniform_powerset_success_is_bennett_2023_formula():
    n = 7
    s = T.success_all(T.uniform_powerset_law(n), n)
    k = T.popcounts(n)
    assert np.abs(s - 2.0**k / 2.0**n).max() <= 1e-15
    for C in (0, 5, 77, (1 << n) - 1):  # the transform equals direct enumeration
        assert s[C] == pytest.approx(_brute_success(T.uniform_powerset_law(n), n, C), abs=1e-15)


@pytest.mark.parametrize("make", [
    lambda n: T.uniform_k_law(n, 1), lambda n: T.uniform_k_law(n, 3), lambda n: T.binomial_law(n, 0.3),
    lambda n: T.mixture_law([T.uniform_k_law(n, 2), T.binomial_law(n, 0.8)], [0.4, 0.6]),
    lambda n: T.size_law(n, np.arange(n + 1) / np.arange(n + 1).sum()),
])
def test_exchangeable_success_depends_only_on_weakness_and_is_monotone(make):
    n = 8
    law = make(n)
    assert law.sum() == pytest.approx(1.0)
    assert T.is_exchangeable(law, n)
    rep = T.monotonicity_report(law, n)
    assert rep.depends_only_on_size and rep.monotone
    k = T.popcounts(n)
    pi = [law[k == j].sum() for j in range(n + 1)]
    for c in range(n + 1):
        assert rep.by_size[c] == pytest.approx(T.exchangeable_success_closed_form(pi, c, n), abs=1e-12)
    assert T.find_reversal(law, n) is None


def test_uniform_one_law_gives_coverage_fraction():
    n = 6
    rep = T.monotonicity_report(T.uniform_k_law(n, 1), n)
    assert rep.by_size == pytest.approx(np.arange(n + 1) / n)
    rep2 = T.monotonicity_report(T.uniform_k_law(n, 2), n)
    assert rep2.by_size == pytest.approx([comb(c, 2) / comb(n, 2) for c in range(n + 1)])


def test_biased_law_is_not_exchangeable_and_reverses_the_order():
    n = 6
    law = T.biased_law(n, np.linspace(0.05, 0.95, n))
    assert law.sum() == pytest.approx(1.0)
    assert not T.is_exchangeable(law, n)
    big, small = T.find_reversal(law, n)
    s = T.success_all(law, n)
    assert int(big).bit_count() > int(small).bit_count() and s[big] < s[small]
    assert not T.monotonicity_report(law, n).monotone


def test_weakness_maximisers_have_zero_regret_others_positive():
    n = 6
    laws = [T.uniform_k_law(n, k) for k in (1, 2, 3)] + [T.binomial_law(n, q) for q in (0.2, 0.8)]
    rng = np.random.default_rng(0)
    for _ in range(50):
        cands = rng.choice(1 << n, size=5, replace=False)
        rep = T.minimax_report(cands, laws, n)
        assert rep.maximiser_regret == pytest.approx(0.0, abs=1e-15)
        if rep.min_nonmaximiser_regret is not None:
            # under |D| = 1 a smaller coverage loses at least 1/|U|
            assert rep.min_nonmaximiser_regret >= 1.0 / n - 1e-15
    # with a biased law in the family a non-maximiser can be optimal somewhere: regret of the maximiser > 0
    biased = T.biased_law(n, np.array([0.99, 0.99, 0.01, 0.01, 0.01, 0.01]))
    rep = T.minimax_report([0b000011, 0b111100], [biased], n)
    assert rep.maximiser_regret > 0.5


def test_laws_reject_bad_input():
    with pytest.raises(ValueError, match="probability vector"):
        T.size_law(3, [0.5, 0.5])
    with pytest.raises(ValueError, match="exhaustive"):
        T.uniform_powerset_law(20)


def test_kl_is_log_weakness_for_functions_and_bound_is_decreasing():
    df = T.kl_check_functions(3, 3, limit=None, m=100)
    assert len(df) == 7**3  # every non-empty permission set at each of 3 inputs
    assert (df.kl_enum - df.kl_closed).abs().max() < 1e-12
    assert df.kl_closed.to_numpy() == pytest.approx(np.log(27 / df.size_A.to_numpy()))
    by = df.groupby("size_A")["bound"].agg(["min", "max"]).sort_index()
    assert (by["max"] - by["min"]).max() < 1e-14
    assert np.all(np.diff(by["min"].to_numpy()) < 0)
    # KL = 0 when the posterior is the prior, and maximal (ln|H|) for a single function
    assert df.loc[df.size_A == 27, "kl_enum"].max() == pytest.approx(0.0, abs=1e-15)
    assert df.loc[df.size_A == 1, "kl_enum"].min() == pytest.approx(math.log(27))


def test_kl_in_the_exclusion_language_matches_the_freedom_formula():
    df = T.kl_check_exclusion_language(3, 3, limit=None)
    assert len(df) == 7**3
    assert (df.weakness == df.weakness_closed).all()
    assert (df.kl_enum - df.kl_closed).abs().max() < 1e-12
    # |L| = (2^|Y| − 1)^|C| realisable statements
    assert df.kl_closed.max() == pytest.approx(math.log(7**3))


def test_kl_uniform_by_hand():
    mask = np.array([True, True, False, False, False, False, False, False])
    assert T.kl_uniform(mask) == pytest.approx(math.log(4))
    with pytest.raises(ValueError):
        T.kl_uniform(np.zeros(3, dtype=bool))


def test_perturbation_volume_moves_under_rescaling_while_w1_does_not():
    torch.manual_seed(0)
    model = build_mlp((2, 8, 8, 3), seed=0).double()
    with torch.no_grad():
        model.layers[-1].weight.mul_(5.0)
    X = torch.randn(60, 2, dtype=torch.float64)
    vols, w1s = [], []
    for alpha in (0.1, 1.0, 10.0):
        other = rescale_layer(model, 1, alpha)
        vols.append(T.perturbation_volume(other, X, radius=0.2, n_draws=60, seed=1))
        w1s.append(w1_log_freedom(probe_logits(other, X), tau=0.05))
    assert len(set(w1s)) == 1
    assert max(vols) - min(vols) > 0.2


def test_grammar_minimal_sizes_and_targets():
    g = T.expression_grammar(7)
    assert np.all(np.diff(g.tables) > 0)
    add = T.arithmetic_targets("add")
    mul = T.arithmetic_targets("mul")
    assert g.size_of(add[0]) == 3  # a0 ⊕ b0
    assert g.size_of(add[1]) == 7  # a1 ⊕ b1 ⊕ (a0 ∧ b0)
    assert g.size_of(mul[0]) == 3  # a0 ∧ b0
    assert g.size_of(add[2]) is None  # the carry needs 11 nodes
    assert T.expression_grammar(11).size_of(add[2]) == 11
    # the leaves: 4 variables and 2 constants; their negations have size 2
    assert int((g.sizes == 1).sum()) == 6
    # truth tables: bit x of add[0] is (a0 xor b0) at x = 4a + b
    a, b = np.arange(16) >> 2, np.arange(16) & 3
    assert add[0] == sum(int((a[x] ^ b[x]) & 1) << x for x in range(16))
    with pytest.raises(ValueError):
        T.arithmetic_targets("sub")


def test_wmax_vs_mdl_is_exact_on_a_hand_checkable_case():
    g = T.expression_grammar(11)
    df = T.wmax_vs_mdl(g, "add", 15, None)
    assert len(df) == 16  # every training set of 15 situations
    assert (df.extent_wmax == 48).all() and df.mdl_is_wmaximiser.all()
    targets = T.arithmetic_targets("add")
    for _, row in df.iterrows():
        unseen = 1 << (15 - int(row.trial))  # combinations(range(16), 15) omit 15, 14, …, 0 in turn
        for j, t in enumerate(targets):
            flipped_expressible = g.size_of(t ^ unseen) is not None
            assert row[f"p_wmax_bit{j}"] == pytest.approx(0.5 if flipped_expressible else 1.0)
            assert 0.0 <= row[f"p_mdl_bit{j}"] <= 1.0
        assert row.p_wmax == pytest.approx(np.prod([row[f"p_wmax_bit{j}"] for j in range(3)]))
    sampled = T.wmax_vs_mdl(g, "mul", 10, 20, seed=3)
    assert len(sampled) == 20 and sampled.p_mdl.between(0, 1).all()
    assert sampled.equals(T.wmax_vs_mdl(g, "mul", 10, 20, seed=3))
