"""Typed study settings (issue 16, part 2): one validated object per study and scale, defaults in
one place, one line naming the file and the key for a wrong type, an unknown or a missing key (in
the library and in the CLI), and table identities that typing cannot change."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest

from weakness_lib.cli import main
from weakness_lib.core import config as C
from weakness_lib.core.paths import project_root
from weakness_lib.core.settings import StudySettings, build, pick
from weakness_lib.engine import base, registry
from weakness_lib.engine import settings as S
from weakness_lib.studies.bennett.settings import Family, Sampling
from weakness_lib.studies.wen.settings import Run

ROOT = project_root()
H2H = "head_to_head_mnist"


BAD = [  # (old text, new text, the message after the file name)
    ("  n_train: 500\n", '  n_train: "600"\n', "n_train must be an integer, got '600'"),
    ("  n_train: 500\n", "  n_train: 500\n  n_trian: 600\n", "unknown key n_trian"),
    ("  n_networks: 4\n", "", "missing key n_networks"),
    ("    epochs: 5\n", "    epochs: 5\n    epoch: 6\n", "unknown key train.epoch"),
    ("    lr: 0.05\n    momentum: 0.9\n    batch_size: 64\n    epochs: 5\n",
     "    lr: '1e-3'\n    momentum: 0.9\n    batch_size: 64\n    epochs: 5\n",
     "train.lr must be a number, got '1e-3'"),
]


@pytest.mark.parametrize(("old", "new", "message"), BAD)
def test_a_bad_config_is_one_line_naming_file_and_key(user_configs, edit, old, new, message):
    path = user_configs / f"{H2H}.yaml"
    edit(path, old, new)
    with pytest.raises(C.ConfigError) as exc:
        S.load(H2H, "smoke")
    assert str(exc.value) == f"{path}: {message} (scale smoke)"
    with pytest.raises(C.ConfigError):  # the table is found through the same settings
        base.table(H2H, "smoke")


@pytest.mark.parametrize(("old", "new", "message"), BAD[:3])
def test_the_cli_prints_a_bad_config_in_one_line(user_configs, edit, capsys, old, new, message):
    path = user_configs / f"{H2H}.yaml"
    edit(path, old, new)
    assert main(["run", H2H, "--scale", "smoke", "--workers", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err == f"weakness-repro: error: {path}: {message} (scale smoke)\n"


def test_the_installed_command_prints_a_bad_config_in_one_line(user_configs, edit):
    path = user_configs / "wen_scenario_1.yaml"
    edit(path, "  d: 30\n", "  d: 30\n  depth: 2\n")
    proc = subprocess.run(
        [sys.executable, "-m", "weakness_lib.cli", "run", "wen_scenario_1", "--scale", "smoke",
         "--workers", "1", "--quiet"], capture_output=True, text=True, timeout=300,
        env={**os.environ}, cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"weakness-repro: error: {path}: unknown key depth (scale smoke)"]


@pytest.mark.parametrize("name", list(registry.STUDIES))
@pytest.mark.parametrize("scale", ["smoke", "full"])
def test_every_committed_config_validates_and_keeps_its_table(name, scale):
    """Typing reads the same mapping the store always hashed: the table id is unchanged."""
    s = S.load(name, scale)
    assert isinstance(s, registry.get(name).load().SETTINGS)
    assert s.config == C.experiment_config(name, scale)
    assert base.table(name, scale).hash == C.settings_hash(C.experiment_config(name, scale))
    assert S.load(name, scale) is s  # built once per registration file
    for claim in registry.get(name).claims:  # thresholds come from the same object
        assert s.rule(claim) == C.load_registration(name)["claims"][claim]
        assert base.rule(name, claim, scale) == s.rule(claim)


def test_defaults_apply_in_one_place():
    audit = S.load("invariance_audit", "smoke")  # registers no SAM radius or PAC-Bayes draws
    assert (audit.sam_rho, audit.pacbayes_draws, audit.pacbayes_bisect) == (None, None, None)
    assert "sam_rho" not in audit.config  # the default is never written into the hashed config
    assert S.load(H2H, "smoke").probe_source == "train"
    assert S.load(H2H, "smoke").curvature_pool is None
    runs = S.load("wen_scenario_1", "smoke").runs
    assert {r.init_scale for r in runs.values()} == {1.0}
    assert pick(Run, {"arch": "simln", "algorithm": "sgd", "phases": [], "extra": 1}).width is None
    assert pick(Sampling, {"split_seed": 3}).probe_source == "train"


def test_numpy_scalars_are_numbers():
    s = S.load(H2H, "smoke", overrides={"n_train": np.int64(600), "sam_rho": np.float32(0.25)})
    assert type(s.n_train) is int and s.n_train == 600 and type(s.sam_rho) is float
    assert S.load(H2H, "smoke") is not s  # overrides never enter the cache
    m = pick(Family, {"curvature_batch": np.int32(8), "lanczos_tol": 1e-3, "hutchinson_probes": 2,
                      "curvature_seed": np.int64(0), "pacbayes_draws": np.int16(4)})
    assert (type(m.curvature_batch), type(m.pacbayes_draws), m.sam_rho) == (int, int, None)


def test_builtin_values_are_kept_as_written():
    s = S.load(H2H, "smoke", overrides={"sam_rho": 1})  # an integer where a number is expected
    assert type(s.sam_rho) is int and s.config["sam_rho"] == 1


def test_a_stored_config_is_typed_with_its_registration():
    t = base.table("wen_scenario_2", "smoke")
    s = S.of("wen_scenario_2", t.config, where=str(t.path))
    assert s.config == t.config and s.rule("WLM-II") == S.load("wen_scenario_2", "smoke").rule("WLM-II")
    with pytest.raises(C.ConfigError, match=r"stored\.json: missing key d \(scale smoke\)"):
        S.of("wen_scenario_2", {k: v for k, v in t.config.items() if k != "d"}, where="stored.json")


def test_build_names_nested_and_listed_keys():
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Toy(StudySettings):
        sizes: list[int]
        runs: dict[str, Run]
        mode: int | str = 1

    base_cfg = {"experiment": "toy", "scale": "smoke", "sizes": [1, 2], "runs": {}}
    assert build(Toy, {**base_cfg, "mode": "all"}, where="toy.yaml").mode == "all"
    for bad, message in [({"sizes": [1, "2"]}, "sizes[1] must be an integer, got '2'"),
                         ({"runs": {"a": {"arch": "x"}}}, "missing key runs.a.algorithm"),
                         ({"mode": 1.5}, "mode must be an integer or a string, got 1.5"),
                         ({"note": 3}, None)]:  # free text is never checked
        if message is None:
            build(Toy, {**base_cfg, **bad}, where="toy.yaml")
            continue
        with pytest.raises(C.ConfigError) as exc:
            build(Toy, {**base_cfg, **bad}, where="toy.yaml")
        assert str(exc.value) == f"toy.yaml: {message} (scale smoke)"


def test_studies_read_typed_settings_whatever_they_are_given():
    """The engine passes the typed object; a study's entry point turns a plain mapping (a stored
    table's config, a test's) into the same object, once per distinct mapping."""
    s = S.load(H2H, "smoke")
    assert base.typed(s) is s
    from_mapping = base.typed(s.config)
    assert from_mapping.config == s.config and from_mapping.n_networks == s.n_networks
    assert base.typed(dict(s.config)) is from_mapping  # checked once per distinct mapping
    assert from_mapping.rule("B6") == s.rule("B6")
    with pytest.raises(C.ConfigError, match="n_networks must be an integer"):
        base.typed({**s.config, "n_networks": "3"})
    with pytest.raises(ValueError, match="must name its study"):
        base.typed({"n_networks": 3})
    from weakness_lib.studies.bennett import head_to_head as h2h

    assert h2h.units(s.config) == h2h.units(s)


def test_replace_checks_the_change_and_keeps_config_and_claims():
    s = S.load(H2H, "smoke")
    r = s.replace(n_networks=5, bootstrap_seed=3)
    assert (r.n_networks, r.bootstrap_seed) == (5, 3) and s.n_networks != 5
    assert r.config == {**s.config, "n_networks": 5, "bootstrap_seed": 3}
    assert r.claims == s.claims and type(r) is type(s)
    assert dataclasses.replace(s, n_networks=5).__dict__.get("_config") is None  # why replace exists
    with pytest.raises(C.ConfigError, match="n_networks must be an integer, got 'five'"):
        s.replace(n_networks="five")
    with pytest.raises(C.ConfigError, match="unknown key n_netwroks"):
        s.replace(n_netwroks=5)
