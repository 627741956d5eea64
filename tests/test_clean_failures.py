"""Bad inputs a newcomer tries give one clear line naming what to fix: no traceback, no log noise,
nothing lost. One test (or a few) per reported case:

1. a unit failing on the default Dask cluster; 2. cluster shutdown noise; 3. an unreachable
``--scheduler``; 4. ``compare`` on a truncated table; 5. ``1e-3`` in a config; 6. a config value of
the wrong kind or a missing key; 7. numpy scalars; 8. ``papermill -p scale 123``; 9. training that
ends at chance; 10. nonsense arguments to library calls; 11. an embedded cluster failing to start.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from weakness_lib.bennett.data import make_split
from weakness_lib.bennett.measures import hessian_trace, lambda_max
from weakness_lib.bennett.models import build_mlp
from weakness_lib.bennett.train import TrainConfig, TrainingAtChanceWarning, train
from weakness_lib.cli import main
from weakness_lib.core import config as C
from weakness_lib.core.checks import ArgumentError
from weakness_lib.core.paths import project_root
from weakness_lib.engine import executor as E
from weakness_lib.engine import settings as S
from weakness_lib.wen.twolayer import TwoLayerSpec
from weakness_lib.wen.xor import make_xor

ROOT = project_root()
TESTS = Path(__file__).resolve().parent
STUDIES = sorted(p.stem for p in (ROOT / "configs").glob("*.yaml"))


def cli(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    """``weakness-repro ARGS`` in a fresh process (what a user types), with ``env`` added."""
    return subprocess.run([sys.executable, "-m", "weakness_lib.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **env}, cwd=ROOT)


def one_line(stderr: str) -> str:
    """The only non-empty line of ``stderr`` (fails if there are more, or a traceback)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr and "Compute Failed" not in stderr, stderr
    assert len(lines) == 1, stderr
    return lines[0]


# -- 1, 2: a failing unit and shutting the cluster down, on Dask workers ----------------------------
def test_a_failing_unit_on_the_default_cluster_is_one_line(tmp_path):
    """Empty WEAKNESS_DATA, two Dask workers: only the runner's line, no worker log block."""
    (tmp_path / "empty").mkdir()
    proc = cli("run", "head_to_head_mnist", "--scale", "smoke", "--workers", "2", "--quiet",
               env={"WEAKNESS_RESULTS": str(tmp_path / "results"),
                    "WEAKNESS_DATA": str(tmp_path / "empty"), "WEAKNESS_CACHE": str(tmp_path / "cache")})
    assert proc.returncode == 2
    line = one_line(proc.stderr)
    assert line.startswith("weakness-repro: error: head_to_head_mnist: unit net")
    assert "WEAKNESS_DATA" in line and str(tmp_path / "empty") in line and "rerun to resume" in line


