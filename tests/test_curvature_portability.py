"""Curvature on other devices and quietly: no torch.jit.script deprecation warning leaks from
torch.func's forward mode, and every path follows the device/dtype of the model (CPU = reference)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings

import pytest
import torch

from weakness_lib.bennett import measures as M
from weakness_lib.curvature import (
    HVP,
    GraphHVP,
    dense_hessian,
    hutchinson_to_stderr,
    hutchinson_trace,
    lanczos_lambda_max,
    loss_function,
    model_params,
    xtrace,
)

QUIET_SCRIPT = textwrap.dedent("""
    import torch
    from weakness_lib.wen import twolayer as T
    spec = T.TwoLayerSpec("simln", d=5, width=8)
    p = T.init_params(spec, 0)
    X = torch.randn(10, 5, dtype=torch.float64)
    y = torch.sign(torch.randn(10, dtype=torch.float64))
    T.dense_trace(spec, p, X, y)
    T.hutchinson_trace(spec, p, X, y, n_probes=3)
""")


@pytest.mark.parametrize("first", ["dense_trace", "hutchinson_trace"])
def test_wen_curvature_from_the_command_line_prints_nothing(first):
    """torch.func warns once per process, on the first forward-mode call: run each path first."""
    script = QUIET_SCRIPT if first == "dense_trace" else QUIET_SCRIPT.replace(
        "T.dense_trace(spec, p, X, y)\n", "").rstrip() + "\nT.dense_trace(spec, p, X, y)\n"
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "" and out.stderr == ""


def test_hvp_under_warnings_as_errors(tiny_mlp, tiny_batch):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hvp = HVP.for_model(tiny_mlp, *tiny_batch)
        v = torch.ones(hvp.dim, dtype=torch.float64)
        H = dense_hessian(hvp.loss_fn, hvp.params)
        torch.testing.assert_close(hvp(v), H @ v, rtol=1e-10, atol=1e-12)


def test_only_the_jit_deprecation_is_silenced():
    from weakness_lib.curvature import quiet_jit_deprecation

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet_jit_deprecation():
            warnings.warn("`torch.jit.script` is deprecated. Please switch", FutureWarning, stacklevel=1)
            warnings.warn("something else is deprecated", FutureWarning, stacklevel=1)
            warnings.warn("`torch.jit.script` is deprecated.", UserWarning, stacklevel=1)
        warnings.warn("`torch.jit.script` is deprecated. Please switch", FutureWarning, stacklevel=1)
    assert [(w.category, str(w.message)[:20]) for w in caught] == [
        (FutureWarning, "something else is de"), (UserWarning, "`torch.jit.script` i"),
        (FutureWarning, "`torch.jit.script` i")]  # silenced inside the block only


def test_float32_model_keeps_float32_products(tiny_mlp, tiny_batch):
    X, y = tiny_batch
    model = tiny_mlp.float()
    for op in (HVP.for_model(model, X, y, dtype=torch.float32),
               GraphHVP.for_model(model, X, y, dtype=torch.float32)):
        v = torch.ones(op.dim, dtype=torch.float32)
        assert op(v).dtype == torch.float32 and op.matmat(v[None]).dtype == torch.float32
        assert op.device == torch.device("cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_curvature_agrees_with_the_cpu_reference(tiny_mlp, tiny_batch):
    X, y = tiny_batch
    cpu = {
        "hvp": HVP.for_model(tiny_mlp, X, y),
        "graph": GraphHVP.for_model(tiny_mlp, X, y),
    }
    gpu_model = tiny_mlp.to("cuda")
    gpu = {
        "hvp": HVP.for_model(gpu_model, X.cuda(), y.cuda()),
        "graph": GraphHVP.for_model(gpu_model, X.cuda(), y.cuda()),
    }
    for name in cpu:
        assert gpu[name].device.type == "cuda"
        a = lanczos_lambda_max(cpu[name], tol=1e-8, seed=1)
        b = lanczos_lambda_max(gpu[name], tol=1e-8, seed=1)
        assert b.lambda_max == pytest.approx(a.lambda_max, rel=1e-8)
        ta, tb = hutchinson_trace(cpu[name], 6, seed=2), hutchinson_trace(gpu[name], 6, seed=2)
        assert tb.mean == pytest.approx(ta.mean, rel=1e-9)
    assert hutchinson_to_stderr(gpu["graph"], rel_stderr=0.5, block=4, min_probes=4).n_hvp >= 4
    assert abs(xtrace(gpu["graph"], 8).mean - xtrace(cpu["graph"], 8).mean) < 1e-8
    dense = dense_hessian(loss_function(gpu_model, X.cuda(), y.cuda()), model_params(gpu_model))
    assert dense.device.type == "cuda"
    out = M.measure_table(gpu_model, (X.cuda(), y.cuda()), n_train=32, n_probes=4, pb_draws=2,
                          pb_bisect=2)
    ref = M.measure_table(tiny_mlp.cpu(), (X, y), n_train=32, n_probes=4, pb_draws=2, pb_bisect=2)
    assert out["lambda_max"] == pytest.approx(ref["lambda_max"], rel=1e-3)
    assert out["trace"] == pytest.approx(ref["trace"], rel=1e-9)
