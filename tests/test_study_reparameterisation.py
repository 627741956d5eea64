"""Study reparameterisation (chapter 01, claim B1) at smoke scale, through the study protocol.

The test plays the driver: it calls ``compute_unit`` for every unit of every stage, writes the
returned artifacts to ``table.artifact(name)`` and the rows with ``Table.put``, then reads them
back with ``analyse`` and ``claims``.
"""

from __future__ import annotations

import hashlib

import pytest
from fixtures.helpers import numbers

from weakness_lib.core.claims import VERDICTS
from weakness_lib.core.config import experiment_config
from weakness_lib.engine import base
from weakness_lib.studies.bennett import reparameterisation as rp

SCALE = "smoke"


def store(cfg, key: str, row: dict) -> None:
    table = base.table(rp.EXPERIMENT, SCALE, cfg)
    for name, payload in row.pop("_artifacts", {}).items():
        table.artifact(name).write_bytes(payload)
    table.put(key, row)


@pytest.fixture
def results(tmp_path, monkeypatch):
    monkeypatch.setenv("WEAKNESS_RESULTS", str(tmp_path / "results"))
    rp._RETRAINED.clear()
    yield tmp_path / "results"
    rp._RETRAINED.clear()


def test_units_are_two_stages_train_then_rescalings():
    cfg = experiment_config(rp.EXPERIMENT, SCALE)
    stages = rp.units(cfg)
    assert stages[0] == ["train"]
    assert stages[1][0] == "identity:1"
    assert len(stages[1]) == 1 + len(cfg["modes"]) * (len(cfg["alphas"]) - 1)
    assert all(rp.unit_key(*rp.parse_key(k)) == k for k in stages[1])
    with pytest.raises(ValueError):
        rp.parse_key("layer7:2")


def test_smoke_study_computes_analyses_and_claims(results):
    cfg = experiment_config(rp.EXPERIMENT, SCALE)
    (train,), rescalings = rp.units(cfg)
    row = rp.compute_unit(cfg, train)
    assert set(row["_artifacts"]) == {"train.pt"}
    store(cfg, train, row)
    *first, last = rescalings
    for key in first:
        store(cfg, key, rp.compute_unit(cfg, key))

    with pytest.raises(base.MissingResults, match="weakness-repro run reparameterisation"):
        rp.analyse(SCALE)

    store(cfg, last, rp.compute_unit(cfg, last))
    before = sorted((p, p.stat().st_mtime_ns) for p in results.rglob("*"))
    result = rp.analyse(SCALE)
    assert sorted((p, p.stat().st_mtime_ns) for p in results.rglob("*")) == before  # no writes

    frame = result["table"]
    assert len(frame) == len(cfg["modes"]) * len(cfg["alphas"])
    assert (frame["n_changed"] == 0).all() and (frame["max_abs_dlogit"] < 1e-10).all()
    assert (frame.loc[frame["alpha"] == 1, "lambda_max_ratio"] == 1).all()
    assert result["train"]["weights_sha256"]
    (claim,) = rp.claims(result)
    assert claim.claim_id == "B1" and claim.verdict in VERDICTS
    assert claim.our_value == pytest.approx(frame["lambda_max_ratio"].max())
    assert claim.verdict == result["B1"]["verdict"]
    assert claim.provenance["tables"][0]["units"] == 1 + len(rescalings)
    assert claim.details["predictions_changed"] == 0
    assert not (results / SCALE / "claims").exists()  # claims are written by the runner, not here


def test_units_are_bit_reproducible_and_stage_two_retrains_without_the_artifact(results):
    cfg = experiment_config(rp.EXPERIMENT, SCALE)
    a, b = rp.compute_unit(cfg, "train"), rp.compute_unit(cfg, "train")
    assert numbers(a) == numbers(b)
    digest = {k: hashlib.sha256(v).hexdigest() for k, v in a["_artifacts"].items()}
    assert digest == {k: hashlib.sha256(v).hexdigest() for k, v in b["_artifacts"].items()}

    # without a stored network (a worker without the shared disk), stage 2 re-trains
    key = "chain:10"
    retrained = rp.compute_unit(cfg, key)
    store(cfg, "train", a)
    rp._RETRAINED.clear()
    loaded = rp.compute_unit(cfg, key)  # reads train.pt, checks its SHA-256
    assert rp._RETRAINED == {}
    assert numbers(loaded) == numbers(retrained)
    assert numbers(rp.compute_unit(cfg, key)) == numbers(loaded)

    table = base.table(rp.EXPERIMENT, SCALE, cfg)
    path = table.artifact("train.pt")
    path.write_bytes(b["_artifacts"]["train.pt"])  # identical weights: still accepted
    rp.compute_unit(cfg, "identity:1")
    table.put("train", {**numbers(a), "weights_sha256": "0" * 64})
    with pytest.raises(RuntimeError, match="do not match"):
        rp.compute_unit(cfg, key)
    path.unlink()  # re-training cannot reproduce a wrong digest either
    with pytest.raises(RuntimeError, match="did not reproduce"):
        rp.compute_unit(cfg, key)
