"""Two-layer nets of Wen et al.: closed-form traces against dense float64 Hessians."""

import math

import pytest
import torch

from weakness_lib.wen import constructions as C
from weakness_lib.wen import twolayer as T
from weakness_lib.wen.xor import make_xor

DATA = make_xor(d=5, n_train=12, seed=2)


@pytest.mark.parametrize("arch", T.ARCHS)
def test_closed_form_gradient_norms_match_autograd(arch):
    spec = T.TwoLayerSpec(arch, d=5, width=6)
    params = T.init_params(spec, seed=1)
    closed = T.grad_sq_norms(spec, params, DATA.X_train)
    auto = T.grad_sq_norms_autograd(spec, params, DATA.X_train)
    torch.testing.assert_close(closed, auto, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("arch", ["nobias", "bias"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_closed_form_trace_is_the_exact_trace_at_every_theta_for_plain_relu(arch, seed):
    spec = T.TwoLayerSpec(arch, d=5, width=7)
    params = T.init_params(spec, seed=seed)
    params["W2"] = params["W2"] * 3  # far from interpolation: residual term is not small
    assert T.mse(spec, params, DATA.X_train, DATA.y_train) > 0.1
    exact = T.dense_trace(spec, params, DATA.X_train, DATA.y_train)
    assert T.closed_form_trace(spec, params, DATA.X_train) == pytest.approx(exact, rel=1e-11)


@pytest.mark.parametrize("arch", ["simln", "simbn"])
def test_gauss_newton_differs_from_exact_trace_away_from_interpolation(arch):
    spec = T.TwoLayerSpec(arch, d=5, width=6)
    params = T.init_params(spec, seed=0)
    gn = T.gauss_newton_trace(spec, params, DATA.X_train)
    exact = T.dense_trace(spec, params, DATA.X_train, DATA.y_train)
    assert abs(gn - exact) > 1e-3 * abs(exact)
    with pytest.raises(ValueError, match="plain ReLU"):
        T.closed_form_trace(spec, params, DATA.X_train)


def test_gauss_newton_is_exact_at_interpolation_for_normalised_nets():
    d = make_xor(d=6, n_train=16, seed=0)
    ln = T.TwoLayerSpec("simln", d=6, width=16)
    for params in (C.simln_memoriser(ln, d.X_train, d.y_train), C.simln_generaliser(ln)):
        assert T.gauss_newton_trace(ln, params, d.X_train) == pytest.approx(
            T.dense_trace(ln, params, d.X_train, d.y_train), rel=1e-10
        )
    bn = T.TwoLayerSpec("simbn", d=6, width=5)
    params = C.simbn_quadrant_model(bn, d.X_train, scale=2.0)
    params["gamma"][4] = 1.0  # a dead neuron: guarded, contributes nothing
    exact = T.dense_trace(bn, params, d.X_train, d.y_train)
    assert T.gauss_newton_trace(bn, params, d.X_train) == pytest.approx(exact, rel=1e-9)


@pytest.mark.parametrize("arch", T.ARCHS)
def test_hutchinson_agrees_with_dense_trace_within_three_standard_errors(arch):
    spec = T.TwoLayerSpec(arch, d=5, width=6)
    params = T.init_params(spec, seed=3)
    exact = T.dense_trace(spec, params, DATA.X_train, DATA.y_train)
    est = T.hutchinson_trace(spec, params, DATA.X_train, DATA.y_train, n_probes=200, seed=0)
    assert est.stderr > 0
    assert abs(est.mean - exact) < 3 * est.stderr


def test_simln_is_invariant_to_first_layer_scale_and_its_trace_tends_to_the_gn_w2_part():
    spec = T.TwoLayerSpec("simln", d=5, width=6)
    params = T.init_params(spec, seed=4)
    f0 = T.forward(spec, params, DATA.X_test)
    traces = []
    for c in (1.0, 10.0, 100.0):
        p = C.scale_first_layer(params, c)
        torch.testing.assert_close(T.forward(spec, p, DATA.X_test), f0, rtol=1e-12, atol=1e-12)
        traces.append(T.gauss_newton_trace(spec, p, DATA.X_train))
    assert traces[0] > traces[1] > traces[2]
    assert traces[2] == pytest.approx(2.0, rel=0.05)  # ‖∂f/∂W2‖ = ‖h/‖h‖‖ = 1 per point


def test_simbn_is_invariant_to_neuron_scale_and_needs_its_training_set():
    spec = T.TwoLayerSpec("simbn", d=5, width=6)
    params = T.init_params(spec, seed=5)
    f0 = T.forward(spec, params, DATA.X_test, DATA.X_train)
    p = C.scale_first_layer(params, 7.0)
    torch.testing.assert_close(T.forward(spec, p, DATA.X_test, DATA.X_train), f0)
    with pytest.raises(ValueError, match="X_train"):
        T.forward(spec, params, DATA.X_test)


def test_initialisation_is_seeded_pytorch_default():
    spec = T.TwoLayerSpec("bias", d=30, width=500)
    a, b = T.init_params(spec, 0), T.init_params(spec, 0)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert float(a["W1"].abs().max()) <= 1 / math.sqrt(30)
    assert float(a["W2"].abs().max()) <= 1 / math.sqrt(500)
    bn = T.init_params(T.TwoLayerSpec("simbn", d=4, width=3), 0)
    assert torch.equal(bn["gamma"], torch.ones(3, dtype=torch.float64))


def test_bad_architecture_or_parameters_raise():
    with pytest.raises(ValueError, match="unknown architecture"):
        T.TwoLayerSpec("layernorm", d=3)
    spec = T.TwoLayerSpec("bias", d=5, width=4)
    params = T.init_params(T.TwoLayerSpec("nobias", d=5, width=4), 0)
    with pytest.raises(ValueError, match="do not match"):
        T.forward(spec, params, DATA.X_train)


def test_accuracy_counts_zero_outputs_as_errors():
    y = torch.tensor([1.0, -1.0, 1.0, -1.0])
    assert T.accuracy(torch.tensor([2.0, -0.5, 0.0, 0.0]), y) == 0.5
