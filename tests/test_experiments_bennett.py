"""Tests of the Bennett experiment runners (chapters 02–05): determinism, invariance, verdict rules."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from weakness_lib.studies import batch_size as bs
from weakness_lib.studies import head_to_head as h2h
from weakness_lib.studies import invariance_audit as audit
from weakness_lib.studies.bennett_common import family_of, measure_families, orientation_of

TIMING = ("_wall_s",)


def _numbers(row: dict) -> dict:
    """Every stored value except timings (what ``verify`` compares bit for bit)."""
    return {k: v for k, v in row.items() if not k.endswith(TIMING) and not k.startswith("_")}


@pytest.fixture(autouse=True)
def _results_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("WEAKNESS_RESULTS", str(tmp_path / "results"))


TINY = {"n_train": 256, "n_probe": 128, "w2_probe": 32, "curvature_batch": 64, "hutchinson_probes": 2,
        "widths": [784, 16, 16, 10]}


def _tiny(module, monkeypatch, **extra):
    """Shrink the smoke config of ``module`` (its ``config`` function) to keep tests fast."""
    original = module.config

    def config(*args):
        cfg = dict(original(*args))
        cfg.update({k: v for k, v in {**TINY, **extra}.items() if k in cfg})
        return cfg

    monkeypatch.setattr(module, "config", config)


# -- determinism (the property `verify` relies on) ------------------------------------------------
def test_head_to_head_row_is_bit_reproducible(monkeypatch):
    _tiny(h2h, monkeypatch)
    cfg = h2h.config("mnist", "smoke")
    a = h2h.compute_row(cfg, 1)
    b = h2h.retrain_and_measure("smoke", "net001", dataset="mnist")
    assert _numbers(a) == _numbers(b)
    assert a["seed"] == cfg["seed_base"] + 1
    # a different seed is a different network
    c = h2h.compute_row(cfg, 2)
    assert c["weights_sha256"] != a["weights_sha256"]


def test_batch_size_row_is_bit_reproducible(monkeypatch):
    _tiny(bs, monkeypatch, n_probe=64, max_steps_large=10)
    cfg = bs.config("smoke")
    n = cfg["n_values"][0]
    a = bs.compute_row(cfg, n, "large", cfg["seeds"][0])
    b = bs.retrain_and_measure("smoke", bs.run_key(n, "large", cfg["seeds"][0]))
    assert _numbers(a) == _numbers(b)
    assert a["batch_size"] == min(cfg["batch_large"], n)
    assert a["stopped_by"] in ("loss", "cap")


# -- invariance under the Dinh rescaling ----------------------------------------------------------
def test_rescaling_leaves_weakness_bitwise_unchanged_and_moves_sharpness(monkeypatch):
    _tiny(audit, monkeypatch)
    cfg = audit.config("smoke")
    base = audit.compute_row(cfg, "layer1", 1.0)
    for mode, alpha in (("layer1", 0.1), ("chain", 10.0)):
        row = audit.compute_row(cfg, mode, alpha)
        for col in base:
            if col.startswith(("w1_", "mean_A_", "frac_single_", "w2")) or col in ("test_acc", "predictions_sha256"):
                assert row[col] == base[col], (mode, alpha, col)
        assert row["agreement"] == 1.0 and row["max_dlogit"] < 1e-10
        assert math.isclose(row["entropy_bits"], base["entropy_bits"], rel_tol=1e-9)
        assert row["asam"] == pytest.approx(base["asam"], rel=1e-6)  # ASAM is rescaling-invariant
        assert max(row["lambda_max"] / base["lambda_max"], base["lambda_max"] / row["lambda_max"]) > 5
        assert row["l2_norm"] != base["l2_norm"]


# -- verdict rules (pre-registered text in configs/*.yaml) ----------------------------------------
@pytest.mark.parametrize(
    ("rho", "p", "ci", "expected"),
    [
        (0.38, 1e-4, (0.2, 0.55), "reproduced"),
        (0.60, 1e-9, (0.45, 0.72), "partially_reproduced"),  # significant but CI excludes 0.374
        (0.15, 0.14, (-0.05, 0.33), "partially_reproduced"),  # right sign, not significant
        (-0.45, 1e-6, (-0.6, -0.3), "not_reproduced"),
        (0.0, 1.0, (-0.2, 0.2), "not_reproduced"),
    ],
)
def test_head_to_head_verdict_rule(rho, p, ci, expected):
    assert h2h.verdict_for(rho, p, ci, 0.374) == expected


def _adv(rows):
    return pd.DataFrame(rows, columns=["n", "advantage_pp", "se_pp"])


def test_batch_size_verdict_rule():
    assert bs.verdict_for(_adv([(2000, 1.5, 0.3), (60000, 0.1, 0.1)]))[0] == "reproduced"
    assert bs.verdict_for(_adv([(2000, 1.5, 0.3), (60000, 0.4, 0.1)]))[0] == "partially_reproduced"
    assert bs.verdict_for(_adv([(2000, 0.3, 0.3), (60000, 0.0, 0.1)]))[0] == "not_reproduced"
    assert bs.verdict_for(_adv([(2000, 1.5, 0.3), (60000, 1.4, 0.1)]))[0] == "not_reproduced"
    assert bs.verdict_for(_adv([(2000, 1.5, float("nan")), (60000, 0.0, 0.1)]))[0] == "not_reproduced"


def test_advantage_is_paired_mean_and_standard_error():
    acc_small = {0: 0.95, 1: 0.96, 2: 0.97}
    acc_large = {0: 0.94, 1: 0.94, 2: 0.96}
    rows = [{"n": 100, "regime": r, "seed": s, "test_acc": acc[s]}
            for r, acc in (("small", acc_small), ("large", acc_large)) for s in acc]
    adv = bs.advantage_table(pd.DataFrame(rows))
    d = 100 * (np.array(list(acc_small.values())) - np.array(list(acc_large.values())))
    assert adv.loc[0, "advantage_pp"] == pytest.approx(d.mean())
    assert adv.loc[0, "se_pp"] == pytest.approx(d.std(ddof=1) / math.sqrt(3))


def test_batch_run_order_puts_verdict_cells_first():
    cfg = {"n_values": [5000, 2000, 60000, 10000], "seeds": [0, 1]}
    order = bs.run_order(cfg)
    assert len(order) == len(set(order)) == 4 * 2 * 2
    first = order[:8]
    assert {n for n, _, _ in first} == {2000, 60000}
    assert bs.parse_key(bs.run_key(2000, "small", 3)) == (2000, "small", 3)
    with pytest.raises(ValueError):
        bs.parse_key("n2000_medium_s1")


def test_invariance_verdict_rule_on_synthetic_rows():
    def frame(w1_change=False, l2_factor=30.0):
        rows = []
        for a in (0.1, 1.0, 10.0):
            rows.append({"mode": "layer1", "alpha": a, "w1_tau0.01": 0.2 + (1e-3 if (w1_change and a == 10.0) else 0.0),
                         "w2": 10.0, "entropy_bits": 0.05, "test_acc": 0.95, "test_loss": 0.2,
                         "train_acc": 1.0, "train_loss": 0.001, "lambda_max": 0.1 / a**2,
                         "l2_norm": 20.0 * (l2_factor if a == 10.0 else 1.0), "lzma_bytes": 2e5,
                         "max_dlogit": 1e-14, "agreement": 1.0, "predictions_sha256": "x"})
        return pd.DataFrame(rows)

    def verdict(df):
        return audit.verdict_for(df, audit.change_summary(audit.factor_table(df)))[0]

    assert verdict(frame()) == "reproduced"
    assert verdict(frame(l2_factor=2.0)) == "partially_reproduced"
    assert verdict(frame(w1_change=True)) == "not_reproduced"


# -- statistics and sign conventions --------------------------------------------------------------
def test_orientation_follows_the_registered_families():
    extra = measure_families()
    assert (family_of("lambda_max", extra), orientation_of("lambda_max", extra)) == ("sharpness", -1)
    assert orientation_of("pacbayes_sigma", extra) == 1  # higher σ* = flatter
    assert (family_of("lzma_bytes", extra), orientation_of("lzma_bytes", extra)) == ("simplicity", -1)
    assert (family_of("w1_tau0.01"), orientation_of("w1_tau0.01")) == ("weakness", 1)
    assert orientation_of("frac_single_tau0.01") == -1
    assert family_of("w2_wrong_vflip") == "control"


def test_statistics_raw_and_oriented_signs():
    rng = np.random.default_rng(0)
    n = 40
    acc = rng.uniform(0.94, 0.96, n)
    df = pd.DataFrame({
        "test_acc": acc, "test_err": 1 - acc, "train_acc": np.ones(n), "gap_acc": 1 - acc,
        "train_loss": rng.uniform(1e-3, 2e-3, n), "test_loss": rng.uniform(0.2, 0.3, n),
        "w1_tau0.01": acc * 2,            # perfectly weakness-predictive
        "lambda_max": -acc,               # sharper ⇒ worse: raw ρ = −1, oriented +1
        "lzma_bytes": rng.normal(size=n),
        "w1_tau0.1": np.zeros(n),         # constant: reported, not correlated
    })
    df["gap_loss"] = df["test_loss"] - df["train_loss"]
    out = h2h.statistics(df, {"bootstrap_resamples": 200, "bootstrap_seed": 0})
    t = out["tables"]["test_acc"].set_index("measure")
    assert t.loc["w1_tau0.01", "rho"] == pytest.approx(1.0)
    assert t.loc["lambda_max", "rho"] == pytest.approx(-1.0)
    assert t.loc["lambda_max", "rho_oriented"] == pytest.approx(1.0)
    assert "w1_tau0.1" in out["constant"] and "w1_tau0.1" not in t.index
    e = out["tables"]["test_err"].set_index("measure")
    assert e.loc["w1_tau0.01", "rho"] == pytest.approx(-1.0)
    assert (t["p_holm"] >= t["p"]).all()


def test_load_results_is_none_without_stored_rows():
    assert h2h.load_results("mnist", "smoke") is None
    with pytest.raises(ValueError):
        h2h.load_results("cifar10", "smoke")


def test_cached_statistics_round_trip_keeps_numbers_and_nan():
    from weakness_lib.core.store import ResultsStore

    rng = np.random.default_rng(1)
    table = ResultsStore("smoke").table("stats_roundtrip", {"x": 1})
    for i in range(5):
        acc = float(rng.uniform(0.9, 1.0))
        table.put(f"net{i:03d}", {"test_acc": acc, "test_err": 1 - acc, "train_acc": 1.0, "gap_acc": 1 - acc,
                                  "train_loss": float(rng.uniform()), "test_loss": float(rng.uniform()),
                                  "gap_loss": float(rng.uniform()), "w1_tau0.01": float(rng.uniform()),
                                  "lambda_max": float(rng.uniform())})
    cfg = {"bootstrap_resamples": 50, "bootstrap_seed": 0}
    first = h2h.cached_statistics(table, cfg)
    second = h2h.cached_statistics(table, cfg)  # read back from the stored JSON
    for target, t in first["tables"].items():
        pd.testing.assert_frame_equal(t, second["tables"][target], check_dtype=False)
