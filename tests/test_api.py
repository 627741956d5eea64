"""The public API (``weakness_lib.api``, reached from the package): the names are the library's own
functions, ``measure`` gives the book's numbers bit for bit, generic measures run on a CNN while
MLP-only ones refuse it in one line, a rescaling keeps f and moves λ_max, one version source."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import tomllib

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import weakness_lib as wl
from weakness_lib import api
from weakness_lib.bennett import measures, reparam, weakness
from weakness_lib.bennett.models import MLP, build_mlp
from weakness_lib.core.checks import ArgumentError
from weakness_lib.core.paths import project_root
from weakness_lib.wen import constructions, twolayer, xor


def _fit(model: nn.Module, X: torch.Tensor, y: torch.Tensor, steps: int = 60) -> nn.Module:
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(X), y).backward()
        opt.step()
    return model


@pytest.fixture(scope="module")
def mlp():
    """A tiny float64 ReLU MLP on 784 pixels in [0, 1], briefly trained, with a probe set."""
    g = torch.Generator().manual_seed(0)
    X = torch.rand(48, 784, generator=g, dtype=torch.float64)
    y = (X[:, :392].mean(1) > X[:, 392:].mean(1)).long() + 2 * (X[:, 0] > 0.5).long()
    probe = torch.rand(40, 784, generator=g, dtype=torch.float64)
    return _fit(build_mlp((784, 8, 6, 4), seed=1).double(), X, y), X, y, probe


@pytest.fixture(scope="module")
def cnn():
    """A tiny CNN taking images [N, 1, 12, 12] (no flattening inside), briefly trained."""
    g = torch.Generator().manual_seed(1)
    X = torch.rand(32, 1, 12, 12, generator=g)
    y = (X[:, 0, :6].mean((1, 2)) > X[:, 0, 6:].mean((1, 2))).long()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(75, 2))
    return _fit(model, X, y), X, y


def test_public_names_are_the_librarys_own_functions():
    assert set(wl._API) == set(api.__all__) and set(wl.__all__) == {"__version__", *api.__all__}
    assert set(wl.__all__) <= set(dir(wl))
    same = {"lambda_max": measures.lambda_max, "hessian_trace": measures.hessian_trace,
            "sam_sharpness": measures.sam_sharpness, "pacbayes_flatness": measures.pacbayes_flatness,
            "adaptive_sharpness": measures.adaptive_sharpness, "rescale": reparam.rescale,
            "rescale_layer": reparam.rescale_layer, "rescale_chain": reparam.rescale_chain,
            "build_mlp": build_mlp, "MLP": MLP, "W2Result": weakness.W2Result,
            "TwoLayerSpec": twolayer.TwoLayerSpec, "closed_form_trace": twolayer.closed_form_trace,
            "make_xor": xor.make_xor, "bias_generaliser": constructions.bias_generaliser,
            "bias_memoriser": constructions.bias_memoriser,
            "simln_generaliser": constructions.simln_generaliser}
    for name, fn in same.items():
        assert getattr(wl, name) is fn, name
    assert set(api.GENERIC) == {k for k, v in api.MEASURE_INFO.items() if not v.mlp_only}
    with pytest.raises(AttributeError, match="no attribute 'lamda_max'"):
        wl.lamda_max  # noqa: B018


def test_import_is_cheap_pins_numerics_first_and_the_api_loads_on_access():
    code = ("import os, sys, weakness_lib as wl\n"
            "assert 'torch' not in sys.modules and 'numpy' not in sys.modules\n"
            "pinned = os.environ.get('ATEN_CPU_CAPABILITY')\n"
            "wl.measure\n"
            "print(pinned, 'torch' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k != "WEAKNESS_NUMERICS"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=project_root(), check=True).stdout.split()
    from weakness_lib.core import numerics

    assert out == [("avx2" if numerics.supported() is None else "None"), "True"]


def test_version_has_one_source_pyproject():
    from importlib import metadata

    declared = tomllib.loads((project_root() / "pyproject.toml").read_text())["project"]["version"]
    assert wl.__version__ == declared, "reinstall (make venv / pip install -e .): stale metadata"
    assert metadata.version("weakness-lib") == declared
    init = (project_root() / "weakness_lib" / "__init__.py").read_text(encoding="utf-8")
    assert not re.search(r"__version__\s*=\s*['\"]", init)  # no second literal


def test_measure_gives_the_books_numbers_bit_for_bit(mlp):
    model, X, y, probe = mlp
    got = wl.measure(model, X, y, which=list(api.MEASURE_INFO), probe=probe, seed=3)
    assert list(got) == list(api.MEASURE_INFO)
    book = measures.measure_table(model, (X, y), probe, n_train=len(y), seed=3)
    for key, col in {"lambda_max": "lambda_max", "trace": "trace", "sam": "sam", "asam": "asam",
                     "pacbayes_sigma": "pacbayes_sigma", "path_norm": "path_norm",
                     "w1": "w1_tau0.01", "w2": "w2"}.items():
        assert got[key] == book[col], key
    assert got["lambda_max"] == measures.lambda_max(model, X, y, seed=3).value
    assert got["trace"] == measures.hessian_trace(model, X, y, seed=3).value
    assert got["sam"] == measures.sam_sharpness(model, X, y).value
    assert got["pacbayes_sigma"] == measures.pacbayes_flatness(model, X, y, n_train=48, seed=3).sigma
    assert got["w2"] == wl.weakness_w2(model, probe).count
    assert 0 < got["trace"] and 0 < got["sam"] and 0 < got["pacbayes_sigma"]
    assert 0 <= got["w1"] <= math.log2(2**4 - 1) and 0 <= got["w2"] <= 12


def test_generic_measures_run_on_a_cnn_and_mlp_only_ones_refuse_it(cnn):
    model, X, y = cnn
    model.train()
    got = wl.measure(model, X, y)
    assert list(got) == list(api.GENERIC) and all(math.isfinite(v) for v in got.values())
    assert got["lambda_max"] > 0 and got["trace"] > 0 and 0 <= got["w2"] <= 12
    assert model.training  # measure leaves the mode as it found it
    w2 = wl.weakness_w2(model, X)  # images [N, C, H, W] reach the model in their own shape
    assert w2.count == got["w2"] and w2.n_transforms == 12
    for call in (lambda: wl.measure(model, X, y, which=["w1", "path_norm"]),
                 lambda: wl.path_norm(model), lambda: wl.rescale_layer(model, 1, 2.0)):
        with pytest.raises(TypeError) as exc:
            call()
        assert "\n" not in str(exc.value) and "MLP" in str(exc.value)


def test_a_rescaling_keeps_the_function_and_moves_lambda_max(mlp):
    model, X, y, probe = mlp
    moved = wl.rescale_layer(model, 1, 10.0)
    with torch.no_grad():
        a, b = model(probe), moved(probe)
    assert torch.equal(a.argmax(1), b.argmax(1))
    assert float((a - b).abs().max()) <= 1e-12 * float(a.abs().max())
    before = wl.measure(model, X, y, which=["lambda_max", "asam", "w1", "w2", "path_norm"],
                        probe=probe)
    after = wl.measure(moved, X, y, which=list(before), probe=probe)
    assert after["lambda_max"] > 2 * before["lambda_max"] or after["lambda_max"] < before["lambda_max"] / 2
    for key in ("asam", "w1", "w2", "path_norm"):  # invariant: outputs, or scale-adapted
        assert after[key] == pytest.approx(before[key], rel=1e-9, abs=1e-12), key


def test_arguments_are_checked_in_one_line(mlp):
    model, X, y, probe = mlp
    for call, words in ((lambda: wl.measure(model, X, y, which=["lambda_mx"]), "unknown key"),
                        (lambda: wl.measure("net", X, y), "nn.Module"),
                        (lambda: wl.weakness_w2(model, probe * 3), "[0, 1]"),
                        (lambda: wl.weakness_w1(model, probe[0]), "batch")):
        with pytest.raises(ArgumentError) as exc:
            call()
        assert words in str(exc.value) and "\n" not in str(exc.value)


def test_wen_constructions_attain_the_trace_bound():
    data = wl.make_xor(d=6, n_train=20, seed=0)
    spec = wl.TwoLayerSpec("bias", d=6, width=24)
    general = wl.bias_generaliser(spec)
    memo = wl.bias_memoriser(spec, data.X_train, data.y_train)
    for params in (general, memo):  # both interpolate, both at the flattest trace 4√(d + 1)
        f = twolayer.forward(spec, params, data.X_train)
        assert torch.allclose(f, data.y_train, rtol=0, atol=1e-12)
        assert wl.closed_form_trace(spec, params, data.X_train) == pytest.approx(4 * math.sqrt(7))
    # equally flat, yet one generalises to the whole cube and the other outputs 0 off its data
    assert torch.allclose(twolayer.forward(spec, general, data.X_test), data.y_test, atol=1e-12)
    unseen = ~(data.X_test[:, None, :] == data.X_train[None]).all(-1).any(1)
    assert float(twolayer.forward(spec, memo, data.X_test[unseen]).abs().max()) == 0.0
