"""Sharpness and simplicity measures: dense-Hessian ground truths, formulas, rescaling behaviour."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from weakness_lib.bennett import measures as M
from weakness_lib.bennett.measures.pacbayes import _perturbed_stats
from weakness_lib.bennett.models import build_mlp
from weakness_lib.bennett.reparam import rescale
from weakness_lib.curvature import dense_hessian, flatten, unflatten


@pytest.fixture(scope="module")
def tiny():
    """A tiny float64 MLP, briefly trained so that the gradient is not at init, with its batch."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(64, 6, generator=g, dtype=torch.float64)
    y = (X[:, 0] + X[:, 1] > 0).long() + (X[:, 2] > 1).long()
    model = build_mlp((6, 5, 4, 3), seed=1).double()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(100):
        opt.zero_grad()
        F.cross_entropy(model(X), y).backward()
        opt.step()
    return model, X, y


def test_lambda_max_and_trace_match_the_dense_hessian(tiny):
    model, X, y = tiny
    hvp = M.curvature_hvp(model, X, y)
    H = dense_hessian(hvp.loss_fn, hvp.params)
    evals = torch.linalg.eigvalsh(H)
    lm = M.lambda_max(hvp, tol=1e-10)
    assert lm.value == pytest.approx(float(evals[-1]), rel=1e-8)
    assert lm.details["converged"] and lm.details["residual"] <= 1e-10 and lm.n_hvp > 0
    # certified at the registered accuracy: λ_max within tol·λ of the Ritz value, never below it
    loose = M.lambda_max(hvp, tol=1e-3)
    assert loose.details["residual"] <= 1e-3
    assert loose.value <= float(evals[-1]) * (1 + 1e-12) <= loose.value * (1 + 1e-3)
    tr = M.hessian_trace(hvp, n_probes=40, seed=1)
    assert tr.n_hvp == 40
    assert abs(tr.value - float(torch.trace(H))) < 5 * tr.stderr
    # each Hutchinson sample is exactly the quadratic form of its Rademacher probe
    gen = torch.Generator().manual_seed(1)
    probes = [torch.randint(0, 2, (H.shape[0],), generator=gen).double() * 2 - 1 for _ in range(40)]
    quad = [float(v @ H @ v) for v in probes]
    assert np.mean(quad) == pytest.approx(tr.value, rel=1e-10)


def test_sam_and_asam_follow_their_formulas(tiny):
    model, X, y = tiny
    hvp = M.curvature_hvp(model, X, y)
    theta = flatten(hvp.params)
    g = flatten(torch.func.grad(hvp.loss_fn)(hvp.params))
    L = lambda t: float(hvp.loss_fn(unflatten(t, hvp.params)))  # noqa: E731
    assert M.sam_sharpness(hvp, rho=0.05).value == pytest.approx(
        L(theta + 0.05 * g / g.norm()) - L(theta), abs=1e-14)
    T = theta.abs()
    eps = 0.5 * T * T * g / (T * g).norm()
    assert torch.linalg.vector_norm(eps / T) == pytest.approx(0.5)  # on the adaptive sphere
    assert M.adaptive_sharpness(hvp, rho=0.5).value == pytest.approx(L(theta + eps) - L(theta), abs=1e-14)


@pytest.mark.parametrize("kind", ["layer1x0.1", "layer2x10", "per_neuron"])
def test_adaptive_sharpness_and_path_norm_are_rescaling_invariant(tiny, kind):
    model, X, y = tiny
    if kind == "layer1x0.1":
        scales = [0.1, 1.0]
    elif kind == "layer2x10":
        scales = [1.0, 10.0]
    else:
        g = torch.Generator().manual_seed(5)
        scales = [torch.rand(5, generator=g, dtype=torch.float64) * 10 + 0.1,
                  torch.rand(4, generator=g, dtype=torch.float64) * 10 + 0.1]
    other = rescale(model, scales)
    a = M.adaptive_sharpness(model, X, y).value
    b = M.adaptive_sharpness(other, X, y).value
    assert b == pytest.approx(a, rel=1e-9, abs=1e-15)
    assert M.path_norm(other) == pytest.approx(M.path_norm(model), rel=1e-12)
    # …while the non-normalised measures move (the point of claim C1)
    assert M.lambda_max(other, X, y).value / M.lambda_max(model, X, y).value > 1.5
    assert M.l2_norm(other) != pytest.approx(M.l2_norm(model), rel=1e-3)


def test_layerwise_scale_free_measures(tiny):
    model, _, _ = tiny
    other = rescale(model, [4.0, 0.5])
    assert M.log_spectral_sum(other) == pytest.approx(M.log_spectral_sum(model), abs=1e-12)
    a, b = M.quantised_weight_bytes(model), M.quantised_weight_bytes(other)
    assert len(a) == len(b) == sum(p.numel() for p in model.parameters()) + 8 * 6

    def codes(blob: bytes) -> list[bytes]:
        out, pos = [], 0
        for p in model.parameters():
            out.append(blob[pos + 8 : pos + 8 + p.numel()])  # skip the float32 (min, max) header
            pos += 8 + p.numel()
        return out

    # powers of two rescale exactly in floating point, so every 8-bit code is unchanged
    assert codes(a) == codes(b)
    assert a != b  # only the per-tensor (min, max) headers moved


