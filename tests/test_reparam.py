"""Dinh rescalings: exact function preservation and exact Hessian block scaling."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from weakness_lib.bennett.models import build_mlp
from weakness_lib.bennett.reparam import (
    block_scales,
    check_function_preserved,
    rescale,
    rescale_chain,
    rescale_layer,
)
from weakness_lib.curvature import dense_hessian, flatten, loss_function, model_params

alphas = st.floats(min_value=1e-2, max_value=1e2, allow_nan=False)


@settings(max_examples=25, deadline=None)
@given(a1=alphas, a2=alphas)
def test_outputs_preserved_to_1e12(a1, a2):
    model = build_mlp((6, 5, 4, 3), seed=3).double()
    X = torch.randn(50, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for other in (rescale(model, [a1, a2]), rescale_layer(model, 2, a1), rescale_chain(model, a2)):
        max_diff, agreement = check_function_preserved(model, other, X)
        scale = float(model(X).detach().abs().max())
        assert max_diff <= 1e-12 * max(1.0, scale)
        assert agreement == 1.0


def test_per_neuron_rescaling_preserves_outputs(tiny_mlp, tiny_batch):
    X, _ = tiny_batch
    gen = torch.Generator().manual_seed(5)
    c = [torch.rand(4, generator=gen, dtype=torch.float64) * 10 + 0.1,
         torch.rand(3, generator=gen, dtype=torch.float64) * 10 + 0.1]
    max_diff, agreement = check_function_preserved(tiny_mlp, rescale(tiny_mlp, c), X)
    assert max_diff < 1e-12 and agreement == 1.0


@pytest.mark.parametrize("scales", [[10.0, 1.0], [1.0, 0.1], [0.1, 0.01], "per-neuron"])
def test_hessian_transforms_exactly_as_inverse_jacobian(tiny_mlp, tiny_batch, scales):
    """H' = J⁻¹ H J⁻¹ with J = diag(∂θ'/∂θ): blocks scaled by α move by α⁻² (and 1/α by α²)."""
    X, y = tiny_batch
    if scales == "per-neuron":
        scales = [torch.tensor([0.5, 2.0, 3.0, 0.25], dtype=torch.float64),
                  torch.tensor([4.0, 0.2, 1.5], dtype=torch.float64)]
    new = rescale(tiny_mlp, scales)
    H = dense_hessian(loss_function(tiny_mlp, X, y), model_params(tiny_mlp))
    H2 = dense_hessian(loss_function(new, X, y), model_params(new))
    j = flatten(block_scales(tiny_mlp, scales))
    # parameters transform as θ' = J θ
    assert torch.allclose(flatten(model_params(new)), j * flatten(model_params(tiny_mlp)), rtol=1e-14)
    expected = H / j[:, None] / j[None, :]
    assert torch.allclose(H2, expected, rtol=1e-9, atol=1e-12 * float(expected.abs().max()))


def test_single_layer_blocks_scale_by_alpha_squared(tiny_mlp, tiny_batch):
    X, y = tiny_batch
    alpha = 10.0
    new = rescale_layer(tiny_mlp, 1, alpha)
    H = dense_hessian(loss_function(tiny_mlp, X, y), model_params(tiny_mlp))
    H2 = dense_hessian(loss_function(new, X, y), model_params(new))
    n1 = 5 * 4 + 4  # layer-1 weight and bias: scaled by α, curvature by α⁻²
    n2 = 4 * 3      # layer-2 weight: scaled by 1/α, curvature by α²
    assert torch.allclose(H2[:n1, :n1], H[:n1, :n1] / alpha**2, rtol=1e-9)
    assert torch.allclose(H2[n1 : n1 + n2, n1 : n1 + n2], H[n1 : n1 + n2, n1 : n1 + n2] * alpha**2, rtol=1e-9)


def test_bad_factors_rejected(tiny_mlp):
    with pytest.raises(ValueError, match="> 0"):
        rescale(tiny_mlp, [-1.0, 1.0])
    with pytest.raises(ValueError, match="hidden-layer scales"):
        rescale(tiny_mlp, [1.0])
    with pytest.raises(ValueError, match="per-neuron"):
        rescale(tiny_mlp, [torch.ones(7), 1.0])
    with pytest.raises(ValueError, match="layer must be"):
        rescale_layer(tiny_mlp, 3, 2.0)
