"""The fast curvature paths of weakness_lib.curvature (GraphHVP, certified Lanczos,
Hutchinson to a target standard error, XTrace) against dense float64 Hessians, closed-form
spectra, scipy's ARPACK and the reference HVP."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.sparse.linalg import eigsh

from weakness_lib.curvature import (
    HVP,
    GraphHVP,
    dense_hessian,
    hutchinson_to_stderr,
    hutchinson_trace,
    lanczos_lambda_max,
    loss_function,
    model_params,
    top_eigenvalues,
    xtrace,
)


@pytest.fixture
def dense(tiny_mlp, tiny_batch):
    X, y = tiny_batch
    H = dense_hessian(loss_function(tiny_mlp, X, y), model_params(tiny_mlp))
    return H, torch.linalg.eigvalsh(H)


@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_graph_hvp_equals_dense_hessian_products(tiny_mlp, tiny_batch, loss):
    X, y = tiny_batch
    target = y if loss == "cross_entropy" else torch.randn(len(y), 3, dtype=torch.float64)
    H = dense_hessian(loss_function(tiny_mlp, X, target, loss), model_params(tiny_mlp))
    op = GraphHVP.for_model(tiny_mlp, X, target, loss)
    V = torch.randn(7, op.dim, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    for v in V:
        torch.testing.assert_close(op(v), H @ v, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(op.matmat(V), V @ H, rtol=1e-10, atol=1e-12)
    assert op.calls == 14


def test_graph_hvp_agrees_with_jvp_grad_hvp(tiny_mlp, tiny_batch):
    X, y = tiny_batch
    a, b = GraphHVP.for_model(tiny_mlp, X, y), HVP.for_model(tiny_mlp, X, y)
    v = torch.randn(a.dim, dtype=torch.float64)
    torch.testing.assert_close(a(v), b(v), rtol=1e-12, atol=1e-13)


def test_graph_hvp_rejects_wrong_shapes(tiny_mlp, tiny_batch):
    op = GraphHVP.for_model(tiny_mlp, *tiny_batch)
    with pytest.raises(ValueError, match="length"):
        op(torch.zeros(op.dim + 1, dtype=torch.float64))
    with pytest.raises(ValueError, match="shape"):
        op.matmat(torch.zeros(op.dim, dtype=torch.float64))


def test_graph_hvp_linear_operator_matvec_and_matmat(tiny_mlp, tiny_batch, dense):
    H, _ = dense
    lo = GraphHVP.for_model(tiny_mlp, *tiny_batch).as_linear_operator()
    M = np.random.default_rng(0).standard_normal((H.shape[0], 3))
    np.testing.assert_allclose(lo.matmat(M), H.numpy() @ M, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(lo.matvec(M[:, 0]), H.numpy() @ M[:, 0], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("tol", [1e-3, 1e-8])
def test_lanczos_lambda_max_matches_dense_within_tol(tiny_mlp, tiny_batch, dense, tol):
    _, evals = dense
    res = lanczos_lambda_max(HVP.for_model(tiny_mlp, *tiny_batch), tol=tol, seed=1)
    exact = float(evals[-1])
    assert abs(res.lambda_max - exact) <= tol * abs(exact)
    assert res.lambda_max <= exact * (1 + 1e-12)  # a Ritz value never exceeds λ_max
    assert res.residuals[0] <= tol
    assert 1 <= res.n_hvp <= evals.numel()


def test_lanczos_residual_bound_is_the_true_residual(tiny_mlp, tiny_batch, dense):
    H, _ = dense
    res = lanczos_lambda_max(GraphHVP.for_model(tiny_mlp, *tiny_batch), tol=1e-4, seed=2)
    y = torch.from_numpy(res.vectors[:, 0])
    true = torch.linalg.norm(H @ y - res.lambda_max * y) / abs(res.lambda_max)
    assert float(true) == pytest.approx(res.residuals[0], rel=1e-5, abs=1e-12)


def test_lanczos_exact_on_small_diagonal_operator():
    d = torch.tensor([5.0, 3.0, 1.0, -2.0], dtype=torch.float64)

    class Diag:
        dim, calls = 4, 0
        dtype = torch.float64

        def __call__(self, v):
            self.calls += 1
            return d * v

    res = lanczos_lambda_max(Diag(), tol=1e-12, max_iter=10)
    assert res.lambda_max == pytest.approx(5.0, rel=1e-12)
    assert res.n_hvp <= 4


def test_lanczos_rejects_nonpositive_tol(tiny_mlp, tiny_batch):
    with pytest.raises(ValueError, match="tol"):
        lanczos_lambda_max(HVP.for_model(tiny_mlp, *tiny_batch), tol=0.0)


def test_top_eigenvalues_agree_with_arpack_and_the_dense_spectrum(tiny_mlp, tiny_batch, dense):
    _, evals = dense
    op = GraphHVP.for_model(tiny_mlp, *tiny_batch)
    res = top_eigenvalues(op, k=2, tol=1e-10)
    np.testing.assert_allclose(res.values, evals.flip(0)[:2].numpy(), rtol=1e-8)
    v0 = np.random.default_rng(0).standard_normal(op.dim)
    ref = np.sort(eigsh(op.as_linear_operator(), k=2, which="LA", tol=0, v0=v0)[0])[::-1]
    np.testing.assert_allclose(res.values, ref, rtol=1e-8)
    assert res.converged and np.all(res.residuals <= 1e-10)


def test_hutchinson_to_stderr_uses_the_same_probes_as_hutchinson_trace(tiny_mlp, tiny_batch):
    X, y = tiny_batch
    ref = hutchinson_trace(HVP.for_model(tiny_mlp, X, y), n_probes=40, seed=7)
    fast = hutchinson_to_stderr(
        GraphHVP.for_model(tiny_mlp, X, y), rel_stderr=1e-9, block=16, seed=7,
        min_probes=40, max_probes=40,
    )
    assert fast.n_hvp == 40
    np.testing.assert_allclose(fast.samples, ref.samples, rtol=1e-10, atol=1e-12)
    assert fast.mean == pytest.approx(ref.mean, rel=1e-12)
    assert fast.stderr == pytest.approx(ref.stderr, rel=1e-9)
    for name, (m, _) in ref.blocks.items():
        assert fast.blocks[name][0] == pytest.approx(m, rel=1e-9, abs=1e-12)


def test_hutchinson_to_stderr_reaches_its_target_and_covers_the_exact_trace(
    tiny_mlp, tiny_batch, dense
):
    H, _ = dense
    exact = float(torch.trace(H))
    res = hutchinson_to_stderr(GraphHVP.for_model(tiny_mlp, *tiny_batch), rel_stderr=0.02,
                               block=64, seed=0)
    assert res.stderr <= 0.02 * abs(res.mean)
    assert res.n_hvp % 64 == 0 and res.n_hvp == len(res.samples)
    assert abs(res.mean - exact) <= 4 * res.stderr  # fails with probability < 1e-4
    # the per-probe samples are exact quadratic forms vᵀHv of ±1 vectors: E = tr H, and the
    # Rademacher variance is 2 Σ_{i≠j} H_ij²
    var = 2 * float((H**2).sum() - (torch.diagonal(H) ** 2).sum())
    assert np.var(res.samples, ddof=1) == pytest.approx(var, rel=0.5)


def test_hutchinson_to_stderr_validates_arguments(tiny_mlp, tiny_batch):
    op = GraphHVP.for_model(tiny_mlp, *tiny_batch)
    with pytest.raises(ValueError):
        hutchinson_to_stderr(op, rel_stderr=0.0)
    with pytest.raises(ValueError):
        hutchinson_to_stderr(op, min_probes=1)


class DenseOp:
    """A symmetric matrix as an operator with the GraphHVP interface (float64)."""

    def __init__(self, A: torch.Tensor):
        self.A, self.dim, self.dtype, self.calls = A, A.shape[0], torch.float64, 0

    def __call__(self, v):
        self.calls += 1
        return self.A @ v

    def matmat(self, V):
        self.calls += V.shape[0]
        return V @ self.A


def spectrum_matrix(eigs: torch.Tensor, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    U, _ = torch.linalg.qr(torch.randn(len(eigs), len(eigs), generator=gen, dtype=torch.float64))
    return U @ torch.diag(eigs) @ U.T


def test_xtrace_beats_hutchinson_on_a_decaying_spectrum():
    eigs = 100 * 0.5 ** torch.arange(60, dtype=torch.float64) + 0.01
    A = spectrum_matrix(eigs)
    op = DenseOp(A)
    res = xtrace(op, n_hvp=20, seed=1)
    exact = float(eigs.sum())
    hutch_se = math.sqrt(2 * float((A**2).sum() - (torch.diagonal(A) ** 2).sum()) / 20)
    assert res.n_hvp == 20 and op.calls == 20
    assert abs(res.mean - exact) < 1e-2 * exact
    assert abs(res.mean - exact) < hutch_se / 10
    assert res.stderr < hutch_se / 10


def test_xtrace_is_unbiased_over_seeds():
    eigs = torch.linspace(-1.0, 3.0, 30, dtype=torch.float64)
    op = DenseOp(spectrum_matrix(eigs, seed=4))
    values = np.array([xtrace(op, n_hvp=8, seed=s).mean for s in range(300)])
    se = values.std(ddof=1) / math.sqrt(len(values))
    assert abs(values.mean() - float(eigs.sum())) < 4 * se


def test_xtrace_on_a_network_hessian(tiny_mlp, tiny_batch, dense):
    H, _ = dense
    res = xtrace(GraphHVP.for_model(tiny_mlp, *tiny_batch), n_hvp=40, seed=0)
    assert res.n_hvp == 40 and len(res.samples) == 20
    assert abs(res.mean - float(torch.trace(H))) <= 5 * res.stderr + 1e-9


def test_xtrace_validates_budget(tiny_mlp, tiny_batch):
    op = GraphHVP.for_model(tiny_mlp, *tiny_batch)
    with pytest.raises(ValueError, match="even"):
        xtrace(op, n_hvp=7)
    with pytest.raises(ValueError, match="smaller than the dimension"):
        xtrace(op, n_hvp=2 * op.dim)
