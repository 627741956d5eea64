"""The command-line interface: run/status/verify/book, bitwise verification and kill-resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from weakness_lib.cli import differences, main, parser
from weakness_lib.studies import registry


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


def test_unknown_experiment_is_a_clear_error(capsys):
    assert main(["verify", "nope", "--scale", "smoke"]) == 2
    assert "unknown experiment 'nope'" in capsys.readouterr().err


@pytest.mark.slow
def test_run_status_verify_pass_then_detect_tampering(isolated_results, capsys):
    assert main(["run", "reparameterisation", "--scale", "smoke", "--quiet"]) == 0
    assert "B1: " in capsys.readouterr().out
    assert main(["status", "--scale", "smoke"]) == 0
    assert "claim B1: " in capsys.readouterr().out
    assert main(["verify", "reparameterisation", "--scale", "smoke", "--sample", "3"]) == 0
    out = capsys.readouterr().out
    assert out.count("PASS") == 4 and "bit for bit" in out
    # tamper with one stored number: verify must fail on it
    table = registry.get("reparameterisation").tables("smoke")[0]
    data = json.loads(table.path.read_text())
    data["rows"]["identity:1"]["lambda_max"] *= 1 + 1e-15
    table.path.write_text(json.dumps(data))
    assert main(["verify", "reparameterisation", "--scale", "smoke", "--sample", "99"]) == 1
    assert "lambda_max" in capsys.readouterr().out


def _rows(results: Path) -> dict:
    (path,) = (results / "smoke" / "reparameterisation").glob("*.json")
    rows = json.loads(path.read_text())["rows"]
    return {k: {f: v for f, v in r.items() if not (f.startswith("_") or f.endswith("_s"))}
            for k, r in rows.items()}


@pytest.mark.slow
def test_killed_run_resumes_to_identical_results(tmp_path):
    """SIGKILL a smoke run mid-way, rerun it, and compare with an uninterrupted run."""
    cmd = [sys.executable, "-m", "weakness_lib.cli", "run", "reparameterisation", "--scale", "smoke", "--quiet"]
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
    assert main(["run", "reparameterisation", "--scale", "smoke", "--quiet"]) == 0
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
