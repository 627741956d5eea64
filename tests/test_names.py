"""Readers' names and the book's one number format (weakness_lib.views.names)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from weakness_lib.views import names


@pytest.mark.parametrize(("column", "expected"), [
    ("w1_tau0.01", "W1 (τ = 0.01)"),
    ("w1_delta2", "W1 (δ = 2)"),
    ("w1_tau0.01_cal", "W1 (τ = 0.01), calibrated"),
    ("w1_tau0.01_alt", "W1 (τ = 0.01), other probe split"),
    ("mean_A_tau0.05", "mean |A| (τ = 0.05)"),
    ("frac_single_tau0.1", "fraction with |A| = 1 (τ = 0.1)"),
    ("lambda_max", "largest Hessian eigenvalue"),
    ("rho_oriented", "ρ, oriented by hypothesis"),
    ("p_holm", "p (Holm-adjusted)"),
    ("val_acc", "validation accuracy (oracle)"),
    ("not_a_column", "not_a_column"),  # unknown names are kept, never invented
])
def test_label(column: str, expected: str) -> None:
    assert names.label(column) == expected


def test_label_with_unit_only_where_there_is_one() -> None:
    assert names.label("lzma_bytes", unit=True) == "compressed size (lzma) [bytes]"
    assert names.label("w1_tau0.01", unit=True) == "W1 (τ = 0.01) [bits]"
    assert names.label("lambda_max", unit=True) == "largest Hessian eigenvalue"


def test_readable_renames_columns_and_index_name_only() -> None:
    frame = pd.DataFrame({"w2": [1.0], "p_holm": [0.5]}, index=pd.Index(["x"], name="n_train"))
    out = names.readable(frame)
    assert list(out.columns) == ["W2 (transformation compatibility)", "p (Holm-adjusted)"]
    assert out.index.name == "training images" and list(frame.columns) == ["w2", "p_holm"]


@pytest.mark.parametrize(("value", "kwargs", "expected"), [
    (-0.265, {}, "−0.265"),
    (0.374, {"signed": True}, "+0.374"),
    (2000.0, {}, "2,000"),           # not "2,000.0"
    (744813, {}, "744,813"),         # a count stays a count
    (np.int64(60000), {}, "60,000"),
    (15_300_000.0, {}, "1.53 × 10⁷"),  # not "1.53e+07"
    (457200.0, {}, "4.57 × 10⁵"),
    (1.6e-18, {"digits": 2}, "1.6 × 10⁻¹⁸"),
    (-3.2e-4, {"digits": 2}, "−3.2 × 10⁻⁴"),
    (0.5, {}, "0.5"),
    (float("nan"), {}, "–"),
])
def test_num(value, kwargs, expected) -> None:
    assert names.num(value, **kwargs) == expected


def test_minus_changes_signs_not_hyphens() -> None:
    assert names.minus("ρ = -0.265, CI [-0.41, -.03]") == "ρ = −0.265, CI [−0.41, −.03]"
    assert names.minus("x-1 in 3-4 and well-known") == "x-1 in 3-4 and well-known"


@pytest.mark.parametrize(("value", "digits", "expected"), [
    (0.309, 2, "+0.31"), (-0.718, 2, "\u22120.72"), (-0.0004, 3, "\u22120.000"), (0.5476, 3, "+0.548"),
    (None, 2, "\u2014"), (float("nan"), 3, "\u2014"), (np.float64(0.1), 1, "+0.1"),
])
def test_signed_gives_a_sign_a_true_minus_and_a_dash_for_missing(value, digits, expected) -> None:
    assert names.signed(value, digits) == expected


def test_glossary_lists_every_described_name_once() -> None:
    table = names.glossary()
    assert table.index.is_unique
    assert {"symbol", "unit", "meaning"} <= set(table.columns)
    assert "largest Hessian eigenvalue" in table.index and (table["meaning"] != "").all()


def test_optimiser_is_written_in_words():
    from weakness_lib.views import names

    assert names.optimiser({"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "batch_size": 64,
                            "epochs": 20}) == "SGD, learning rate 0.05, momentum 0.9, batch 64, 20 epochs"
    assert names.optimiser({"optimizer": "gd", "lr": 0.01, "momentum": 0.0, "weight_decay": 0.05,
                            "batch_size": 64, "epochs": None}) == \
        "full-batch gradient descent, learning rate 0.01, weight decay 0.05"
