"""Output-space weakness estimators: closed forms, exact invariance, finite-language counting."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from weakness_lib.bennett import weakness as W
from weakness_lib.bennett.models import build_mlp
from weakness_lib.bennett.reparam import rescale


def _peaked_model(seed: int = 0) -> torch.nn.Module:
    """A float64 MLP on 28×28 inputs whose softmax outputs range from confident to spread."""
    model = build_mlp((784, 24, 16, 10), seed=seed).double()
    with torch.no_grad():
        model.layers[-1].weight.mul_(100.0)
    return model


def _bordered_images(n: int, seed: int = 0) -> torch.Tensor:
    """Images with a zero border of 4 px (shifts by ≤ 2 px lose no mass), flattened."""
    g = torch.Generator().manual_seed(seed)
    img = torch.zeros(n, 1, 28, 28)
    img[:, :, 4:24, 4:24] = torch.rand(n, 1, 20, 20, generator=g)
    return img.reshape(n, -1)


# ---------------------------------------------------------------- W1 closed form ----------------
def test_log_freedom_values_per_set_size():
    table = W.log2_freedom_per_size(10)
    assert table[1] == 0.0
    assert table[2] == pytest.approx(math.log2(3))
    assert table[3] == pytest.approx(math.log2(7))
    assert table[10] == pytest.approx(math.log2(1023))


def test_w1_on_hand_made_logits():
    # rows: one confident (|A| = 1), one two-way tie (|A| = 2), one uniform (|A| = 4)
    z = torch.tensor([[10.0, 0.0, 0.0, 0.0], [5.0, 5.0, -5.0, -5.0], [0.0, 0.0, 0.0, 0.0]])
    sizes = W.permitted_by_probability(z, 0.1).sum(1).tolist()
    assert sizes == [1, 2, 4]
    expected = (0.0 + math.log2(3) + math.log2(15)) / 3
    assert W.w1_log_freedom(z, tau=0.1) == pytest.approx(expected, abs=1e-15)
    assert W.mean_permitted(z, tau=0.1) == pytest.approx(7 / 3)
    assert W.fraction_singleton(z, tau=0.1) == pytest.approx(1 / 3)
    # margin form: δ = 1 keeps exactly the tied top classes
    assert W.permitted_by_margin(z, 1.0).sum(1).tolist() == [1, 2, 4]
    # entropy of the uniform row is 2 bits, of the tie 1 bit (up to e^-10 leakage)
    assert W.predictive_entropy(z[2:]) == pytest.approx(2.0, abs=1e-12)
    assert W.predictive_entropy(z[1:2]) == pytest.approx(1.0, abs=1e-3)


def test_permitted_set_always_contains_argmax():
    z = torch.randn(500, 10, generator=torch.Generator().manual_seed(1))
    for tau in (0.01, 0.5, 0.99, 1.0):
        mask = W.permitted_by_probability(z, tau)
        assert bool(mask[torch.arange(500), z.argmax(1)].all())
        assert int(mask.sum(1).min()) >= 1
    assert bool(W.permitted_by_margin(z, 0.0)[torch.arange(500), z.argmax(1)].all())


def test_w1_is_monotone_in_threshold_and_cor4_offset():
    z = 3 * torch.randn(2000, 10, generator=torch.Generator().manual_seed(2))
    sweep = W.w1_sweep(z)
    prob = sweep[sweep.form == "probability"].sort_values("threshold")
    marg = sweep[sweep.form == "margin"].sort_values("threshold")
    assert np.all(np.diff(prob.w1.to_numpy()) <= 0)  # larger τ ⇒ fewer permitted labels
    assert np.all(np.diff(marg.w1.to_numpy()) >= 0)  # larger δ ⇒ more permitted labels
    w1 = W.w1_log_freedom(z, tau=0.05)
    assert W.generalisation_log2_probability(z, tau=0.05) == pytest.approx(w1 - math.log2(1023))


def test_bad_arguments_raise_clear_errors():
    z = torch.randn(4, 10)
    with pytest.raises(ValueError, match="exactly one"):
        W.w1_log_freedom(z)
    with pytest.raises(ValueError, match="exactly one"):
        W.w1_log_freedom(z, tau=0.1, delta=1.0)
    with pytest.raises(ValueError, match="threshold"):
        W.w1_log_freedom(z, tau=0.0)
    with pytest.raises(ValueError, match="NaN"):
        W.w1_log_freedom(torch.full((2, 10), float("nan")), tau=0.1)


# ---------------------------------------------------------------- exact invariance -------------
def test_equal_logits_give_bitwise_equal_weakness():
    model = _peaked_model(3)
    X = _bordered_images(200)
    twin = build_mlp((784, 24, 16, 10)).double()
    twin.load_state_dict(model.state_dict())
    a, b = W.weakness_table(model, X), W.weakness_table(twin, X)
    assert a == b  # exact float equality, every key


@pytest.mark.parametrize(
    "scales",
    [[0.1, 1.0], [10.0, 1.0], [1.0, 0.1], [3.0, 30.0], "per_neuron"],
    ids=["layer1x0.1", "layer1x10", "layer2x0.1", "chain", "per_neuron"],
)
def test_weakness_is_exactly_invariant_under_dinh_rescaling(scales):
    model = _peaked_model(4)
    X = _bordered_images(300, seed=5)
    if scales == "per_neuron":
        g = torch.Generator().manual_seed(0)
        scales = [torch.rand(24, generator=g, dtype=torch.float64) * 20 + 0.05,
                  torch.rand(16, generator=g, dtype=torch.float64) * 20 + 0.05]
    other = rescale(model, scales)
    za, zb = W.probe_logits(model, X), W.probe_logits(other, X)
    assert float((za - zb).abs().max()) < 1e-10  # the function is preserved
    a, b = W.weakness_table(model, X), W.weakness_table(other, X)
    # the estimators discriminate: this network has spread permitted-set sizes
    assert 0.0 < a["frac_single_tau0.05"] < 1.0
    for key in a:
        if key == "entropy_bits":
            assert a[key] == pytest.approx(b[key], abs=1e-12)
        else:
            assert a[key] == b[key], key  # set counts and arg-max agreements: identical


# ---------------------------------------------------------------- W2 -----------------------------
def test_default_group_has_twelve_named_transforms():
    G = W.default_transforms()
    assert len(G) == 12
    assert len({g.name for g in G}) == 12


def test_shifts_are_exact_integer_translations():
    X = _bordered_images(3).reshape(3, 1, 28, 28)
    G = {g.name: g for g in W.default_transforms()}
    assert torch.equal(G["shift_x+2"](X)[..., 2:], X[..., :-2])
    assert torch.equal(G["shift_y-1"](X)[..., :-1, :], X[..., 1:, :])
    assert torch.equal(G["noise0.1"](X), G["noise0.1"](X))  # seeded: deterministic
    noisy = G["noise0.2"](X)
    assert float(noisy.min()) >= 0.0 and float(noisy.max()) <= 1.0


class _MassClassifier(torch.nn.Module):
    """Predicts from total intensity only: invariant to mass-preserving shifts, not to noise."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.linspace(-1.0, 1.0, 10, dtype=torch.float64))

    def forward(self, x):
        s = x.reshape(x.shape[0], -1).sum(1, keepdim=True) / 100.0
        return -((s - 2.0 - 0.2 * torch.arange(10, dtype=x.dtype)) ** 2) * 50 + 0 * self.w


