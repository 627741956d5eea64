"""Temperature calibration, mean confidence and the magnitude-aware PAC-Bayes flatness (X3/X5)."""

from __future__ import annotations

import math

import pytest
import torch

from weakness_lib.bennett.measures.pacbayes import pacbayes_flatness, pacbayes_mag_flatness
from weakness_lib.bennett.models import build_mlp
from weakness_lib.bennett.reparam import rescale_layer
from weakness_lib.bennett.weakness.calibration import (
    fit_temperature,
    mean_confidence,
    nll_at_temperature,
)


def _sampled(t_true: float, n: int = 20_000, k: int = 10, seed: int = 0):
    """Logits z and labels drawn from softmax(z / t_true): T* should recover t_true."""
    g = torch.Generator().manual_seed(seed)
    z = 3.0 * torch.randn(n, k, generator=g, dtype=torch.float64)
    y = torch.multinomial(torch.softmax(z / t_true, 1), 1, generator=g).squeeze(1)
    return z, y


@pytest.mark.parametrize("t_true", [0.5, 1.0, 2.5])
def test_fit_temperature_recovers_the_generating_temperature(t_true):
    z, y = _sampled(t_true)
    assert fit_temperature(z, y) == pytest.approx(t_true, rel=0.05)


def test_fit_temperature_minimises_the_nll_and_ignores_a_logit_shift():
    z, y = _sampled(1.7, n=4000)
    t = fit_temperature(z, y)
    nll = nll_at_temperature(z, y, t)
    assert nll < nll_at_temperature(z, y, t * 1.05) and nll < nll_at_temperature(z, y, t / 1.05)
    assert fit_temperature(z + 11.0, y) == pytest.approx(t, rel=1e-6)


def test_fit_temperature_rejects_mismatched_labels():
    with pytest.raises(ValueError, match="as many labels"):
        fit_temperature(torch.zeros(5, 3), torch.zeros(4, dtype=torch.long))


def test_mean_confidence_by_hand():
    z = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0]], dtype=torch.float64)
    assert mean_confidence(z) == pytest.approx((0.5 + 0.75) / 2, abs=1e-15)


def _net_and_batch():
    torch.manual_seed(0)
    model = build_mlp([20, 16, 16, 3], seed=3).double()
    g = torch.Generator().manual_seed(1)
    X = torch.randn(64, 20, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (64,), generator=g)
    return model, X, y


def test_magnitude_aware_flatness_is_invariant_to_layer_rescaling_but_plain_is_not():
    """With ε₀ = 0 the noise θ ⊙ σ′ε commutes with a function-preserving layer rescaling, so σ′*
    is unchanged; the isotropic σ* of the plain PAC-Bayes flatness changes."""
    model, X, y = _net_and_batch()
    scaled = rescale_layer(model, 1, 8.0)
    kw = dict(n_draws=4, n_bisect=20, seed=0, max_increase=0.05)
    a = pacbayes_mag_flatness(model, X, y, eps0=0.0, **kw)
    b = pacbayes_mag_flatness(scaled, X, y, eps0=0.0, **kw)
    assert a == pytest.approx(b, rel=1e-6)
    p = pacbayes_flatness(model, X, y, n_train=64, **kw).sigma
    q = pacbayes_flatness(scaled, X, y, n_train=64, **kw).sigma
    assert abs(math.log(p / q)) > 0.1


def test_magnitude_aware_flatness_is_smaller_for_a_stricter_tolerance():
    model, X, y = _net_and_batch()
    loose = pacbayes_mag_flatness(model, X, y, max_increase=0.2, n_draws=4, n_bisect=16)
    strict = pacbayes_mag_flatness(model, X, y, max_increase=0.02, n_draws=4, n_bisect=16)
    assert strict < loose
