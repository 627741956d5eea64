"""One training unit of a Wen scenario: a (run, seed) trained from scratch and measured.

The row holds the final and peak test accuracy/MSE, the closed-form Gauss–Newton trace (averaged
over the last ``final_window`` of logged epochs) and its Hutchinson check, the logged curves, the
fraction of active neurons, Sim-BN feature norms and a rescaling sweep where the run asks for one,
and the SHA-256 of the final parameters (bit-identity fingerprint for ``verify``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from typing import Any

import numpy as np
import torch

from weakness_lib.core import ieee
from weakness_lib.curvature import Params
from weakness_lib.studies.wen.settings import Run, Scenario, Scenario3
from weakness_lib.wen import sam, twolayer
from weakness_lib.wen.twolayer import TwoLayerSpec
from weakness_lib.wen.xor import XorData, make_xor


def data_for(config: Scenario, seed: int) -> XorData:
    """The xor training/test sets of replicate ``seed``."""
    return make_xor(config.d, config.n_train, config.n_test, seed=seed)


def spec_for(config: Scenario, run: Run) -> TwoLayerSpec:
    """Architecture of a run (its own ``width`` overrides the config's)."""
    return TwoLayerSpec(
        run.arch,
        config.d,
        width=int(config.width if run.width is None else run.width),
        ln_eps=float(config.ln_eps),
    )


def parse_key(key: str) -> tuple[str, int]:
    name, _, seed = key.partition("/seed")
    if not seed.isdigit():
        raise ValueError(f"unit key {key!r} is not of the form '<run>/seed<int>'")
    return name, int(seed)


def params_digest(params: Params) -> str:
    """SHA-256 of the float64 bytes of the parameters (name order), for bit-for-bit checks."""
    h = hashlib.sha256()
    for name in sorted(params):
        h.update(name.encode())
        h.update(params[name].detach().to(torch.float64).contiguous().numpy().tobytes())
    return h.hexdigest()


# -- one training unit ---------------------------------------------------------------------------


def _metrics(spec: TwoLayerSpec, data: XorData, params: Params) -> dict[str, Any]:
    """Training loss/accuracy, test accuracy/MSE, trace (closed form or Gauss–Newton), norms."""
    X, y = data.X_train, data.y_train
    out_train = twolayer.forward(spec, params, X, X)
    out_test = twolayer.forward(spec, params, data.X_test, X)
    first = params["W1"].pow(2).sum() + (params["b1"].pow(2).sum() if "b1" in params else 0)
    row = {
        "train_loss": float(((out_train - y) ** 2).mean()),
        "train_acc": twolayer.accuracy(out_train, y),
        "test_acc": twolayer.accuracy(out_test, data.y_test),
        "test_mse": float(((out_test - data.y_test) ** 2).mean()),
        "trace": twolayer.gauss_newton_trace(spec, params, X),
        "active_frac": twolayer.active_fraction(spec, params, data.X_test),
        "first_layer_norm": float(ieee.sqrt(first)),
        "w2_norm_sq": float(params["W2"].pow(2).sum()),
    }
    if spec.arch == "simbn":
        row["w2_gamma_norm_sq"] = row["w2_norm_sq"] + float(params["gamma"].pow(2).sum())
    return row


def _simbn_features(params: Params, d: int, top: int = 4) -> dict[str, Any]:
    """Column norms of W1 and the ``top`` largest first-layer neurons (paper Fig 2b)."""
    W1 = params["W1"]
    cols = W1.norm(dim=0)
    rest = cols[2:].max() if d > 2 else torch.tensor(0.0)
    order = torch.argsort(W1.norm(dim=1), descending=True)[:top]
    neurons = [
        {
            "neuron": int(j),
            "w_1": float(W1[j, 0]),
            "w_2": float(W1[j, 1]),
            "norm_w_rest": float(W1[j, 2:].norm()),
            "b": float(params["b1"][j]),
            "W2_gamma": float(params["W2"][j] * params["gamma"][j]),
        }
        for j in order
    ]
    return {
        "column_norms": cols.tolist(),
        "col1_norm": float(cols[0]),
        "col2_norm": float(cols[1]),
        "max_other_col_norm": float(rest),
        "feature_ratio": float(torch.minimum(cols[0], cols[1]) / rest),
        "top_neurons": neurons,
    }


def _scale_sweep(spec: TwoLayerSpec, data: XorData, params: Params, grid) -> list[dict]:
    """Sim-LN: Gauss–Newton trace and max |Δf| on the test set after (W1, b1) → c·(W1, b1)."""
    from weakness_lib.wen.constructions import scale_first_layer

    f0 = twolayer.forward(spec, params, data.X_test)
    out = []
    for c in grid:
        p = scale_first_layer(params, float(c))
        out.append(
            {
                "scale": float(c),
                "trace": twolayer.gauss_newton_trace(spec, p, data.X_train),
                "train_loss": float(twolayer.mse(spec, p, data.X_train, data.y_train)),
                "max_abs_df_test": float((twolayer.forward(spec, p, data.X_test) - f0).abs().max()),
            }
        )
    return out


def train_unit(config: Scenario, key: str) -> dict[str, Any]:
    """Train one (run, seed) unit and return its store row (final numbers + curves)."""
    name, seed = parse_key(key)
    run = config.runs[name]
    spec = spec_for(config, run)
    data = data_for(config, seed)
    params = twolayer.init_params(spec, seed, first_layer_scale=float(run.init_scale))
    train_spec = sam.TrainSpec.from_dict(dataclasses.asdict(run))
    log_at = sam.log_epochs(train_spec.epochs, int(config.log_points))
    start = time.perf_counter()
    with sam.single_threaded():
        result = sam.train(
            spec,
            params,
            data.X_train,
            data.y_train,
            train_spec,
            seed=seed,
            log_at=log_at,
            callback=lambda epoch, p: _metrics(spec, data, p),
        )
        final = result.history[-1]
        window = [
            h["trace"]
            for h in result.history
            if h["epoch"] >= (1 - float(config.final_window)) * train_spec.epochs
        ]
        accs = [h["test_acc"] for h in result.history]
        row: dict[str, Any] = {
            "run": name,
            "arch": spec.arch,
            "algorithm": train_spec.algorithm,
            "seed": seed,
            "width": spec.width,
            "epochs": result.epochs,
            "steps": result.steps,
            "final_test_acc": final["test_acc"],
            "final_test_mse": final["test_mse"],
            "final_train_loss": final["train_loss"],
            "final_train_acc": final["train_acc"],
            "final_trace": float(np.mean(window)),
            "final_trace_last": final["trace"],
            "final_trace_window_points": len(window),
            "trace_kind": "exact closed form"
            if spec.arch in ("nobias", "bias")
            else "Gauss-Newton (exact at interpolation)",
            "peak_test_acc": max(accs),
            "peak_epoch": result.history[int(np.argmax(accs))]["epoch"],
            "final_active_frac": final["active_frac"],
            "train_wall_s": result.wall_s,
            "params_sha256": params_digest(result.params),
            "history": result.history,
        }
        if spec.arch in ("simln", "simbn"):
            hutch = twolayer.hutchinson_trace(
                spec,
                result.params,
                data.X_train,
                data.y_train,
                n_probes=int(config.hutchinson_probes),
                seed=seed,
            )
            row["final_trace_hutchinson"] = hutch.mean
            row["final_trace_hutchinson_se"] = hutch.stderr
        if spec.arch == "simbn":
            row.update(_simbn_features(result.params, spec.d))
        if spec.arch == "simln" and isinstance(config, Scenario3):
            row["scale_sweep"] = _scale_sweep(spec, data, result.params, config.scale_grid)
    row["unit_wall_s"] = time.perf_counter() - start
    return row
