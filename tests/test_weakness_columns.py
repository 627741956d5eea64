"""The weakness column names are keys of stored tables: their format is pinned here."""

from __future__ import annotations

import pytest
import torch

from weakness_lib.bennett import weakness as W

STORED_DEFAULT_COLUMNS = [  # the columns of results/full/head_to_head_mnist, in order
    "w1_tau0.01", "mean_A_tau0.01", "frac_single_tau0.01",
    "w1_tau0.05", "mean_A_tau0.05", "frac_single_tau0.05",
    "w1_tau0.1", "mean_A_tau0.1", "frac_single_tau0.1",
    "w1_delta1", "mean_A_delta1", "w1_delta2", "mean_A_delta2", "w1_delta4", "mean_A_delta4",
    "entropy_bits", "w2", "w2_frac", "w2_wrong_vflip",
]


@pytest.mark.parametrize(("kind", "kw", "name"), [
    ("w1", {"tau": 0.01}, "w1_tau0.01"),
    ("w1", {"delta": 1.0}, "w1_delta1"),
    ("w1", {"delta": 1}, "w1_delta1"),
    ("mean_A", {"tau": 0.01}, "mean_A_tau0.01"),
    ("frac_single", {"tau": 0.01}, "frac_single_tau0.01"),
    ("mean_A", {"delta": 0.5}, "mean_A_delta0.5"),
    ("w1", {"tau": 0.001}, "w1_tau0.001"),
    ("w1", {"tau": 1e-5}, "w1_tau1e-05"),
    ("w1", {"tau": 0.3}, "w1_tau0.3"),
    ("w1", {"delta": 8.0}, "w1_delta8"),
    ("w1", {"tau": 1 / 3}, "w1_tau0.333333"),
])
def test_column_format_is_pinned(kind, kw, name):
    assert W.column(kind, **kw) == name


def test_column_defaults_to_w1_and_rejects_ambiguous_requests():
    assert W.column(tau=0.05) == "w1_tau0.05"
    with pytest.raises(ValueError, match="exactly one"):
        W.column("w1")
    with pytest.raises(ValueError, match="exactly one"):
        W.column("w1", tau=0.1, delta=1.0)
    with pytest.raises(ValueError, match="has no threshold"):
        W.column("w2", tau=0.1)
    with pytest.raises(ValueError, match="unknown estimator kind"):
        W.column("w3", tau=0.1)
    assert [W.column(k) for k in W.PLAIN_KINDS] == ["entropy_bits", "w2", "w2_frac", "w2_wrong_vflip"]


def test_weakness_table_keys_are_the_stored_columns():
    assert W.weakness_columns() == STORED_DEFAULT_COLUMNS
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10)).double()
    X = torch.rand(8, 784, generator=torch.Generator().manual_seed(0))
    assert list(W.weakness_table(model, X)) == STORED_DEFAULT_COLUMNS
    sweep = W.weakness_table(model, X, taus=W.SWEEP_TAUS, deltas=W.SWEEP_DELTAS, with_w2=False)
    assert list(sweep) == W.weakness_columns(W.SWEEP_TAUS, W.SWEEP_DELTAS)[:-3]