def test_w2_counts_shift_compatibility_of_a_shift_invariant_classifier():
    X = _bordered_images(400, seed=7)
    res = W.transformation_compatibility(_MassClassifier(), X)
    for name, agree in res.per_transform.items():
        if name.startswith("shift"):
            assert agree == 1.0, name  # zero borders: shifts preserve total mass exactly
    assert res.per_transform["noise0.2"] < 1.0  # noise changes the mass, so some predictions move
    assert res.n_transforms == 12
    assert res.count == pytest.approx(sum(res.per_transform.values()))
    assert res.fraction == pytest.approx(res.count / 12)
    wrong = W.transformation_compatibility(_MassClassifier(), X, transforms=W.wrong_group_transforms())
    assert wrong.fraction == 1.0  # a vertical flip preserves mass too: the control is model-specific


def test_w2_from_logits_counts_agreements():
    base = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    moved = [torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]]), base.clone()]
    res = W.w2_from_logits(base, moved, ["a", "b"])
    assert res.count == pytest.approx((2 + 1 + 2) / 3)
    assert res.per_transform == {"a": pytest.approx(2 / 3), "b": 1.0}


# ---------------------------------------------------------------- finite languages -------------
def _brute_extension_sizes(truth: np.ndarray) -> dict[int, int]:
    n = truth.shape[0]
    worlds = truth.T
    realisable = {
        m for m in range(1 << n)
        if any(all(w[i] for i in range(n) if m >> i & 1) for w in worlds)
    }
    return {x: sum(1 for y in realisable if y & x == x) for x in realisable}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_finite_language_extension_counts_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    truth = rng.random((7, 9)) < 0.6
    lang = W.FiniteLanguage(truth)
    brute = _brute_extension_sizes(truth)
    assert set(lang.statements.tolist()) == set(brute)
    for x, size in brute.items():
        assert lang.weakness(x) == size
        assert len(lang.extension(x)) == size
    non_statements = set(range(1 << 7)) - set(brute)
    assert all(lang.weakness(x) == 0 for x in non_statements)


@pytest.mark.parametrize("n_contexts,n_outputs", [(3, 3), (4, 3), (3, 4), (2, 5)])
def test_freedom_closed_form_matches_enumeration(n_contexts, n_outputs):
    lang = W.exclusion_language(n_contexts, n_outputs)
    outputs = range(n_outputs)
    nonempty = [s for r in range(1, n_outputs + 1) for s in itertools.combinations(outputs, r)]
    rng = np.random.default_rng(n_contexts * 10 + n_outputs)
    profiles = [tuple(nonempty[i] for i in rng.integers(len(nonempty), size=n_contexts))
                for _ in range(60)]
    for profile in profiles:
        x = W.exclusion_statement(profile, n_outputs)
        closed = W.freedom_closed_form([len(a) for a in profile])
        assert lang.weakness(x) == closed, profile
        # and by listing the completions: each keeps a non-empty subset of F(c) per context
        assert len(lang.extension(x)) == closed
    # a profile with an empty permitted set is not realisable: the factor (2^0 − 1) = 0
    empty = W.exclusion_statement([()] + [tuple(outputs)] * (n_contexts - 1), n_outputs)
    assert lang.weakness(empty) == 0 == W.freedom_closed_form([0] + [n_outputs] * (n_contexts - 1))
