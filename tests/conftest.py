"""Shared fixtures: tiny float64 networks and batches, isolated results/cache folders."""

from __future__ import annotations

import pytest
import torch

from weakness_lib.models import build_mlp

torch.set_num_threads(max(1, min(2, torch.get_num_threads())))


@pytest.fixture
def tiny_mlp():
    """A 5-4-3-3 ReLU MLP with biases, in float64 (≈ 51 parameters)."""
    return build_mlp((5, 4, 3, 3), seed=0).double()


@pytest.fixture
def tiny_batch():
    gen = torch.Generator().manual_seed(1)
    X = torch.randn(32, 5, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 3, (32,), generator=gen)
    return X, y


@pytest.fixture
def isolated_results(tmp_path, monkeypatch):
    """Point the results store and the data cache at temporary folders."""
    monkeypatch.setenv("WEAKNESS_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("WEAKNESS_CACHE", str(tmp_path / "cache"))
    return tmp_path
