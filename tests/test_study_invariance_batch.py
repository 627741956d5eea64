"""Studies invariance_audit (chapter 02, B2) and batch_size (chapter 03, B5) through the protocol.

At smoke scale the test plays the driver (``compute_unit`` for every unit, rows stored with
``Table.put``), then reads them back with ``analyse`` and ``claims``. Also: bit-for-bit units,
the Dinh-rescaling invariance itself, and the analysis helpers.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from fixtures.helpers import numbers

from weakness_lib.core.claims import VERDICTS
from weakness_lib.core.config import experiment_config
from weakness_lib.engine import base
from weakness_lib.studies.bennett import batch_size as bs
from weakness_lib.studies.bennett import invariance_audit as audit

SCALE = "smoke"


@pytest.fixture
def results(tmp_path, monkeypatch):
    monkeypatch.setenv("WEAKNESS_RESULTS", str(tmp_path / "results"))
    audit._NETWORKS.clear()
    yield tmp_path / "results"
    audit._NETWORKS.clear()


def drive(module, skip: tuple[str, ...] = ()) -> dict:
    """Compute and store every unit of ``module`` at smoke scale except ``skip``; return the config."""
    cfg = experiment_config(module.EXPERIMENT, SCALE)
    table = base.table(module.EXPERIMENT, SCALE, cfg)
    for stage in module.units(cfg):
        for key in stage:
            if key in skip:
                continue
            row = module.compute_unit(cfg, key)
            for name, payload in row.pop("_artifacts", {}).items():
                table.artifact(name).write_bytes(payload)
            table.put(key, row)
    return cfg


def _unchanged(results, fn):
    before = sorted((p, p.stat().st_mtime_ns) for p in results.rglob("*"))
    out = fn()
    assert sorted((p, p.stat().st_mtime_ns) for p in results.rglob("*")) == before  # no writes
    return out


# -- invariance_audit -----------------------------------------------------------------------------
def test_invariance_audit_smoke_study(results):
    cfg = experiment_config(audit.EXPERIMENT, SCALE)
    (keys,) = audit.units(cfg)
    assert keys == [audit.row_key(m, a) for m in cfg["modes"] for a in cfg["alphas"]]
    drive(audit, skip=(keys[-1],))
    with pytest.raises(base.MissingResults, match="weakness-repro run invariance_audit"):
        audit.analyse(SCALE)
    base.table(audit.EXPERIMENT, SCALE, cfg).put(keys[-1], audit.compute_unit(cfg, keys[-1]))

    result = _unchanged(results, lambda: audit.analyse(SCALE))
    assert set(result["tables"]) == set(cfg["modes"])
    facts = result["facts"]
    assert facts["invariance_holds"] and facts["not_exact"] == []
    assert facts["thresholds"] == base.rule(audit.EXPERIMENT, "B2")["thresholds"]
    (claim,) = audit.claims(result)
    assert claim.claim_id == "B2" and claim.verdict in VERDICTS and claim.verdict == result["verdict"]
    assert claim.our_value == max(facts["sharpness_changes"].values())
    assert claim.details["summary"] == result["summary"].to_dict(orient="records")
    assert not (results / SCALE / "claims").exists()


def test_invariance_unit_is_bit_reproducible_and_rescaling_leaves_weakness_unchanged(results):
    cfg = experiment_config(audit.EXPERIMENT, SCALE)
    base_row = audit.compute_unit(cfg, "layer1_a1")
    audit._NETWORKS.clear()  # re-train from scratch
    assert numbers(audit.compute_unit(cfg, "layer1_a1")) == numbers(base_row)
    for key in ("layer1_a0.1", "chain_a10"):
        row = audit.compute_unit(cfg, key)
        assert row["weights_sha256_trained"] == base_row["weights_sha256_trained"]
        for col in base_row:
            if col.startswith(("w1_", "mean_A_", "frac_single_", "w2")) or col in ("test_acc", "predictions_sha256"):
                assert row[col] == base_row[col], (key, col)
        assert row["agreement"] == 1.0 and row["max_dlogit"] < 1e-10
        assert math.isclose(row["entropy_bits"], base_row["entropy_bits"], rel_tol=1e-9)
        assert row["asam"] == pytest.approx(base_row["asam"], rel=1e-6)  # ASAM is rescaling-invariant
        assert max(row["lambda_max"] / base_row["lambda_max"], base_row["lambda_max"] / row["lambda_max"]) > 5
        assert row["l2_norm"] != base_row["l2_norm"]
    with pytest.raises(ValueError):
        audit.parse_key("layer2_a3")


def test_invariance_evidence_from_synthetic_rows():
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
        return audit.b2_facts(df, audit.change_summary(audit.factor_table(df)))["verdict"]

    assert verdict(frame()) == "reproduced"
    assert verdict(frame(l2_factor=2.0)) == "partially_reproduced"
    assert verdict(frame(w1_change=True)) == "not_reproduced"
    df = frame(w1_change=True)
    ev = audit.audit_evidence(df, audit.change_summary(audit.factor_table(df)))
    assert ev["not_exact"] == ["w1_tau0.01"]
    assert ev["sharpness_changes"] == {"lambda_max": pytest.approx(100.0)}
    assert ev["simplicity_changes"]["l2_norm"] == pytest.approx(30.0)


# -- batch_size -----------------------------------------------------------------------------------
def test_batch_size_smoke_study(results):
    cfg = experiment_config(bs.EXPERIMENT, SCALE)
    (keys,) = bs.units(cfg)
    assert keys == [bs.run_key(*u) for u in bs.run_order(base.typed(cfg))]
    drive(bs, skip=(keys[0],))
    with pytest.raises(base.MissingResults, match="weakness-repro run batch_size"):
        bs.analyse(SCALE)
    base.table(bs.EXPERIMENT, SCALE, cfg).put(keys[0], bs.compute_unit(cfg, keys[0]))

    result = _unchanged(results, lambda: bs.analyse(SCALE))
    adv = result["advantage"]
    assert list(adv["n"]) == sorted(cfg["n_values"]) and (adv["seeds"] == len(cfg["seeds"])).all()
    assert result["paper_advantage"] == {2000: 1.6, 60000: 0.02}
    assert adv["paper_pp"].isna().all()  # the smoke grid has none of the paper's n
    (claim,) = bs.claims(result)
    assert claim.claim_id == "B5" and claim.verdict in VERDICTS and claim.verdict == result["verdict"]
    hi = adv.iloc[-1]
    assert claim.our_value == hi["advantage_pp"]
    assert claim.ci95 == pytest.approx([hi["advantage_pp"] - 1.96 * hi["se_pp"], hi["advantage_pp"] + 1.96 * hi["se_pp"]])
    assert claim.details["runs"] == len(keys)
    assert not (results / SCALE / "claims").exists()


def test_batch_size_unit_is_bit_reproducible(results):
    cfg = experiment_config(bs.EXPERIMENT, SCALE)
    key = bs.run_key(cfg["n_values"][0], "large", cfg["seeds"][0])
    a, b = bs.compute_unit(cfg, key), bs.compute_unit(cfg, key)
    assert numbers(a) == numbers(b)
    assert a["batch_size"] == min(cfg["batch_large"], cfg["n_values"][0])
    assert a["stopped_by"] in ("loss", "cap")


def test_advantage_is_paired_mean_and_standard_error():
    acc_small = {0: 0.95, 1: 0.96, 2: 0.97}
    acc_large = {0: 0.94, 1: 0.94, 2: 0.96}
    rows = [{"n": 2000, "regime": r, "seed": s, "test_acc": acc[s]}
            for r, acc in (("small", acc_small), ("large", acc_large)) for s in acc]
    adv = bs.advantage_table(pd.DataFrame(rows))
    d = 100 * (np.array(list(acc_small.values())) - np.array(list(acc_large.values())))
    assert adv.loc[0, "advantage_pp"] == pytest.approx(d.mean())
    assert adv.loc[0, "se_pp"] == pytest.approx(d.std(ddof=1) / math.sqrt(3))
    assert adv.loc[0, "paper_pp"] == bs.paper_advantage()[2000]


def test_batch_run_order_puts_verdict_cells_first():
    cfg = base.settings(bs.EXPERIMENT, SCALE).replace(n_values=[5000, 2000, 60000, 10000],
                              seeds=[0, 1])
    order = bs.run_order(cfg)
    assert len(order) == len(set(order)) == 4 * 2 * 2
    assert {n for n, _, _ in order[:8]} == {2000, 60000}
    assert bs.parse_key(bs.run_key(2000, "small", 3)) == (2000, "small", 3)
    with pytest.raises(ValueError):
        bs.parse_key("n2000_medium_s1")
