"""The paper's explicit constructions interpolate at exactly the stated traces."""

import math

import pytest
import torch

from weakness_lib.wen import constructions as C
from weakness_lib.wen import twolayer as T
from weakness_lib.wen.xor import full_cube, make_xor, xor_labels

BIG = make_xor(d=30, n_train=100, n_test=2000, seed=0)
BOUND30 = 4 * math.sqrt(31)


def test_bias_bound_value():
    assert C.bias_trace_bound(30) == pytest.approx(22.2711, abs=1e-4)
    assert C.simln_trace_bound() == 2.0


@pytest.mark.parametrize("build", ["memoriser", "generaliser"])
def test_bias_constructions_interpolate_at_the_minimal_trace(build):
    spec = T.TwoLayerSpec("bias", d=30, width=500)
    p = (
        C.bias_memoriser(spec, BIG.X_train, BIG.y_train)
        if build == "memoriser"
        else C.bias_generaliser(spec)
    )
    assert float(T.mse(spec, p, BIG.X_train, BIG.y_train)) < 1e-25
    assert T.closed_form_trace(spec, p, BIG.X_train) == pytest.approx(BOUND30, rel=1e-12)
    acc = T.accuracy(T.forward(spec, p, BIG.X_test), BIG.y_test)
    assert acc == (0.0 if build == "memoriser" else 1.0)


def test_memoriser_outputs_exactly_zero_off_the_training_set():
    data = make_xor(d=10, n_train=40, seed=5)
    spec = T.TwoLayerSpec("bias", d=10, width=40)
    p = C.bias_memoriser(spec, data.X_train, data.y_train)
    cube = full_cube(10)
    train = {tuple(r) for r in data.X_train.tolist()}
    unseen = torch.tensor([tuple(r) not in train for r in cube.tolist()])
    out = T.forward(spec, p, cube)
    assert bool((out[unseen] == 0).all())
    torch.testing.assert_close(out[~unseen], xor_labels(cube[~unseen]))
    # Prop 4.1: zero-one error max(1 − n/2^d, 0) on the whole cube
    assert 1 - T.accuracy(out, xor_labels(cube)) == pytest.approx(1 - 40 / 1024)


def test_bias_constructions_match_the_dense_hessian_on_a_small_instance():
    data = make_xor(d=6, n_train=10, seed=1)
    spec = T.TwoLayerSpec("bias", d=6, width=10)
    bound = 4 * math.sqrt(7)
    for p in (C.bias_memoriser(spec, data.X_train, data.y_train), C.bias_generaliser(spec)):
        assert T.dense_trace(spec, p, data.X_train, data.y_train) == pytest.approx(bound, 1e-10)


def test_generaliser_computes_xor_on_the_whole_cube():
    spec = T.TwoLayerSpec("bias", d=8, width=4)
    cube = full_cube(8)
    torch.testing.assert_close(T.forward(spec, C.bias_generaliser(spec), cube), xor_labels(cube))


def test_nobias_width4_interpolates_the_cube_and_its_trace_is_exact():
    spec = T.TwoLayerSpec("nobias", d=6, width=4)
    cube = full_cube(6)
    for eps in (0.01, 0.1, 0.5):
        p = C.nobias_width4(spec, eps)
        torch.testing.assert_close(T.forward(spec, p, cube), xor_labels(cube))
    data = make_xor(d=6, n_train=12, seed=0)
    p = C.nobias_width4(spec, 0.1)
    closed = T.closed_form_trace(spec, p, data.X_train)
    assert closed == pytest.approx(T.dense_trace(spec, p, data.X_train, data.y_train), rel=1e-11)
    # the paper-size value quoted in the reference note
    big = T.TwoLayerSpec("nobias", d=30, width=500)
    assert T.closed_form_trace(big, C.nobias_width4(big, 0.1), BIG.X_train) == pytest.approx(
        45.1, abs=0.05
    )


