"""The command-line interface: run/status/verify/book, bitwise verification and kill-resume."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from weakness_lib.cli import main, parser
from weakness_lib.core.bitwise import differences
from weakness_lib.engine import base


def test_help_documents_every_option(capsys):
    for command in ("run", "status", "verify", "book"):
        with pytest.raises(SystemExit):
            parser().parse_args([command, "--help"])
        out = capsys.readouterr().out
        for action in parser()._subparsers._group_actions[0].choices[command]._actions:
            if action.help and action.dest != "help":
                assert action.help.split()[0] in out


def test_differences_ignores_timings_and_finds_changes():
    a = {"key": "x", "v": 1.0, "hist": [{"loss": 0.5, "wall_s": 1}], "_wall_s": 3, "train_wall_s": 9}
    b = {"key": "x", "v": 1.0, "hist": [{"loss": 0.5, "wall_s": 2}], "_wall_s": 4, "train_wall_s": 1}
    assert differences(a, b) == []
    c = {**b, "hist": [{"loss": 0.5000000000000001, "wall_s": 2}]}
    assert differences(a, c) == [("hist[0].loss", 0.5, 0.5000000000000001)]


def test_unknown_study_is_one_clear_line_with_near_matches(capsys):
    assert main(["verify", "head_to_head_mnsit", "--scale", "smoke"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'" not in err and '"' not in err
    assert "unknown study head_to_head_mnsit; did you mean head_to_head_mnist" in err
    assert main(["run", "nope", "--scale", "smoke"]) == 2
    assert "unknown study nope;" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["0", "-3", "two"])
def test_verify_refuses_an_empty_or_negative_sample(bad, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["verify", "reparameterisation", "--sample", bad])
    assert exc.value.code == 2 and "--sample" in capsys.readouterr().err


def test_status_piped_into_head_has_no_broken_pipe_error(tmp_path):
    proc = subprocess.run(f"{sys.executable} -m weakness_lib.cli status | head -n 1", shell=True,
                          capture_output=True, text=True, timeout=120)
    assert proc.stdout.startswith("== scale") and "BrokenPipe" not in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_run_status_verify_pass_then_detect_tampering(isolated_results, capsys):
    assert main(["run", "reparameterisation", "--scale", "smoke", "--workers", "1", "--quiet"]) == 0
    assert "B1: " in capsys.readouterr().out
    assert main(["status", "--scale", "smoke"]) == 0
    assert "claim B1: " in capsys.readouterr().out
    assert main(["verify", "reparameterisation", "--scale", "smoke", "--sample", "3"]) == 0
    out = capsys.readouterr().out
    assert out.count("PASS") == 4 and "reproduced bit for bit, diagnostics included" in out
    assert out.count("bit for bit") == 4  # three units and the summary line
    # an unknown unit: one line with near matches
    assert main(["verify", "reparameterisation", "--scale", "smoke", "--unit", "layer1:0.25"]) == 2
    assert "no stored unit layer1:0.25; did you mean" in capsys.readouterr().err
    # tamper with one stored number: verify must fail on it (bitwise)
    table = base.table("reparameterisation", "smoke")
    original = table.path.read_text()

    def tampered(field: str, factor: float) -> int:
        data = json.loads(original)
        data["rows"]["identity:1"][field] *= factor
        table.path.write_text(json.dumps(data))
        return main(["verify", "reparameterisation", "--scale", "smoke", "--unit", "identity:1"])

    assert tampered("trace", 1 + 1e-15) == 1
    assert "trace" in capsys.readouterr().out
    # λ_max is compared within its registered relative tolerance (lanczos_tol), not bitwise
    tol = table.config["lanczos_tol"]
    assert tampered("lambda_max", 1 + 0.5 * tol) == 0
    out = capsys.readouterr().out
    assert "excused: lambda_max" in out and "within the tolerance" in out  # never called bitwise
    assert tampered("lambda_max", 1 + 2 * tol) == 1
    assert "lambda_max" in capsys.readouterr().out
    assert tampered("lanczos_hvps", 2) == 0  # a solver diagnostic, not a result



@pytest.mark.slow
def test_verify_all_checks_every_stored_table_and_names_those_that_differ(isolated_results,
                                                                                  capsys, monkeypatch):
    """``verify all``: what a session on a CPU without logs runs: each stored table in turn, a
    log each, one closing line; a table that differs is named and the exit status is 1."""
    from weakness_lib.core.cpu import cpu_family

    assert main(["verify", "all", "--scale", "smoke"]) == 2  # nothing stored: said, not passed
    out, err = capsys.readouterr()
    assert not out and err == "verify all: no table is stored at scale smoke; run it first\n"
    assert main(["verify", "all", "--scale", "smoke", "--unit", "identity:1"]) == 2
    assert "--unit names a unit of one study" in capsys.readouterr().err
    assert main(["run", "reparameterisation", "--scale", "smoke", "--workers", "1", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["verify", "all", "--scale", "smoke", "--sample", "2", "--log"]) == 0
    last = capsys.readouterr().out.rstrip().splitlines()[-1]
    folder = isolated_results / "results" / "smoke" / "verify" / cpu_family()
    assert last.startswith("verify all (smoke, on ") and last.endswith(f"; logs in {folder}")
    assert "1 of 1 stored tables pass, 2 unit(s) each" in last
    assert "verify: PASS" in (folder / "reparameterisation.txt").read_text(encoding="utf-8")
    table = base.table("reparameterisation", "smoke")
    data = json.loads(table.path.read_text())
    for row in data["rows"].values():  # every unit's numbers, so any sample sees the change
        row.update({k: v + 1.0 for k, v in row.items() if isinstance(v, float) and not k.endswith("_s")})
    table.path.write_text(json.dumps(data))
    assert main(["verify", "all", "--scale", "smoke", "--sample", "1"]) == 1
    last = capsys.readouterr().out.rstrip().splitlines()[-1]
    assert "0 of 1 stored tables pass" in last and last.endswith("; differ: reparameterisation")
    # a table verify refuses (other numerics, a stored config today's code rejects) is named too
    monkeypatch.setattr("weakness_lib.engine.verify.verify_study", lambda *a, **k: 2)
    assert main(["verify", "all", "--scale", "smoke", "--sample", "1"]) == 2
    assert capsys.readouterr().out.rstrip().endswith("; refused: reparameterisation")


@pytest.mark.slow
def test_verify_log_goes_under_the_scale_verified(isolated_results, capsys):
    """``verify --log`` of smoke tables writes results/smoke/verify/<family>/, not the full store;
    full-scale logs stay at results/full/verify/<family>/."""
    from weakness_lib.core.cpu import cpu_family
    from weakness_lib.engine.verify import log_path

    results = isolated_results / "results"
    assert log_path("theory", "full") == results / "full" / "verify" / cpu_family() / "theory.txt"
    assert main(["run", "reparameterisation", "--scale", "smoke", "--workers", "1", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["verify", "reparameterisation", "--scale", "smoke", "--sample", "1", "--log"]) == 0
    out = capsys.readouterr().out
    log = results / "smoke" / "verify" / cpu_family() / "reparameterisation.txt"
    assert out.rstrip().endswith(f"log: {log}")
    assert log.read_text(encoding="utf-8") == out[:out.rindex("log: ")]  # the output, as printed
    assert out.startswith("verify reparameterisation (smoke, ") and "verify: PASS" in out
    # the second line: which generation of the CPU (a virtual machine's brand hides it), as parsed
    from weakness_lib.core.cpu import signature
    from weakness_lib.views.verified import parse_log
    assert signature() is None or out.splitlines()[1] == f"  CPUID: {signature()}"
    assert parse_log(log.read_text(encoding="utf-8")).cpuid == signature()
    assert not (results / "full" / "verify").exists()


def test_verify_sample_on_an_empty_store_says_what_is_missing(isolated_results, capsys):
    """No comparable full-scale unit: the seed line, then one line on stderr, exit 2."""
    assert main(["verify-sample", "--seed", "7", "--units", "2"]) == 2
    captured = capsys.readouterr()
    assert captured.out.startswith("verify-sample: seed 7 (rerun: weakness-repro verify-sample "
                                   "--seed 7); 0 trained first-stage unit(s) of ≤ 25 s")
    err = captured.err.strip()
    assert err.count("\n") == 0 and "only 0 eligible unit(s), 2 asked for" in err


def _rows(results: Path) -> dict:
    (path,) = (results / "smoke" / "reparameterisation").glob("*.json")
    rows = json.loads(path.read_text())["rows"]
    return {k: {f: v for f, v in r.items() if not (f.startswith("_") or f.endswith("_s"))}
            for k, r in rows.items()}


@pytest.mark.slow
def test_killed_run_resumes_to_identical_results(tmp_path):
    """SIGKILL a smoke run mid-way, rerun it, and compare with an uninterrupted run."""
    cmd = [sys.executable, "-m", "weakness_lib.cli", "run", "reparameterisation", "--scale", "smoke", "--quiet",
           "--workers", "1"]
    env = {**os.environ, "WEAKNESS_RESULTS": str(tmp_path / "a"), "WEAKNESS_CACHE": str(tmp_path / "cache")}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    table_dir = tmp_path / "a" / "smoke" / "reparameterisation"
    deadline = time.time() + 120
    while time.time() < deadline:
        files = list(table_dir.glob("*.json"))
        if files and len(json.loads(files[0].read_text() or "{}").get("rows", {})) >= 3:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = _rows(tmp_path / "a")
    assert 3 <= len(partial) < 8, "the run must have been interrupted mid-way"
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    resumed = _rows(tmp_path / "a")
    env_b = {**env, "WEAKNESS_RESULTS": str(tmp_path / "b")}
    subprocess.run(cmd, env=env_b, check=True, capture_output=True)
    uninterrupted = _rows(tmp_path / "b")
    assert resumed == uninterrupted
    assert {k: resumed[k] for k in partial} == partial  # finished units were kept, not recomputed


def test_compare_detects_a_changed_unit(isolated_results, tmp_path, capsys):
    assert main(["run", "reparameterisation", "--scale", "smoke", "--workers", "1", "--quiet"]) == 0
    import shutil

    from weakness_lib.core.paths import results_root

    other = tmp_path / "other"
    shutil.copytree(results_root("smoke"), other / "smoke")
    assert main(["compare", str(other), "--scale", "smoke"]) == 0
    assert "bit-identical" in capsys.readouterr().out
    (path,) = (other / "smoke" / "reparameterisation").glob("*.json")
    data = json.loads(path.read_text())
    data["rows"]["identity:1"]["trace"] += 1e-12
    path.write_text(json.dumps(data))
    assert main(["compare", str(other), "--scale", "smoke"]) == 1
    assert "DIFFERENT" in capsys.readouterr().out


@pytest.mark.slow
def test_verify_refuses_a_stored_config_that_todays_settings_reject(isolated_results, capsys,
                                                                     monkeypatch):
    """A table is recomputed only under a config its study's typed settings accept: after a code
    change that adds a required setting (or drops one the table has), ``verify`` says so in one
    line naming the stored table and the key, and nothing is recomputed."""
    import dataclasses

    from weakness_lib.studies.bennett import reparameterisation as R

    assert main(["run", "reparameterisation", "--scale", "smoke", "--workers", "1", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["verify", "reparameterisation", "--scale", "smoke", "--sample", "1"]) == 0
    capsys.readouterr()
    newer = dataclasses.make_dataclass("Newer", [("new_knob", int, dataclasses.field(kw_only=True))],
                                       bases=(R.SETTINGS,), frozen=True)
    del_key = "hutchinson_probes"
    fields = [f for f in dataclasses.fields(R.SETTINGS) if f.name != del_key]
    older = dataclasses.make_dataclass(
        "Older", [(f.name, f.type, f) for f in fields], frozen=True, kw_only=True)
    older.__module__ = R.SETTINGS.__module__  # its annotations are names in the settings module
    for cls, says in ((newer, "missing key new_knob"), (older, f"unknown key {del_key}")):
        monkeypatch.setattr(R, "SETTINGS", cls)
        assert main(["verify", "reparameterisation", "--scale", "smoke", "--sample", "1"]) == 2
        captured = capsys.readouterr()
        err = captured.err.strip()
        assert err.count("\n") == 0 and "Traceback" not in err, err
        assert "verify: cannot recompute reparameterisation: stored config of" in err
        assert says in err and "PASS" not in captured.out


def test_verify_rules_are_declared_per_study_and_default_to_bitwise():
    """A study's ``VERIFY`` excuses what it names; a study without one compares every number."""
    from weakness_lib.engine.base import BITWISE, verify_rule
    from weakness_lib.engine.registry import STUDIES
    from weakness_lib.engine.settings import settings_class
    from weakness_lib.engine.verify import compare_row
    from weakness_lib.studies.bennett.common import LAMBDA_MAX_VERIFY

    stored = {"lambda_max": 10.0, "n_hvp": 40, "trace": 1.0}
    new = {"lambda_max": 10.0 * (1 + 1e-6), "n_hvp": 41, "trace": 1.0}
    cfg = {"lanczos_tol": 1e-5}
    assert compare_row(stored, new, cfg, LAMBDA_MAX_VERIFY) == ([], ["lambda_max", "n_hvp"])
    assert [d[0] for d in compare_row(stored, new, cfg, BITWISE)[0]] == ["lambda_max", "n_hvp"]
    assert [d[0] for d in compare_row(stored, new, {"lanczos_tol": 1e-7}, LAMBDA_MAX_VERIFY)[0]] \
        == ["lambda_max"]  # outside the config's tolerance
    # every study whose settings carry a λ_max tolerance declares it; the others are bitwise
    for name, spec in STUDIES.items():
        keys = {f.name for f in dataclasses.fields(settings_class(name))}
        expected = LAMBDA_MAX_VERIFY if "lanczos_tol" in keys else BITWISE
        assert verify_rule(spec.load()) == expected, name