def test_path_norm_equals_enumeration_over_paths():
    model = build_mlp((3, 2, 2, 2), seed=3).double()
    Ws = [lyr.weight.detach() for lyr in model.layers]
    bs = [lyr.bias.detach() for lyr in model.layers]
    total = 0.0
    # paths from an input unit
    for i, j, k, o in itertools.product(range(3), range(2), range(2), range(2)):
        total += float((Ws[0][j, i] * Ws[1][k, j] * Ws[2][o, k]) ** 2)
    # paths from the bias of layer 1, 2, 3
    for j, k, o in itertools.product(range(2), range(2), range(2)):
        total += float((bs[0][j] * Ws[1][k, j] * Ws[2][o, k]) ** 2)
    for k, o in itertools.product(range(2), range(2)):
        total += float((bs[1][k] * Ws[2][o, k]) ** 2)
    total += float((bs[2] ** 2).sum())
    assert M.path_norm(model) == pytest.approx(math.sqrt(total), rel=1e-12)


def test_l2_norm_and_compression(tiny):
    model, _, _ = tiny
    assert M.l2_norm(model) == pytest.approx(float(torch.cat([p.detach().reshape(-1) for p in model.parameters()]).norm()))
    zero = build_mlp((6, 5, 4, 3), seed=0).double()
    with torch.no_grad():
        for p in zero.parameters():
            p.zero_()
    assert M.compressed_size(zero, "lzma") < M.compressed_size(model, "lzma")
    assert M.compressed_size(zero, "zlib") < M.compressed_size(model, "zlib")
    with pytest.raises(ValueError, match="codec"):
        M.compressed_size(model, "gzip")


def test_gaussian_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    theta, mu = torch.randn(7, generator=g, dtype=torch.float64), torch.randn(7, generator=g, dtype=torch.float64)
    q = torch.distributions.Normal(theta, 0.3)
    p = torch.distributions.Normal(mu, 0.7)
    expected = float(torch.distributions.kl_divergence(q, p).sum())
    assert M.gaussian_kl(theta, 0.3, mu, 0.7) == pytest.approx(expected, rel=1e-12)
    # σ_p = σ: KL = ‖θ − μ‖² / (2σ²)
    assert M.gaussian_kl(theta, 0.3, mu, 0.3) == pytest.approx(float(((theta - mu) ** 2).sum()) / 0.18)


def test_pacbayes_flatness_finds_the_threshold_sigma(tiny):
    model, X, y = tiny
    hvp = M.curvature_hvp(model, X, y)
    res = M.pacbayes_flatness(hvp, n_train=64, max_increase=0.05, n_draws=6, n_bisect=20, seed=2)
    assert res.hit_limit is None
    assert res.loss_increase <= 0.05
    # just above σ* the constraint is violated (bisection resolution on log σ)
    theta = flatten(hvp.params)
    draws = torch.randn((6, theta.numel()), generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    base = float(hvp.loss_fn(hvp.params))
    mean, _, _ = _perturbed_stats(hvp, theta, draws, res.sigma * 1.001)
    assert mean - base > 0.05
    assert res.bound == pytest.approx(M.pacbayes_bound_value(res.error_q, res.kl, 64))
    again = M.pacbayes_flatness(hvp, n_train=64, max_increase=0.05, n_draws=6, n_bisect=20, seed=2)
    assert (again.sigma, again.bound, again.kl) == (res.sigma, res.bound, res.kl)  # deterministic


def test_measure_table_covers_the_registry(tiny):
    model, X, y = tiny
    out = M.measure_table(model, (X, y), n_train=64, n_probes=4, pb_bisect=4, pb_draws=2)
    for name, spec in M.MEASURES.items():
        assert name in out and math.isfinite(out[name]), name
        assert spec.orientation in (-1, 1)
    assert out["cost_total_s"] > 0
    assert M.oriented("lambda_max", 2.0) == -2.0
    assert out["lambda_max_residual"] <= 1e-3  # lanczos_tol
    # λ_max has its own operator: the trace, SAM and PAC-Bayes numbers are exactly those of the
    # shared HVP alone (stored results depend on it), and n_hvp counts both
    hvp = M.curvature_hvp(model, X, y)
    tr = M.hessian_trace(hvp, n_probes=4, seed=0)
    assert (out["trace"], out["trace_se"]) == (tr.value, tr.stderr)
    assert out["sam"] == M.sam_sharpness(hvp).value and out["asam"] == M.adaptive_sharpness(hvp).value
    assert out["n_hvp"] == 4 + M.lambda_max(hvp, tol=1e-3).n_hvp
