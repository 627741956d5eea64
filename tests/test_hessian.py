"""Curvature primitives against the dense float64 Hessian of tiny networks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from weakness_lib.curvature import (
    HVP,
    dense_hessian,
    flatten,
    hutchinson_trace,
    loss_function,
    model_params,
    top_eigenvalues,
    unflatten,
)


@pytest.fixture(params=["cross_entropy", "mse"])
def problem(request, tiny_mlp, tiny_batch):
    X, y = tiny_batch
    if request.param == "mse":
        y = torch.randn(len(X), 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    hvp = HVP.for_model(tiny_mlp, X, y, loss=request.param)
    H = dense_hessian(loss_function(tiny_mlp, X, y, request.param), model_params(tiny_mlp, torch.float64))
    return hvp, H


def test_flatten_roundtrip(tiny_mlp):
    params = model_params(tiny_mlp)
    back = unflatten(flatten(params), params)
    assert all(torch.equal(back[k], params[k]) for k in params)
    with pytest.raises(ValueError):
        unflatten(torch.zeros(3, dtype=torch.float64), params)


def test_hvp_matches_dense_hessian(problem):
    hvp, H = problem
    assert torch.allclose(H, H.T, atol=1e-12)
    gen = torch.Generator().manual_seed(3)
    for _ in range(3):
        v = torch.randn(hvp.dim, generator=gen, dtype=torch.float64)
        assert torch.allclose(hvp(v), H @ v, rtol=1e-10, atol=1e-12)


def test_lanczos_lambda_max_matches_dense(problem):
    hvp, H = problem
    exact = torch.linalg.eigvalsh(H)
    res = top_eigenvalues(hvp, k=2, tol=1e-10, seed=0)
    assert abs(res.lambda_max - float(exact[-1])) / abs(float(exact[-1])) <= 1e-8
    assert np.allclose(res.values, exact[-2:].flip(0).numpy(), rtol=1e-8)
    assert 0 < res.n_hvp <= hvp.dim and np.all(res.residuals <= 1e-10)
    # the reported residuals are the true ones, ‖Hv − λv‖/|λ|, for unit Ritz vectors
    V = torch.from_numpy(res.vectors)
    torch.testing.assert_close(V.T @ V, torch.eye(2, dtype=torch.float64), atol=1e-10, rtol=0)
    true = torch.linalg.norm(H @ V - V * torch.from_numpy(res.values), dim=0) / torch.from_numpy(res.values).abs()
    assert np.all(true.numpy() <= 1e-9)


def test_hutchinson_within_three_standard_errors(problem):
    hvp, H = problem
    exact = float(torch.trace(H))
    res = hutchinson_trace(hvp, n_probes=200, seed=0)
    assert res.stderr > 0
    assert abs(res.mean - exact) <= 3 * res.stderr
    # block traces partition the total, and estimate the exact diagonal blocks
    assert sum(m for m, _ in res.blocks.values()) == pytest.approx(res.mean, rel=1e-12)
    offset = 0
    for name, (mean, se) in res.blocks.items():
        n = hvp.params[name].numel()
        exact_block = float(torch.diagonal(H)[offset : offset + n].sum())
        assert abs(mean - exact_block) <= 3 * se + 1e-12
        offset += n


def test_hutchinson_is_deterministic_and_needs_two_probes(problem):
    hvp, _ = problem
    a, b = hutchinson_trace(hvp, 5, seed=7), hutchinson_trace(hvp, 5, seed=7)
    assert a.mean == b.mean and a.stderr == b.stderr
    with pytest.raises(ValueError):
        hutchinson_trace(hvp, 1)


def test_float32_hvp_close_to_float64(tiny_mlp, tiny_batch):
    X, y = tiny_batch
    h64 = HVP.for_model(tiny_mlp, X, y, dtype=torch.float64)
    h32 = HVP.for_model(tiny_mlp, X, y, dtype=torch.float32)
    v = torch.randn(h64.dim, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(h32(v).double(), h64(v), rtol=1e-4, atol=1e-5)


def test_unknown_loss_rejected(tiny_mlp, tiny_batch):
    with pytest.raises(ValueError, match="unknown loss"):
        loss_function(tiny_mlp, *tiny_batch, loss="hinge")
