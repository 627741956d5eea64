"""Study theory (chapter 06, claims B3 and B4) through the study protocol, at smoke scale.

Its B4 trained-network part reads the stored head-to-head tables (the studies it ``needs``); here
they are tiny (3 networks of a 784-16-16-10 MLP per dataset). The tests play the driver:
``compute_unit`` per unit and ``Table.put``; ``analyse`` and ``claims`` then read the store back.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixtures.helpers import numbers, tiny_configs

from weakness_lib.core.claims import VERDICTS
from weakness_lib.core.config import experiment_config
from weakness_lib.core.jsonable import jsonable
from weakness_lib.core.store import Table
from weakness_lib.engine import base
from weakness_lib.publish.launch import MARK
from weakness_lib.studies.bennett import head_to_head as h2h
from weakness_lib.studies.bennett import theory as th

SCALE = "smoke"
TINY_H2H = {"n_networks": 3, "n_train": 256, "n_probe": 128, "w2_probe": 32, "curvature_batch": 64,
            "hutchinson_probes": 2, "widths": [784, 16, 16, 10], "bootstrap_resamples": 50}
TINY_TRAIN = {"epochs": 3, "lr": 0.2, "batch_size": 32}  # 72 steps: networks that differ in W1


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """Configs with tiny head-to-head smoke settings; results in a temporary folder."""
    return tiny_configs(tmp_path, monkeypatch, {s: TINY_H2H for s in h2h.studies().values()},
                        TINY_TRAIN)


def fill(study: str, module, keys: list[str] | None = None) -> Table:
    cfg = experiment_config(study, SCALE)
    table = base.table(study, SCALE, cfg)
    for key in keys if keys is not None else [k for stage in module.units(cfg) for k in stage]:
        table.put(key, module.compute_unit(cfg, key))
    return table


def test_units_are_one_stage_named_as_stored():
    cfg = experiment_config("theory", SCALE)
    (keys,) = th.units(cfg)
    assert keys[: len(cfg["u_sizes"])] == [f"b3_n{n}" for n in cfg["u_sizes"]]
    assert keys[-1] == "volume_demo" and len(keys) == len(set(keys))
    assert len(keys) == (len(cfg["u_sizes"]) + len(cfg["functions_grid"]) + len(cfg["exclusion_grid"])
                         + len(cfg["recreation_ops"]) * len(cfg["recreation_n_train"]) + 1)
    with pytest.raises(ValueError, match="not a unit of theory"):
        th.compute_unit(cfg, "b3_n99")


def test_compute_unit_twice_gives_identical_rows(tmp_path, monkeypatch):
    monkeypatch.setenv("WEAKNESS_RESULTS", str(tmp_path / "results"))
    cfg = experiment_config("theory", SCALE)
    for key in ("b3_n5", "b4_exclusion_2x3", "recreation_add_6", "volume_demo"):
        assert numbers(th.compute_unit(cfg, key)) == numbers(th.compute_unit(cfg, key, device="cpu"))
    assert not (tmp_path / "results").exists()  # pure: nothing written


def test_rows_match_the_committed_full_table(monkeypatch):
    """The rows are those stored today (same keys, same numbers): ``verify`` stays valid."""
    monkeypatch.delenv("WEAKNESS_RESULTS", raising=False)  # the committed store, whatever ran before
    table = base.table("theory", "full")
    assert table.path.exists(), "the committed full-scale theory table is missing"
    # (volume_demo trains a float32 network: its parameter norm depends on the CPU's kernels)
    for key in ("b3_n6", "b4_functions_3x3", "b4_exclusion_2x3"):
        new, old = numbers(th.compute_unit(table.config, key)), numbers(table.get(key))
        assert new == old, key
        assert list(new) == list(old)


def test_smoke_study_analyse_reads_the_head_to_heads_and_claims(tiny):
    cfg = experiment_config("theory", SCALE)
    (keys,) = th.units(cfg)
    fill("theory", th, keys[:-1])
    with pytest.raises(base.MissingResults, match="weakness-repro run theory --scale smoke"):
        th.analyse(SCALE)
    fill("theory", th, keys[-1:])
    with pytest.raises(base.MissingResults, match="weakness-repro run head_to_head_mnist --scale smoke"):
        th.analyse(SCALE)
    fill("head_to_head_mnist", h2h)
    fill("head_to_head_fmnist", h2h)

    before = sorted((p, p.stat().st_mtime_ns) for p in tiny.rglob("*"))
    result = th.analyse(SCALE)
    assert sorted((p, p.stat().st_mtime_ns) for p in tiny.rglob("*")) == before  # no writes

    trained = result["b4_trained"]
    assert trained["available"] and set(trained["datasets"]) == set(cfg["head_to_head_datasets"])
    for ds, info in trained["datasets"].items():
        h2h_cfg = experiment_config(h2h.study_for(ds), SCALE)
        assert info["n"] == h2h_cfg["n_networks"] and info["primary"] == h2h_cfg["primary_weakness"]
        assert info["table"][0]["weakness"] == info["primary"]
        assert "ci_lo" not in info["table"][0] or info["table"][0]["ci_lo"] is None  # < 10 networks
    assert result["paper_rho"] == {
        h2h.claim_id(s): h2h.claim_rule(s)["target"]["weakness"]["rho"] for s in h2h.studies().values()}
    assert len(result["volume_w1_columns"]) == len(th.VOLUME_TAUS)
    assert set(result["volume_w1_columns"]) <= set(result["volume"].columns)

    b3, b4 = th.claims(result)
    assert (b3.claim_id, b4.claim_id) == ("B3", "B4")
    assert b3.verdict in VERDICTS and b4.verdict in VERDICTS
    assert b3.verdict == "reproduced" and b3.our_value == 1.0  # exact enumeration, also at smoke
    # the laws of every |U| counted (a size too small for some laws has fewer, e.g. k > |U|)
    cfg = result["settings"]
    assert b3.details["laws_per_size"] == {
        str(n): len(result["table"].get(f"b3_n{n}")["laws"]) for n in cfg.u_sizes}
    assert b4.details["our_value_source"] == "trained MNIST head-to-head networks"
    assert b4.our_value == trained["primary"]["mnist"]["rho"]
    assert len(b4.provenance["tables"]) == 3 and len(b3.provenance["tables"]) == 1
    json.dumps(jsonable(b4.details), allow_nan=False)  # strict JSON


def test_chapter_06_reads_results_only():
    nb = json.loads((Path(__file__).resolve().parents[1] / "notebooks"
                     / "06_theory_finite_languages.ipynb").read_text(encoding="utf-8"))
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"
                      and not "".join(c["source"]).startswith(MARK))  # the launch bootstrap installs
    assert 'chapter.load("theory", scale, compute=compute)' in code
    assert 'chapter.claim(c, scale) for c in ("B3", "B4")' in code  # verdicts read, not re-derived
    assert "claims(result)" not in code
    assert "progress" not in code and ".run(" not in code and "w1_tau" not in code


def test_the_committed_b3_claim_counts_the_laws_of_each_size():
    """A |U| too small for some laws (k-subsets with k > |U|) has fewer: the claim says so per size
    (it once reported the first size's count as if for all)."""
    claim = json.loads((Path(__file__).parents[1] / "results" / "full" / "claims" / "B3.json").read_text())
    per = claim["details"]["laws_per_size"]
    assert list(per) == [str(n) for n in claim["details"]["u_sizes"]]
    assert per["1"] < per["2"] < per["3"] == per["12"]
