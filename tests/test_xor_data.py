"""P_xor data: labels, distinct training points, test sets, determinism."""

import pytest
import torch

from weakness_lib.wen.xor import full_cube, make_xor, sample_cube, xor_labels


def test_labels_are_product_of_first_two_coordinates():
    X = full_cube(4)
    y = xor_labels(X)
    assert torch.equal(y, X[:, 0] * X[:, 1])
    assert set(y.tolist()) == {-1.0, 1.0}


def test_full_cube_enumerates_every_point_once():
    X = full_cube(5)
    assert X.shape == (32, 5)
    assert torch.unique(X, dim=0).shape[0] == 32
    assert bool(((X == 1) | (X == -1)).all())


def test_training_points_are_distinct_even_when_collisions_are_likely():
    X = sample_cube(60, 6, torch.Generator().manual_seed(0), distinct=True)
    assert torch.unique(X, dim=0).shape[0] == 60
    with pytest.raises(ValueError, match="distinct"):
        sample_cube(65, 6, torch.Generator().manual_seed(0), distinct=True)


def test_small_d_tests_on_the_full_cube_and_large_d_on_fresh_draws():
    small = make_xor(d=8, n_train=20, seed=1)
    assert small.test_is_full_cube and small.X_test.shape == (256, 8)
    big = make_xor(d=30, n_train=100, n_test=4000, seed=1)
    assert not big.test_is_full_cube and big.X_test.shape == (4000, 30)
    # fresh draws: balanced labels and essentially no overlap with the training set
    assert abs(float(big.y_test.mean())) < 0.06
    train = {tuple(r) for r in big.X_train.tolist()}
    assert sum(tuple(r) in train for r in big.X_test.tolist()) == 0


def test_same_seed_same_data_and_different_seed_different_data():
    a, b, c = make_xor(30, 50, 100, seed=3), make_xor(30, 50, 100, seed=3), make_xor(30, 50, 100, 4)
    assert torch.equal(a.X_train, b.X_train) and torch.equal(a.X_test, b.X_test)
    assert not torch.equal(a.X_train, c.X_train)


def test_bad_input_is_rejected_with_a_clear_message():
    with pytest.raises(ValueError, match="d ≥ 2"):
        make_xor(d=1)
    with pytest.raises(ValueError, match="shape"):
        xor_labels(torch.ones(3))
