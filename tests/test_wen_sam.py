"""GD, SGD, 1-SAM and full-batch SAM steps against autograd; determinism; divergence errors."""

import math

import numpy as np
import pytest
import torch
from torch.func import grad

from weakness_lib.wen import sam as S
from weakness_lib.wen import twolayer as T
from weakness_lib.wen.xor import make_xor

DATA = make_xor(d=6, n_train=16, seed=3)
X, Y = DATA.X_train, DATA.y_train


def _norm(g):
    return math.sqrt(sum(float((v**2).sum()) for v in g.values()))


def reference_step(spec, p, lossf, lr, rho, wd, project=None):
    """θ̃ = θ + ρ g/(‖g‖ + 1e-12); θ ← θ − η(∇L(θ̃) + λθ), then optional first-layer projection."""
    g = grad(lossf)(p)
    if rho > 0:
        tilde = {k: p[k] + rho * g[k] / (_norm(g) + 1e-12) for k in p}
        g = grad(lossf)(tilde)
    new = {k: p[k] - lr * (g[k] + wd * p[k]) for k in p}
    if project is not None:
        first = [k for k in ("W1", "b1") if k in new]
        norm = math.sqrt(sum(float((new[k] ** 2).sum()) for k in first))
        for k in first:
            new[k] = new[k] * project / norm
    return new


def example_loss(spec, k):
    return lambda p: (T.forward(spec, p, X[k : k + 1], X_train=X)[0] - Y[k]) ** 2


def assert_params_close(a, b, tol=1e-13):
    assert set(a) == set(b)
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=tol, atol=tol)


@pytest.mark.parametrize("arch", T.ARCHS)
@pytest.mark.parametrize("rho,wd", [(0.3, 0.0), (0.3, 0.05), (0.0, 0.05)])
def test_per_example_step_equals_autograd_reference(arch, rho, wd):
    spec = T.TwoLayerSpec(arch, d=6, width=7)
    p = T.init_params(spec, seed=1)
    trainer = S.Trainer(spec, p, X, Y)
    phase = S.Phase(1, lr=0.1, rho=rho, weight_decay=wd)
    trainer.step_example(5, phase, sam=True, project_norm=None)
    assert_params_close(
        trainer.params(), reference_step(spec, p, example_loss(spec, 5), 0.1, rho, wd)
    )


@pytest.mark.parametrize("arch", T.ARCHS)
@pytest.mark.parametrize("sam", [False, True])
def test_full_batch_step_equals_autograd_reference(arch, sam):
    spec = T.TwoLayerSpec(arch, d=6, width=7)
    p = T.init_params(spec, seed=2)
    trainer = S.Trainer(spec, p, X, Y)
    trainer.step_full(S.Phase(1, lr=0.2, rho=0.4, weight_decay=0.05), sam=sam, project_norm=None)
    ref = reference_step(spec, p, T.loss_fn(spec, X, Y), 0.2, 0.4 if sam else 0.0, 0.05)
    assert_params_close(trainer.params(), ref)


def test_projected_1sam_step_on_simln_equals_reference_and_keeps_the_norm():
    spec = T.TwoLayerSpec("simln", d=6, width=7)
    p = T.init_params(spec, seed=4)
    trainer = S.Trainer(spec, p, X, Y)
    trainer.step_example(2, S.Phase(1, lr=0.05, rho=0.5), sam=True, project_norm=3.0)
    got = trainer.params()
    assert_params_close(got, reference_step(spec, p, example_loss(spec, 2), 0.05, 0.5, 0.0, 3.0))
    assert math.sqrt(float((got["W1"] ** 2).sum() + (got["b1"] ** 2).sum())) == pytest.approx(3.0)


def test_1sam_several_steps_track_the_reference():
    spec = T.TwoLayerSpec("bias", d=6, width=7)
    p = T.init_params(spec, seed=0)
    trainer = S.Trainer(spec, p, X, Y)
    ref = p
    for k in [3, 1, 4, 1, 5, 9, 2, 6]:
        trainer.step_example(k, S.Phase(1, lr=0.05, rho=0.1), sam=True, project_norm=None)
        ref = reference_step(spec, ref, example_loss(spec, k), 0.05, 0.1, 0.0)
    assert_params_close(trainer.params(), ref, tol=1e-12)


def _run(arch, algorithm, seed, rho=0.05):
    spec = T.TwoLayerSpec(arch, d=6, width=8)
    phases = (S.Phase(5, lr=0.05, rho=rho if "sam" in algorithm else 0.0),)
    return S.train(spec, T.init_params(spec, 0), X, Y, S.TrainSpec(algorithm, phases), seed=seed)


@pytest.mark.parametrize("arch", T.ARCHS)
def test_training_is_bitwise_deterministic_given_the_seed(arch):
    a, b, c = _run(arch, "1sam", 0), _run(arch, "1sam", 0), _run(arch, "1sam", 1)
    for k in a.params:
        assert torch.equal(a.params[k], b.params[k])
    assert any(not torch.equal(a.params[k], c.params[k]) for k in a.params)
    assert a.steps == 5 * 16


def test_1sam_with_zero_radius_is_sgd():
    a = _run("bias", "1sam", 0, rho=0.0)
    b = _run("bias", "sgd", 0)
    for k in a.params:
        assert torch.equal(a.params[k], b.params[k])


def test_training_lowers_the_loss_and_logs_requested_epochs():
    spec = T.TwoLayerSpec("bias", d=6, width=20)
    p = T.init_params(spec, 0)
    seen = []
    res = S.train(
        spec,
        p,
        X,
        Y,
        S.TrainSpec("sgd", (S.Phase(30, lr=0.05),)),
        seed=0,
        log_at=[0, 10, 30],
        callback=lambda e, q: seen.append(e) or {"loss": float(T.mse(spec, q, X, Y))},
    )
    assert seen == [0, 10, 30]
    assert [h["epoch"] for h in res.history] == [0, 10, 30]
    assert res.history[-1]["loss"] < 0.1 * res.history[0]["loss"]


def test_divergence_raises_naming_the_step():
    spec = T.TwoLayerSpec("bias", d=6, width=8)
    with pytest.raises(S.TrainingDivergedError, match=r"step \d+"):
        S.train(spec, T.init_params(spec, 0), X, Y, S.TrainSpec("gd", (S.Phase(200, 1e3),)), 0)
    with pytest.raises(S.TrainingDivergedError, match=r"step \d+"):
        S.train(spec, T.init_params(spec, 0), X, Y, S.TrainSpec("sgd", (S.Phase(50, 50.0),)), 0)


def test_bad_train_specs_are_rejected():
    with pytest.raises(ValueError, match="unknown algorithm"):
        S.TrainSpec("adam", (S.Phase(1, 0.1),))
    with pytest.raises(ValueError, match="SAM radius"):
        S.TrainSpec("sgd", (S.Phase(1, 0.1, rho=0.1),))
    with pytest.raises(ValueError, match="invalid phase"):
        S.Phase(1, lr=-1.0)
    spec = S.TrainSpec.from_dict(
        {"algorithm": "1sam", "phases": [{"epochs": 2, "lr": 0.1, "rho": 0.2}], "project_norm": 5}
    )
    assert spec.epochs == 2 and spec.project_norm == 5


def test_log_grid_is_sorted_unique_and_covers_both_ends():
    grid = S.log_epochs(6000, 80)
    assert grid[0] == 0 and grid[-1] == 6000
    assert grid == sorted(set(grid))
    assert 40 <= len(grid) <= 100
    assert np.diff(grid).max() <= 6000 / 30
