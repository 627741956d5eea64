"""Studies head_to_head_mnist / head_to_head_fmnist (chapters 04/05, claims B6/B7) through the
study protocol, at a reduced smoke scale (3 tiny networks: seconds).

The tests play the driver: ``compute_unit`` per unit, ``Table.put`` of the row, ``summarise`` and
``Table.write_summary``; then ``analyse`` and ``claims`` read the store back without writing.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixtures.helpers import numbers, tiny_configs

from weakness_lib.bennett.weakness import column
from weakness_lib.core.claims import VERDICTS
from weakness_lib.core.config import experiment_config
from weakness_lib.core.jsonable import jsonable
from weakness_lib.core.store import Table
from weakness_lib.engine import base
from weakness_lib.studies.bennett import head_to_head as h2h
from weakness_lib.studies.bennett import settings
from weakness_lib.studies.bennett.networks import family_of, measure_families, orientation_of
from weakness_lib.views import head_to_head as report

SCALE = "smoke"
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
#: smoke settings shrunk further (3 tiny networks, 3 epochs); claim blocks are copied unchanged
TINY = {"n_networks": 3, "n_train": 256, "n_probe": 128, "w2_probe": 32, "curvature_batch": 64,
        "hutchinson_probes": 2, "widths": [784, 16, 16, 10], "bootstrap_resamples": 50}
TINY_TRAIN = {"epochs": 3, "lr": 0.2, "batch_size": 32}  # 72 steps: networks that differ in W1


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """Configs with TINY smoke settings for every study, results in a temporary folder."""
    return tiny_configs(tmp_path, monkeypatch, {s: TINY for s in h2h.studies().values()},
                        TINY_TRAIN)


def fill(study: str, keys: list[str] | None = None) -> Table:
    """Compute and store ``keys`` (default: every unit) of ``study`` as the runner would."""
    cfg = experiment_config(study, SCALE)
    table = base.table(study, SCALE, cfg)
    for key in keys if keys is not None else [k for stage in h2h.units(cfg) for k in stage]:
        table.put(key, h2h.compute_unit(cfg, key))
    return table


def same(a, b) -> bool:
    """Equal as stored (NaN == NaN: both become null)."""
    return json.dumps(jsonable(a), sort_keys=True) == json.dumps(jsonable(b), sort_keys=True)


def snapshot(root: Path) -> list:
    return sorted((p, p.stat().st_mtime_ns) for p in root.rglob("*"))


# -- registration ---------------------------------------------------------------------------------
def test_two_registered_studies_share_the_module():
    assert h2h.studies() == {"mnist": "head_to_head_mnist", "fashion_mnist": "head_to_head_fmnist"}
    assert [h2h.claim_id(s) for s in h2h.studies().values()] == ["B6", "B7"]
    assert h2h.canonical("fmnist") == h2h.canonical("fashion-mnist") == "fashion_mnist"
    with pytest.raises(ValueError, match="unknown dataset"):
        h2h.canonical("cifar10")
    for ds, study in h2h.studies().items():
        assert experiment_config(study, SCALE)["dataset"] == ds


def test_units_are_one_stage_of_networks(tiny):
    cfg = experiment_config("head_to_head_mnist", SCALE)
    assert h2h.units(cfg) == [["net000", "net001", "net002"]]
    assert h2h.key_index(h2h.network_key(42)) == 42
    with pytest.raises(ValueError, match="not a network key"):
        h2h.compute_unit(cfg, "seed3")
    with pytest.raises(ValueError, match="not a unit"):
        h2h.compute_unit(cfg, "net003")


# -- compute_unit: pure and deterministic ---------------------------------------------------------
def test_compute_unit_twice_gives_identical_rows_and_writes_nothing(tiny):
    cfg = experiment_config("head_to_head_mnist", SCALE)
    a = h2h.compute_unit(cfg, "net001")
    b = h2h.compute_unit(cfg, "net001", device="cpu")
    assert numbers(a) == numbers(b)
    assert list(a) == list(b)
    assert a["index"] == 1 and a["seed"] == cfg["seed_base"] + 1
    assert all(isinstance(v, int | float | str) for v in a.values())  # plain Python values
    assert not tiny.exists()  # nothing written
    c = h2h.compute_unit(cfg, "net002")
    assert c["weights_sha256"] != a["weights_sha256"]  # another seed, another network
    primary = cfg["primary_weakness"]
    assert primary in a and family_of(primary) == "weakness"


# -- the study at (tiny) smoke scale --------------------------------------------------------------
def test_smoke_study_units_summary_analyse_claims(tiny):
    study = "head_to_head_mnist"
    cfg = experiment_config(study, SCALE)
    (keys,) = h2h.units(cfg)
    fill(study, keys[:-1])
    with pytest.raises(base.MissingResults, match=f"weakness-repro run {study} --scale smoke"):
        h2h.analyse(SCALE, dataset="mnist")
    table = fill(study, keys[-1:])

    # summarise: plain JSON whose round trip is exact
    summary = h2h.summarise(table.config, table.rows())
    text = json.dumps(summary, allow_nan=False)
    assert json.loads(text) == summary
    direct = h2h.statistics(table.to_frame(), base.typed(table.config))
    back = h2h.stats_from_json(json.loads(text))
    assert back["constant"] == direct["constant"] and list(back["tables"]) == list(direct["tables"])
    for target, t in direct["tables"].items():
        pd.testing.assert_frame_equal(back["tables"][target], t, check_exact=True)

    # analyse without a stored summary: computed in memory, nothing written
    before = snapshot(tiny)
    result = h2h.analyse(SCALE, dataset="mnist")
    assert snapshot(tiny) == before
    assert result["stats_source"] == "computed"
    assert (result["study"], result["claim_id"], result["dataset_label"]) == (study, "B6", "MNIST")
    assert len(result["frame"]) == len(keys)

    # the runner stores the summary beside the table; analyse reads it back
    table.write_summary(base.rows_digest(table.rows()), summary)
    stored = h2h.analyse(SCALE, dataset="mnist")
    assert stored["stats_source"] == "stored"
    assert same(stored["outcome"], result["outcome"])
    # a summary of other rows is stale: ignored, recomputed in memory
    edited = {k: v for k, v in table.get(keys[0]).items() if k != "key"}
    edited["test_acc"] += 1e-3
    table.put(keys[0], edited)
    assert h2h.analyse(SCALE, dataset="mnist")["stats_source"] == "computed"
    table.write_summary(base.rows_digest(table.rows()), h2h.summarise(table.config, table.rows()))
    stored = h2h.analyse(SCALE, dataset="mnist")
    assert stored["stats_source"] == "stored"

    (claim,) = h2h.claims(stored)
    assert claim.claim_id == "B6" and claim.verdict in VERDICTS
    assert claim.our_value == stored["outcome"]["rho"]
    assert claim.details["primary_weakness"] == cfg["primary_weakness"]
    assert claim.details["n_networks"] == len(keys)
    assert claim.provenance["tables"][0]["config_hash"] == table.hash
    assert claim.provenance["tables"][0]["units"] == len(keys)
    assert claim.verdict_rule == " ".join(h2h.claim_rule(study)["verdict_rule"].split())

    # what the chapter shows: the verdict and the values it quotes from the claim file
    assert len(report.overview(stored)) == 13
    record = json.loads(json.dumps(jsonable(asdict(claim))))  # as the runner writes it
    glued = report.glue_values(stored, record)
    assert glued["b6_n"] == len(keys) and glued["b6_verdict"] == claim.verdict
    assert glued["b6_rho"] == stored["outcome"]["rho"] and glued["b6_p"] == stored["outcome"]["p"]
    assert all(isinstance(v, int | float | str | bool) for v in glued.values())
    shown = report.verdict_markdown(stored, record)
    assert f"rule): {claim.verdict.replace('_', ' ')}.**" in shown
    assert "w1_tau" not in shown and "RAW" not in shown and "e-0" not in shown  # readers' words
    other = {**record, "verdict": "partially_reproduced" if claim.verdict != "partially_reproduced" else "reproduced"}
    assert f"rule): {other['verdict'].replace('_', ' ')}.**" in report.verdict_markdown(stored, other)  # read
    comp = stored["comparison"]
    assert list(comp["family"]) == ["weakness", "weakness (secondary)", "sharpness", "simplicity"]
    assert comp.loc[0, "measure"] == cfg["primary_weakness"]


def test_chapter_glue_keys_exist_and_differ_only_by_claim(tiny):
    fill("head_to_head_fmnist")
    result = h2h.analyse(SCALE, dataset="fashion_mnist")
    (claim,) = h2h.claims(result)
    keys = set(report.glue_values(result, json.loads(json.dumps(jsonable(asdict(claim))))))
    assert all(k.startswith("b7_") for k in keys)
    md = "".join("".join(c["source"]) for c in _cells("05_head_to_head_fmnist") if c["cell_type"] == "markdown")
    quoted = {part.split("`")[1].split(":")[0] for part in md.split("{glue:text}")[1:]}
    assert quoted and quoted <= keys
    import matplotlib

    matplotlib.use("Agg")
    fig = report.scatter(result)
    assert len(fig.axes) == 6 and result["dataset_label"] in fig._suptitle.get_text()


# -- statistics and sign conventions ---------------------------------------------------------------
def test_orientation_follows_the_registered_families():
    extra = measure_families()
    assert (family_of("lambda_max", extra), orientation_of("lambda_max", extra)) == ("sharpness", -1)
    assert orientation_of("pacbayes_sigma", extra) == 1  # higher σ* = flatter
    assert (family_of("lzma_bytes", extra), orientation_of("lzma_bytes", extra)) == ("simplicity", -1)
    w1 = column("w1", tau=0.01)
    assert (family_of(w1), orientation_of(w1)) == ("weakness", 1)
    assert orientation_of(column("frac_single", tau=0.01)) == -1
    assert family_of(column("w2") + "_wrong_vflip") == "control"


def test_column_names_match_the_stored_estimators():
    from weakness_lib.bennett.weakness import weakness_columns

    cols = weakness_columns(taus=(0.01,), deltas=(2.0,))
    assert column("w1", tau=0.01) in cols and column("w1", delta=2.0) in cols
    assert column("w2") in cols
    with pytest.raises(ValueError):
        column("w1", tau=0.01, delta=1.0)


def _synthetic(n=40, seed=0):
    rng = np.random.default_rng(seed)
    acc = rng.uniform(0.94, 0.96, n)
    df = pd.DataFrame({
        "test_acc": acc, "test_err": 1 - acc, "train_acc": np.ones(n), "gap_acc": 1 - acc,
        "train_loss": rng.uniform(1e-3, 2e-3, n), "test_loss": rng.uniform(0.2, 0.3, n),
        column("w1", tau=0.01): acc * 2,     # perfectly weakness-predictive
        "lambda_max": -acc,                  # sharper ⇒ worse: raw ρ = −1, oriented +1
        "lzma_bytes": rng.normal(size=n),
        column("w1", tau=0.1): np.zeros(n),  # constant: reported, not correlated
    })
    df["gap_loss"] = df["test_loss"] - df["train_loss"]
    return df


def _bootstrap(resamples: int) -> settings.HeadToHead:
    """The smoke settings of the MNIST head-to-head with ``resamples`` bootstrap resamples, seed 0."""
    return base.settings("head_to_head_mnist", SCALE).replace(bootstrap_resamples=resamples, bootstrap_seed=0)


def test_statistics_raw_and_oriented_signs():
    df = _synthetic()
    out = h2h.statistics(df, _bootstrap(200))
    t = out["tables"]["test_acc"].set_index("measure")
    w1, w1_const = column("w1", tau=0.01), column("w1", tau=0.1)
    assert t.loc[w1, "rho"] == pytest.approx(1.0)
    assert t.loc["lambda_max", "rho"] == pytest.approx(-1.0)
    assert t.loc["lambda_max", "rho_oriented"] == pytest.approx(1.0)
    assert w1_const in out["constant"] and w1_const not in t.index
    e = out["tables"]["test_err"].set_index("measure")
    assert e.loc[w1, "rho"] == pytest.approx(-1.0)
    assert (t["p_holm"] >= t["p"]).all()


@pytest.mark.parametrize("n", [3, 12])  # 3: degenerate bootstrap, no partial ρ; 12: partial ρ
def test_summary_json_round_trip_is_exact_with_nan(n):
    cfg = _bootstrap(50)
    df = _synthetic(n=n, seed=1)
    stats = h2h.statistics(df, cfg)
    data = h2h.summarise(cfg, df.to_dict("records"))
    assert data == h2h.stats_to_json(stats)
    t = stats["tables"]["test_acc"]
    t.loc[0, "ci_lo"] = t.loc[1, "rho"] = float("nan")  # NaN wherever it may occur
    data = h2h.stats_to_json(stats)
    text = json.dumps(data, allow_nan=False)  # strict JSON: NaN stored as null
    back = h2h.stats_from_json(json.loads(text))
    assert back["constant"] == stats["constant"]
    for target, t in stats["tables"].items():
        pd.testing.assert_frame_equal(back["tables"][target], t, check_exact=True)
    some_nan = any(t[c].isna().any() for t in stats["tables"].values() for c in t.columns)
    assert some_nan
    assert any(v is None for t in data["tables"].values() for col in t.values() for v in col)


# -- chapters 04/05 share everything but their parameters -------------------------------------------
def _cells(stem: str) -> list[dict]:
    return json.loads((NOTEBOOKS / f"{stem}.ipynb").read_text(encoding="utf-8"))["cells"]


def test_chapters_04_and_05_share_every_code_cell_but_the_parameters():
    from weakness_lib.publish.launch import MARK

    a = [c for c in _cells("04_head_to_head_mnist") if c["cell_type"] == "code"
         and not "".join(c["source"]).startswith(MARK)]
    b = [c for c in _cells("05_head_to_head_fmnist") if c["cell_type"] == "code"
         and not "".join(c["source"]).startswith(MARK)]
    assert "parameters" in a[0]["metadata"]["tags"] and "parameters" in b[0]["metadata"]["tags"]
    assert ["".join(c["source"]) for c in a[1:]] == ["".join(c["source"]) for c in b[1:]]
    pa, pb = "".join(a[0]["source"]), "".join(b[0]["source"])
    assert 'study = "head_to_head_mnist"' in pa and 'study = "head_to_head_fmnist"' in pb
    assert [x for x in pa.splitlines() if not x.startswith("study")] == [
        x for x in pb.splitlines() if not x.startswith("study")]
    for stem in ("04_head_to_head_mnist", "05_head_to_head_fmnist"):
        code = "\n".join("".join(c["source"]) for c in _cells(stem) if c["cell_type"] == "code")
        assert "progress" not in code and "chapter.load(study, scale, compute=compute)" in code
        for typed in ("0.374", "0.384", "0.226", "0.848", "0.05", column("w1", tau=0.01)):
            assert typed not in code, (stem, typed)


def test_fit_caveat_speaks_of_the_dataset_shown():
    def result(label, train_acc):
        return {"dataset_label": label, "frame": pd.DataFrame({"train_acc": train_acc})}

    mnist = report.fit_caveat(result("MNIST", [1.0, 1.0]))
    fmnist = report.fit_caveat(result("Fashion-MNIST", [0.89, 0.9]))
    assert "MNIST" in mnist and "Fashion" not in mnist and "reached 100 %" in mnist
    assert "Fashion-MNIST" in fmnist and "does not reach 100 %" in fmnist and "0.8950" in fmnist


def test_the_strongest_measure_is_checked_against_the_training_loss_confound():
    """Chapter 05's 'flatness predicts more strongly' is followed by whether it survives the partial
    ρ given the final training loss (second read: SAM's −0.754 falls to −0.145 given the loss)."""
    from weakness_lib.views import head_to_head as view

    sam = {"measure": "sam", "family": "sharpness", "rho": -0.754, "partial_rho": -0.145, "partial_p": 0.15}
    w2 = {"measure": "w2", "family": "weakness", "rho": 0.249, "partial_rho": 0.329, "partial_p": 8.8e-4}
    text = view._given_loss([sam, w2])
    assert "SAM sharpness falls to −0.145 (p = 0.15)" in text
    assert "the strongest is W2 (transformation compatibility), a weakness measure (+0.329" in text
    kept = view._given_loss([{**sam, "partial_rho": -0.6}, w2])
    assert kept == " Controlling for the final training loss, SAM sharpness still leads (partial ρ = −0.600)."
    assert view._given_loss([{**sam, "partial_rho": float("nan")}]) == ""