def test_neuron_rescaling_keeps_f_and_changes_the_trace():
    spec = T.TwoLayerSpec("nobias", d=30, width=500)
    p = C.nobias_width4(spec, 0.1)
    traces = []
    for c in (0.5, 1.0, 2.0):
        q = C.rescale_neurons(p, c)
        torch.testing.assert_close(T.forward(spec, q, BIG.X_test), T.forward(spec, p, BIG.X_test))
        traces.append(T.closed_form_trace(spec, q, BIG.X_train))
    assert len({round(t, 6) for t in traces}) == 3
    assert min(traces) > C.nobias_trace_bound(30)
    with pytest.raises(ValueError, match="positive"):
        C.rescale_neurons(p, -1.0)


@pytest.mark.parametrize("build", ["memoriser", "generaliser"])
def test_simln_constructions_interpolate_at_trace_two(build):
    spec = T.TwoLayerSpec("simln", d=30, width=500, ln_eps=1e-4)
    p = (
        C.simln_memoriser(spec, BIG.X_train, BIG.y_train)
        if build == "memoriser"
        else C.simln_generaliser(spec)
    )
    assert float(T.mse(spec, p, BIG.X_train, BIG.y_train)) < 1e-25
    assert T.gauss_newton_trace(spec, p, BIG.X_train) == pytest.approx(2.0, rel=1e-12)
    out = T.forward(spec, p, BIG.X_test)
    assert T.accuracy(out, BIG.y_test) == (0.0 if build == "memoriser" else 1.0)
    if build == "memoriser":
        assert bool((out == 0).all())


def test_simln_constructions_match_the_dense_hessian():
    data = make_xor(d=5, n_train=9, seed=2)
    spec = T.TwoLayerSpec("simln", d=5, width=9, ln_eps=1e-3)
    for p in (C.simln_memoriser(spec, data.X_train, data.y_train), C.simln_generaliser(spec)):
        assert T.dense_trace(spec, p, data.X_train, data.y_train) == pytest.approx(2.0, rel=1e-9)


def test_simbn_quadrant_model_interpolates_with_weight_norm_two_sum_s():
    spec = T.TwoLayerSpec("simbn", d=30, width=500)
    p = C.simbn_quadrant_model(spec, BIG.X_train, scale=1000.0)
    assert float(T.mse(spec, p, BIG.X_train, BIG.y_train, BIG.X_train)) < 1e-25
    out = T.forward(spec, p, BIG.X_test, BIG.X_train)
    assert T.accuracy(out, BIG.y_test) == 1.0
    counts = [
        int(((BIG.X_train[:, 0] == a) & (BIG.X_train[:, 1] == b)).sum())
        for a, b in ((1, 1), (1, -1), (-1, 1), (-1, -1))
    ]
    weight = float((p["W2"] ** 2).sum() + (p["gamma"] ** 2).sum())
    assert weight == pytest.approx(2 * sum(math.sqrt(c / 100) for c in counts), rel=1e-12)
    # at a large first-layer scale the trace is 2(‖W2‖² + ‖γ‖²) (2/n convention)
    assert T.gauss_newton_trace(spec, p, BIG.X_train) == pytest.approx(2 * weight, rel=1e-5)


def test_memoriser_rejects_duplicates_and_non_cube_inputs():
    spec = T.TwoLayerSpec("bias", d=4, width=10)
    X = torch.tensor([[1.0, 1, 1, 1], [1.0, 1, 1, 1]])
    with pytest.raises(ValueError, match="distinct"):
        C.bias_memoriser(spec, X, xor_labels(X))
    with pytest.raises(ValueError, match="hypercube"):
        C.bias_memoriser(spec, X * 0.5, torch.ones(2))
    with pytest.raises(ValueError, match="width"):
        C.bias_memoriser(T.TwoLayerSpec("bias", d=30, width=50), BIG.X_train, BIG.y_train)
