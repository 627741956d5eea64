"""The certified Lanczos solver of weakness_lib.curvature: its stopping rule, breakdowns,
round-off limits and exactness on operators with a known spectrum."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from weakness_lib.curvature import (
    HVP,
    GraphHVP,
    dense_hessian,
    lanczos_lambda_max,
    loss_function,
    model_params,
    top_eigenvalues,
)


class DiagOp:
    """diag(d) with the operator interface (``dim``, ``dtype``, ``calls``), on the CPU."""

    def __init__(self, d):
        self.d = torch.as_tensor(d, dtype=torch.float64)
        self.dim, self.dtype, self.calls = len(self.d), torch.float64, 0

    def __call__(self, v):
        self.calls += 1
        return self.d * v


def test_stops_at_the_first_product_whose_bound_meets_tol():
    d = torch.linspace(0.0, 1.0, 400, dtype=torch.float64) ** 3
    history: list[float] = []
    res = lanczos_lambda_max(DiagOp(d), tol=1e-4, seed=3, history=history)
    assert res.converged and res.residuals[0] <= 1e-4
    assert len(history) == res.n_hvp and history[-1] == res.lambda_max
    # the Ritz values increase towards λ_max and never pass it
    assert all(a <= b + 1e-15 for a, b in zip(history, history[1:])) and history[-1] <= 1.0
    assert 1.0 - res.lambda_max <= 1e-4
    # one product fewer does not certify tol: rerunning with max_iter = n_hvp − 1 warns
    with pytest.warns(RuntimeWarning, match="Lanczos stopped"):
        short = lanczos_lambda_max(DiagOp(d), tol=1e-4, seed=3, max_iter=res.n_hvp - 1)
    assert not short.converged and short.residuals[0] > 1e-4


def test_residual_bound_is_the_true_residual_of_the_unit_ritz_vector():
    d = torch.tensor(np.random.default_rng(0).standard_normal(60))
    res = top_eigenvalues(DiagOp(d), k=3, tol=1e-6, seed=1)
    V = torch.from_numpy(res.vectors)
    torch.testing.assert_close(V.T @ V, torch.eye(3, dtype=torch.float64), atol=1e-12, rtol=0)
    true = torch.linalg.norm(d[:, None] * V - V * torch.from_numpy(res.values), dim=0)
    np.testing.assert_allclose(true.numpy() / np.abs(res.values), res.residuals, rtol=1e-6, atol=1e-14)
    np.testing.assert_allclose(res.values, np.sort(d.numpy())[::-1][:3], rtol=1e-6)


def test_exact_breakdown_continues_in_the_orthogonal_complement():
    # a Krylov space of diag(3, 3, 3, 1) has dimension 2: the second 3 needs a fresh direction
    op = DiagOp([3.0, 3.0, 3.0, 1.0])
    res = top_eigenvalues(op, k=2, tol=1e-12)
    np.testing.assert_allclose(res.values, [3.0, 3.0], rtol=1e-13)
    assert res.converged and res.n_hvp == 4  # every breakdown is followed up to the dimension
    V = res.vectors
    np.testing.assert_allclose(V.T @ V, np.eye(2), atol=1e-13)


def test_float32_operator_is_certified_at_float32_accuracy(tiny_mlp, tiny_batch):
    X, y = tiny_batch
    exact = float(torch.linalg.eigvalsh(
        dense_hessian(loss_function(tiny_mlp, X, y), model_params(tiny_mlp)))[-1])
    res = lanczos_lambda_max(GraphHVP.for_model(tiny_mlp, X, y, dtype=torch.float32), tol=1e-4)
    assert res.converged and abs(res.lambda_max - exact) <= 1e-4 * exact + 1e-6
    with pytest.raises(ValueError, match="unit round-off of torch.float32"):
        lanczos_lambda_max(GraphHVP.for_model(tiny_mlp, X, y, dtype=torch.float32), tol=1e-7)
    with pytest.raises(ValueError, match="tol"):
        lanczos_lambda_max(HVP.for_model(tiny_mlp, X, y), tol=0.0)


def test_seeded_and_operator_independent(tiny_mlp, tiny_batch):
    a = lanczos_lambda_max(GraphHVP.for_model(tiny_mlp, *tiny_batch), tol=1e-6, seed=5)
    b = lanczos_lambda_max(GraphHVP.for_model(tiny_mlp, *tiny_batch), tol=1e-6, seed=5)
    c = lanczos_lambda_max(HVP.for_model(tiny_mlp, *tiny_batch), tol=1e-6, seed=5)
    assert a.lambda_max == b.lambda_max and a.n_hvp == b.n_hvp  # bitwise repeatable
    assert a.n_hvp == c.n_hvp and c.lambda_max == pytest.approx(a.lambda_max, rel=1e-12)
    with pytest.raises(ValueError, match="k"):
        top_eigenvalues(HVP.for_model(tiny_mlp, *tiny_batch), k=0)
