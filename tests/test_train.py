"""Training loops: determinism, stopping rules and divergence errors."""

from __future__ import annotations

import pytest
import torch

from weakness_lib.bennett.models import MLP, build_mlp
from weakness_lib.bennett.train import TrainConfig, TrainingDivergedError, evaluate, train


@pytest.fixture
def blobs():
    gen = torch.Generator().manual_seed(0)
    centers = torch.randn(3, 10, generator=gen) * 3
    y = torch.arange(300) % 3
    X = centers[y] + torch.randn(300, 10, generator=gen)
    return X, y


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "gd"])
def test_same_seed_gives_bit_identical_weights(blobs, optimizer):
    X, y = blobs
    cfg = TrainConfig(optimizer=optimizer, lr=0.01, batch_size=16, epochs=3, weight_decay=1e-3)
    runs = [train(build_mlp((10, 16, 3), seed=1), X, y, cfg, seed=2) for _ in range(2)]
    a, b = (r.model.state_dict() for r in runs)
    assert all(torch.equal(a[k], b[k]) for k in a)
    other = train(build_mlp((10, 16, 3), seed=1), X, y, cfg, seed=3).model.state_dict()
    if optimizer != "gd":  # full-batch GD does not depend on the order seed
        assert not all(torch.equal(a[k], other[k]) for k in a)


def test_learns_and_stops_at_target_accuracy(blobs):
    X, y = blobs
    cfg = TrainConfig(lr=0.05, batch_size=32, epochs=50, stop_train_acc=0.99)
    res = train(build_mlp((10, 32, 3), seed=0), X, y, cfg, seed=0, eval_set=(X, y))
    assert res.final_train_acc >= 0.99 and res.epochs < 50
    assert res.history[-1]["test_acc"] == pytest.approx(res.final_train_acc)
    assert evaluate(res.model, X, y)[1] == pytest.approx(res.final_train_acc)


def test_max_steps_cap(blobs):
    X, y = blobs
    res = train(build_mlp((10, 8, 3), seed=0), X, y, TrainConfig(batch_size=10, epochs=5, max_steps=7), seed=0)
    assert res.steps == 7 and res.epochs == 1


def test_divergence_raises_with_step(blobs):
    X, y = blobs
    X = X.clone()
    X[37] = float("nan")
    with pytest.raises(TrainingDivergedError, match=r"at step \d+ \(epoch 1\)"):
        train(build_mlp((10, 8, 3), seed=0), X, y, TrainConfig(batch_size=300, epochs=2), seed=0)


def test_huge_learning_rate_diverges_with_clear_error(blobs):
    X, y = blobs
    with pytest.raises(TrainingDivergedError, match="lower the learning rate"):
        train(build_mlp((10, 64, 3), seed=0), X * 1e3, y, TrainConfig(lr=1e6, momentum=0.9, epochs=20), seed=0)


def test_invalid_config_rejected():
    with pytest.raises(ValueError, match="unknown optimizer"):
        TrainConfig(optimizer="lbfgs")
    with pytest.raises(ValueError):
        TrainConfig(lr=0)
    with pytest.raises(ValueError, match="widths"):
        MLP([784])


@pytest.mark.parametrize("bad", [
    {"lr": float("nan")}, {"lr": float("inf")}, {"lr": -0.1}, {"lr": "0.1"}, {"epochs": 2.5},
    {"epochs": 0}, {"epochs": True}, {"batch_size": 8.0}, {"momentum": 1.0},
    {"weight_decay": -1e-4}, {"max_steps": 0},
])
def test_non_finite_or_non_integer_settings_are_refused(bad):
    with pytest.raises(ValueError, match="must be"):
        TrainConfig(**bad)


@pytest.mark.parametrize("widths", [(784, 2.5, 10), (784, 0, 10), (784, True, 10), (784,)])
def test_non_integer_widths_are_refused(widths):
    with pytest.raises(ValueError, match="widths"):
        build_mlp(widths)


def _mnist_like():
    gen = torch.Generator().manual_seed(0)
    X = torch.rand(512, 784, generator=gen)
    y = torch.arange(512) % 10
    return X, y


def test_finite_divergence_at_chance_raises_like_nan():
    """lr = 1e4 with cross-entropy: the loss explodes by orders of magnitude but stays finite."""
    X, y = _mnist_like()
    with pytest.raises(TrainingDivergedError, match="training diverged: after epoch 1.*at chance"):
        train(build_mlp((784, 32, 10), seed=0), X, y, TrainConfig(lr=1e4, epochs=3), seed=0)


def test_a_slow_but_sane_run_is_not_called_divergent():
    """The rule needs both: a loss ≥ 100× its initial value AND chance accuracy."""
    from weakness_lib.bennett.train import _diverged

    assert _diverged(300.0, 0.10, 2.3, 10)
    assert not _diverged(300.0, 0.16, 2.3, 10)   # accuracy above 1.5 / C: learning something
    assert not _diverged(200.0, 0.10, 2.3, 10)   # below 100 × initial: not (yet) divergent
    X, y = _mnist_like()
    res = train(build_mlp((784, 32, 10), seed=0), X, y, TrainConfig(lr=1e-4, epochs=2), seed=0)
    assert res.epochs == 2
