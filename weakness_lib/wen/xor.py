"""The 2-sparse parity ("xor") task of Wen, Li & Ma (2023).

x is uniform on the hypercube {−1, 1}^d and the label is y = x₁·x₂ ∈ {±1}. Training sets are
drawn without repeating a point (at d = 30, n = 100 an i.i.d. draw repeats a point with
probability ≈ 2·10⁻⁶, so this is the paper's i.i.d. draw for all practical purposes; the
memorising constructions need distinct points). The test set is a large independent fresh
draw, or the whole cube when d is small enough to enumerate.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
from torch import Tensor

from weakness_lib.core import checks

__all__ = ["XorData", "xor_labels", "full_cube", "sample_cube", "make_xor"]

#: Largest d for which the test set is the full cube (2^16 = 65,536 points) by default.
EXACT_CUBE_MAX_D = 16


@dataclass(frozen=True)
class XorData:
    """Training and test sets of P_xor, float64 tensors; ``test_is_full_cube`` says which test set."""

    X_train: Tensor
    y_train: Tensor
    X_test: Tensor
    y_test: Tensor
    d: int
    seed: int
    test_is_full_cube: bool

    @property
    def n_train(self) -> int:
        return int(self.X_train.shape[0])


def xor_labels(X: Tensor) -> Tensor:
    """y = x₁·x₂ for each row of ``X`` (rows must have d ≥ 2 coordinates)."""
    if X.ndim != 2 or X.shape[1] < 2:
        raise ValueError(f"xor labels need an (n, d ≥ 2) input, got shape {tuple(X.shape)}")
    return X[:, 0] * X[:, 1]


def full_cube(d: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """All 2^d points of {−1, 1}^d as a (2^d, d) tensor (lexicographic order)."""
    if not 1 <= d <= 20:
        raise ValueError(f"full_cube enumerates 2^d points; d = {d} is outside 1..20")
    return torch.tensor(list(itertools.product((-1.0, 1.0), repeat=d)), dtype=dtype)


def sample_cube(
    n: int, d: int, generator: torch.Generator, distinct: bool = False, dtype=torch.float64
) -> Tensor:
    """``n`` points uniform on {−1, 1}^d; with ``distinct`` no point repeats (rejection)."""
    if distinct and n > 2**d:
        raise ValueError(f"cannot draw {n} distinct points from the {2**d}-point cube (d = {d})")
    X = torch.randint(0, 2, (n, d), generator=generator).to(dtype).mul_(2).sub_(1)
    if not distinct:
        return X
    seen: set[bytes] = set()
    rows = []
    for row in X:
        while (key := row.numpy().tobytes()) in seen:
            row = torch.randint(0, 2, (d,), generator=generator).to(dtype).mul_(2).sub_(1)
        seen.add(key)
        rows.append(row)
    return torch.stack(rows)


def make_xor(
    d: int = 30,
    n_train: int = 100,
    n_test: int = 4000,
    seed: int = 0,
    exact_cube_max_d: int = EXACT_CUBE_MAX_D,
) -> XorData:
    """Training set of ``n_train`` distinct cube points and its xor labels, plus a test set.

    The test set is the full cube when d ≤ ``exact_cube_max_d`` and otherwise ``n_test`` fresh
    i.i.d. draws from an independent stream of the same ``seed``.
    """
    d, n_train, n_test, seed, exact_cube_max_d = (
        checks.whole(name, value, where="make_xor") for name, value in (
            ("d", d), ("n_train", n_train), ("n_test", n_test), ("seed", seed),
            ("exact_cube_max_d", exact_cube_max_d)))
    if d < 2 or n_train < 1:
        raise ValueError(f"need d ≥ 2 and n_train ≥ 1, got d = {d}, n_train = {n_train}")
    gen = torch.Generator().manual_seed(2 * seed)
    X_train = sample_cube(n_train, d, gen, distinct=True)
    if d <= exact_cube_max_d:
        X_test, exact = full_cube(d), True
    else:
        if n_test < 1:
            raise ValueError(f"n_test must be ≥ 1, got {n_test}")
        X_test, exact = sample_cube(n_test, d, torch.Generator().manual_seed(2 * seed + 1)), False
    return XorData(
        X_train=X_train,
        y_train=xor_labels(X_train),
        X_test=X_test,
        y_test=xor_labels(X_test),
        d=d,
        seed=seed,
        test_is_full_cube=exact,
    )