@pytest.fixture
def toy_on_path(monkeypatch):
    """The runner's toy study importable here and on spawned Dask workers."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.syspath_prepend(str(TESTS))
    from fixtures.toy_study import Settings

    from weakness_lib.core.settings import build

    return build(Settings, {"experiment": "toy", "scale": "smoke", "seed": 7, "steps": 1, "n_units": 1},
                 where="the toy's config")


def test_workers_log_neither_failed_units_nor_their_shutdown(toy_on_path, monkeypatch, capfd):
    """A unit that raises comes back as its exception (the runner reports it in one line); the
    workers print nothing, neither the failure nor anything while the cluster shuts down."""
    monkeypatch.setenv("TOY_FAIL_ON", "broken")
    ex = E.Executor(workers=2)
    try:
        ex.submit("ok", "fixtures.toy_study", toy_on_path, "fit", "cpu")
        ex.submit("bad", "fixtures.toy_study", toy_on_path, "broken", "cpu")
        outcomes = dict(ex.completed())
    finally:
        ex.close()
    assert outcomes["ok"][0] == "fit" and "toy failure in broken" in str(outcomes["bad"])
    time.sleep(1)  # anything a closing worker process would still print
    err = capfd.readouterr().err
    assert "Compute Failed" not in err and "Traceback" not in err and "Error" not in err, err


def test_shutdown_noise_is_silenced_only_while_closing():
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    keep = Keep()
    loggers = [logging.getLogger(n) for n in ("distributed.worker", "distributed.comm.tcp",
                                              "tornado.application", "asyncio")]
    for lg in loggers:
        lg.addHandler(keep)
    try:
        with E._quiet():
            for lg in loggers:
                lg.error("CommClosedError during heartbeat")
        assert seen == []
        loggers[0].error("after close")
        assert seen == ["after close"]
    finally:
        for lg in loggers:
            lg.removeHandler(keep)


def test_a_worker_drops_failed_task_logs_always_and_other_logs_only_while_closing():
    class Status:
        def __init__(self, name):
            self.name = name

    class Worker:
        status = Status("running")

    worker = Worker()
    noise = E._DropNoise(worker)

    def record(msg: str) -> logging.LogRecord:
        return logging.LogRecord("distributed.worker", logging.ERROR, __file__, 1, msg, None, None)

    assert not noise.filter(record("Compute Failed\nKey: x"))
    assert noise.filter(record("Failed to communicate with scheduler during heartbeat."))
    worker.status = Status("closing")
    assert not noise.filter(record("Failed to communicate with scheduler during heartbeat."))


# -- 3, 11: an unreachable scheduler, a cluster that does not start --------------------------------
@pytest.mark.parametrize("how", ["flag", "env"])
def test_an_unreachable_scheduler_fails_fast_naming_the_option_and_address(tmp_path, how):
    env = {"WEAKNESS_RESULTS": str(tmp_path / "results"), E.SCHEDULER_TIMEOUT_ENV: "2"}
    args = ["run", "wen_scenario_1", "--scale", "smoke", "--quiet"]
    if how == "flag":
        args += ["--scheduler", "tcp://127.0.0.1:1"]
    else:
        env["WEAKNESS_SCHEDULER"] = "tcp://127.0.0.1:1"
    start = time.perf_counter()
    proc = cli(*args, env=env)
    assert time.perf_counter() - start < 60
    assert proc.returncode == 2
    line = one_line(proc.stderr)
    assert "--scheduler/WEAKNESS_SCHEDULER tcp://127.0.0.1:1: no Dask scheduler answered within 2 s" in line
    assert E.SCHEDULER_TIMEOUT <= 10  # the default: fails fast, not after distributed's 30 s


def test_a_cluster_that_fails_to_start_is_one_line_suggesting_workers_1(tmp_path, monkeypatch, capsys):
    import dask
    import dask.distributed

    seen = {}

    def failing_cluster(**kwargs):
        seen["connect"] = dask.config.get("distributed.comm.timeouts.connect")
        seen["preload"] = kwargs.get("preload")
        raise OSError("Timed out trying to connect to tcp://127.0.0.1:40000 after 30 s")

    monkeypatch.setattr(dask.distributed, "LocalCluster", failing_cluster)
    monkeypatch.setenv("WEAKNESS_RESULTS", str(tmp_path / "results"))
    assert main(["run", "wen_scenario_1", "--scale", "smoke", "--quiet", "--workers", "2"]) == 2
    out = capsys.readouterr()
    line = one_line(out.err)
    assert line.startswith("weakness-repro: error: cluster start-up failed: 2 local Dask workers")
    assert "try --workers 1" in line and "WEAKNESS_CLUSTER_TIMEOUT" in line
    # patient on a slow machine: start-up connections may take the cluster timeout, not 30 s
    assert seen == {"connect": f"{E.CLUSTER_TIMEOUT}s", "preload": [E.__name__]}
    assert E.CLUSTER_TIMEOUT >= 60


def test_a_bad_timeout_variable_names_itself(monkeypatch):
    monkeypatch.setenv(E.CLUSTER_TIMEOUT_ENV, "soon")
    with pytest.raises(ValueError, match="WEAKNESS_CLUSTER_TIMEOUT must be a positive number of "
                                         "seconds, got 'soon'"):
        E._seconds(E.CLUSTER_TIMEOUT_ENV, E.CLUSTER_TIMEOUT)


# -- 4: compare on a truncated table -----------------------------------------------------------------
def test_compare_names_a_truncated_table(tmp_path):
    (src,) = (ROOT / "results" / "full" / "invariance_audit").glob("*.json")
    for side in ("mine", "other"):
        (tmp_path / side / "full" / "invariance_audit").mkdir(parents=True)
        shutil.copy(src, tmp_path / side / "full" / "invariance_audit" / src.name)
    bad = tmp_path / "other" / "full" / "invariance_audit" / src.name
    bad.write_bytes(src.read_bytes()[:20000])
    proc = cli("compare", str(tmp_path / "other"), env={"WEAKNESS_RESULTS": str(tmp_path / "mine")})
    assert proc.returncode == 2
    line = one_line(proc.stderr)
    assert str(bad) in line and "is not valid JSON" in line and "truncated?" in line
    shutil.copy(src, bad)  # intact again: identical
    proc = cli("compare", str(tmp_path / "other"), env={"WEAKNESS_RESULTS": str(tmp_path / "mine")})
    assert proc.returncode == 0 and "bit-identical" in proc.stdout


# -- 5, 6: configs: exponent floats, kinds and missing keys ------------------------------------------
def test_exponent_floats_are_floats():
    data = C.yaml_load("a: 1e-3\nb: 1.0e4\nc: -2E+5\nd: 1.0e-3\ne: '1e-3'\nf: 7\ng: v1e3\n")
    assert data == {"a": 1e-3, "b": 1e4, "c": -2e5, "d": 1e-3, "e": "1e-3", "f": 7, "g": "v1e3"}
    assert all(type(data[k]) is float for k in "abcd") and type(data["f"]) is int


@pytest.mark.parametrize("study", STUDIES)
def test_the_loader_keeps_every_registered_settings_hash(study):
    """The registered configs read the same with the new loader: same settings, same hash (the
    full-scale one names the committed table)."""
    text = (ROOT / "configs" / f"{study}.yaml").read_text(encoding="utf-8")
    assert C.yaml_load(text) == yaml.safe_load(text)
    for scale in ("smoke", "full"):
        cfg = C.experiment_config(study, scale)
        plain = yaml.safe_load(text)
        ref = {**C.scale_config(plain, scale), "experiment": study, "scale": scale}
        if plain.get("free_text"):
            ref["free_text"] = sorted(plain["free_text"])
        assert C.settings_hash(cfg) == C.settings_hash(ref)
    tables = ROOT / "results" / "full" / study
    if tables.is_dir():
        assert (tables / f"{C.settings_hash(C.experiment_config(study, 'full'))}.json").exists()


def test_a_user_config_with_exponent_floats_loads(user_configs, edit):
    edit(user_configs / "head_to_head_mnist.yaml", "  train:\n    optimizer: sgd\n    lr: 0.05\n    "
         "momentum: 0.9\n    batch_size: 64\n    epochs: 5", "  train:\n    optimizer: sgd\n    "
         "lr: 1e-3\n    momentum: 0.9\n    batch_size: 64\n    epochs: 5")
    cfg = C.experiment_config("head_to_head_mnist", "smoke")
    assert cfg["train"]["lr"] == 1e-3 and TrainConfig(**cfg["train"]).lr == 1e-3
    assert S.load("head_to_head_mnist", "smoke").train.lr == 1e-3


@pytest.mark.parametrize(("old", "new", "message"), [
    ("  n_train: 500\n", '  n_train: "600"\n', "n_train must be an integer, got '600'"),
    ("  curvature_batch: 128\n", "", "missing key curvature_batch"),
    ("    lr: 0.05\n    momentum: 0.9\n    batch_size: 64\n    epochs: 5\n",
     "    lr: fast\n    momentum: 0.9\n    batch_size: 64\n    epochs: 5\n",
     "train.lr must be a number, got 'fast'"),
    ("  widths: [784, 32, 32, 10]\n", "  widths: 32\n", "widths must be a list, got 32"),
])
def test_a_config_value_of_the_wrong_kind_names_the_file_and_key(user_configs, edit, old, new, message):
    path = user_configs / "head_to_head_mnist.yaml"
    if old == "  curvature_batch: 128\n":  # registered twice (common and smoke): drop both
        edit(path, "  curvature_batch: 512 ", "  # ")
    edit(path, old, new)
    with pytest.raises(C.ConfigError) as exc:
        S.load("head_to_head_mnist", "smoke")
    assert str(exc.value) == f"{path}: {message} (scale smoke)"


def test_the_cli_reports_a_bad_config_in_one_line(user_configs, edit):
    edit(user_configs / "head_to_head_mnist.yaml", "  n_train: 500\n", '  n_train: "600"\n')
    proc = cli("run", "head_to_head_mnist", "--scale", "smoke", "--workers", "1", "--quiet",
               env={"WEAKNESS_CONFIGS": os.environ["WEAKNESS_CONFIGS"],
                    "WEAKNESS_RESULTS": os.environ["WEAKNESS_RESULTS"]})
    assert proc.returncode == 2
    assert one_line(proc.stderr) == (f"weakness-repro: error: {user_configs}/head_to_head_mnist.yaml: "
                                     "n_train must be an integer, got '600' (scale smoke)")


def test_a_config_edited_at_one_scale_is_checked_at_that_scale(user_configs, edit):
    """A number written as text, or a key missing at one scale, is caught at that scale; a
    keyword where the study's settings allow one (theory's recreation_trials: all) is not."""
    for study in STUDIES:
        for scale in ("smoke", "full"):
            S.load(study, scale)
    path = user_configs / "head_to_head_mnist.yaml"
    edit(path, "  n_train: 500\n", '  n_train: "600"\n')
    with pytest.raises(C.ConfigError, match=r"head_to_head_mnist.yaml: n_train must be an integer, "
                                            r"got '600' \(scale smoke\)"):
        S.load("head_to_head_mnist", "smoke")
    S.load("head_to_head_mnist", "full")  # the full block is fine
    edit(path, '  n_train: "600"\n', "")
    with pytest.raises(C.ConfigError, match="missing key n_train"):
        S.load("head_to_head_mnist", "smoke")


def test_invalid_yaml_is_one_line(user_configs, edit):
    edit(user_configs / "theory.yaml", "claims:", "claims: [")
    with pytest.raises(C.ConfigError) as exc:
        C.experiment_config("theory", "smoke")
    assert "\n" not in str(exc.value) and "theory.yaml is not valid YAML at line" in str(exc.value)


# -- 7: numpy scalars --------------------------------------------------------------------------------
def test_numpy_scalars_are_numbers():
    cfg = TrainConfig(epochs=np.int64(5), lr=np.float32(0.1), batch_size=np.int32(16),
                      max_steps=np.int64(3), stop_train_loss=np.float64(0.01))
    assert (cfg.epochs, cfg.batch_size, cfg.max_steps) == (5, 16, 3)
    assert type(cfg.epochs) is int and type(cfg.lr) is float and cfg.lr == float(np.float32(0.1))
    assert json.loads(json.dumps(cfg.to_dict()))["epochs"] == 5
    assert TrainConfig(lr=1).lr == 1 and type(TrainConfig(lr=1).lr) is int  # builtins untouched
    model = build_mlp(np.array([5, 4, 3]), seed=np.int64(0))
    assert model.widths == (5, 4, 3) and all(type(w) is int for w in model.widths)
    ref = build_mlp([5, 4, 3], seed=0)
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), ref.parameters()))
    spec = TwoLayerSpec("bias", d=np.int64(20), width=np.int32(8), ln_eps=np.float32(1e-4))
    assert (spec.d, spec.width) == (20, 8) and type(spec.d) is int and type(spec.ln_eps) is float


def test_a_numpy_seed_trains_bit_identically(tiny_batch):
    X, y = tiny_batch
    cfg = TrainConfig(lr=0.1, epochs=2, batch_size=8)
    a = train(build_mlp((5, 4, 3), seed=0).double(), X, y, cfg, seed=np.int64(3)).model
    b = train(build_mlp((5, 4, 3), seed=0).double(), X, y, cfg, seed=3).model
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


# -- 8: the chapters' scale parameter ----------------------------------------------------------------
def test_a_chapter_scale_that_is_not_smoke_or_full_is_one_line():
    from weakness_lib.core.claims import load_claims
    from weakness_lib.publish import rerun
    from weakness_lib.views import chapter

    for call in (lambda: rerun.box_html("01_reparameterisation", 123),
                 lambda: chapter.load("reparameterisation", 123),
                 lambda: chapter.load("reparameterisation", "Full"),
                 lambda: load_claims(123)):
        with pytest.raises(ValueError) as exc:
            call()
        assert str(exc.value).startswith("scale must be 'smoke' or 'full', got ")
    with pytest.raises(ValueError, match="compute must be True or False, got 'yes'"):
        chapter.load("reparameterisation", "full", compute="yes")


@pytest.mark.slow
def test_papermill_with_a_numeric_scale_says_so_in_one_line(tmp_path):
    import papermill
    from papermill.exceptions import PapermillExecutionError

    with pytest.raises(PapermillExecutionError) as exc:
        papermill.execute_notebook(str(ROOT / "notebooks" / "01_reparameterisation.ipynb"),
                                   str(tmp_path / "out.ipynb"), parameters={"scale": 123},
                                   kernel_name="python3", cwd=str(ROOT / "notebooks"),
                                   progress_bar=False)
    assert exc.value.ename == "ScaleError" and "AttributeError" not in str(exc.value)
    assert exc.value.traceback == ["ScaleError: scale must be 'smoke' or 'full', got 123"]


# -- 9: training that ends at chance -----------------------------------------------------------------
def test_training_that_ends_at_chance_warns_once_naming_lr_and_accuracy():
    gen = torch.Generator().manual_seed(0)
    X, y = torch.rand(512, 784, generator=gen), torch.arange(512) % 10
    with pytest.warns(TrainingAtChanceWarning) as rec:
        res = train(build_mlp((784, 32, 10), seed=0), X, y, TrainConfig(lr=50.0, epochs=2), seed=0)
    assert res.at_chance and res.final_train_acc <= 0.15  # no exception: the 100× rule is unchanged
    (w,) = [r for r in rec if r.category is TrainingAtChanceWarning]
    assert "\n" not in str(w.message)
    assert "lr=50.0" in str(w.message) and f"train accuracy {res.final_train_acc:.3f}" in str(w.message)


def test_training_that_learns_is_not_at_chance():
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(300, 20, generator=gen)
    y = (X @ torch.randn(20, 3, generator=gen)).argmax(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainingAtChanceWarning)
        res = train(build_mlp((20, 16, 3), seed=0), X, y, TrainConfig(lr=0.05, epochs=3, batch_size=32),
                    seed=0)
    assert not res.at_chance and res.final_train_acc > 0.5


# -- 10: nonsense arguments to library calls ---------------------------------------------------------
@pytest.fixture
def net_and_batch():
    gen = torch.Generator().manual_seed(1)
    X = torch.randn(16, 5, generator=gen, dtype=torch.float64)
    return build_mlp((5, 4, 3), seed=0).double(), X, torch.randint(0, 3, (16,), generator=gen)


@pytest.mark.parametrize(("call", "names"), [
    (lambda nb: TwoLayerSpec("bias", d=20.5), "TwoLayerSpec: d must be a whole number ≥ 1, got 20.5"),
    (lambda nb: TwoLayerSpec("bias", d="20"), "TwoLayerSpec: d must be a whole number ≥ 1, got '20'"),
    (lambda nb: TwoLayerSpec("bias", d=20, width="8"), "TwoLayerSpec: width must be"),
    (lambda nb: TwoLayerSpec("simln", d=20, ln_eps="1e-4"), "TwoLayerSpec: ln_eps must be"),
    (lambda nb: make_xor(d="30"), "make_xor: d must be a whole number, got '30'"),
    (lambda nb: make_xor(n_train=100.0), "make_xor: n_train must be a whole number, got 100.0"),
    (lambda nb: make_xor(seed="0"), "make_xor: seed must be a whole number, got '0'"),
    (lambda nb: hessian_trace("model", nb[1], nb[2]), "model_or_hvp must be a torch nn.Module"),
    (lambda nb: hessian_trace(*nb, n_probes="10"), "hessian_trace: n_probes must be a whole number"),
    (lambda nb: lambda_max(nb[0], nb[1], nb[2].double()), "y must hold integer class labels"),
    (lambda nb: lambda_max(nb[0], nb[1].tolist(), nb[2]), "X must be a torch.Tensor, got list"),
    (lambda nb: lambda_max(*nb, tol="1e-3"), "lambda_max: tol must be a positive finite number"),
    (lambda nb: lambda_max(*nb, seed="0"), "lambda_max: seed must be a whole number, got '0'"),
    (lambda nb: make_split(torch.arange(100) % 10, "20", 10, 0), "make_split: n_train must be"),
    (lambda nb: make_split("0123456789", 2, 1, 0), "make_split: labels must be a 1-D tensor"),
    (lambda nb: make_split(torch.arange(100.0), 2, 1, 0), "labels must be a 1-D tensor or array of "
                                                          "integer class labels, got Tensor of dtype "
                                                          "torch.float32"),
    (lambda nb: train(nb[0], nb[1], nb[2], TrainConfig(epochs=1), seed="0"),
     "train: seed must be a whole number, got '0'"),
    (lambda nb: train(nb[0], nb[1], nb[2], {"lr": 0.1}, seed=0), "config must be a TrainConfig"),
    (lambda nb: build_mlp(784), "widths must be a sequence"),
    (lambda nb: build_mlp((5, 3), seed="0"), "seed must be an integer or None, got '0'"),
])
def test_nonsense_arguments_are_one_line_naming_the_argument(net_and_batch, call, names):
    with pytest.raises((TypeError, ValueError)) as exc:
        call(net_and_batch)
    assert names in str(exc.value) and "\n" not in str(exc.value)
    if isinstance(exc.value, ArgumentError):  # both kinds: callers may catch either
        assert isinstance(exc.value, TypeError) and isinstance(exc.value, ValueError)
