"""Chapter 01, claim B1: Dinh rescalings inflate the Hessian of a trained MNIST MLP, not its predictions.

For each rescaling T (layer 1, layer 2, or chained; see :mod:`weakness_lib.bennett.reparam`) and each α of
the pre-registered grid, on the float64 copy of one trained network:

* λ_max of the Hessian of the mean cross-entropy on a fixed batch (Lanczos, with residual),
* its trace (Hutchinson, the same Rademacher probes for every α) with standard error,
* ‖θ‖₂, test accuracy, arg-max agreement with α = 1 and max |Δlogit| on the 10,000 test images,
* the trace *predicted* from the α = 1 block traces, tr H(T_α θ) = Σ_t s_t⁻² tr H_tt(θ), where
  s_t is the factor applied to parameter tensor t.

Study protocol (:mod:`weakness_lib.engine.base`), two stages:

1. ``"train"``: the trained network; its row is the training record and its weights are returned
   as the artifact ``train.pt`` (``row["_artifacts"]``), written by the driver beside the table;
2. ``"<mode>:<α>"`` (and ``"identity:1"``): the measures of one rescaling. Each unit reads the
   network of stage 1 from ``train.pt`` (read-only, checked against the stored ``weights_sha256``);
   where the file is absent (e.g. a worker without the shared disk) it re-trains the network
   deterministically and checks the same digest.

Everything runs on the CPU (float64 Hessians); ``device`` is accepted and ignored. The registered
config has no ``torch_threads`` (adding it would change the settings hash of the committed table):
units pin :data:`UNREGISTERED_THREADS` = 2, the count the committed full table was computed and
verified with, unless the config names one.
"""

from __future__ import annotations

import copy
import io
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch

from weakness_lib.bennett.models import MLP, build_mlp
from weakness_lib.bennett.reparam import (
    block_scales,
    check_function_preserved,
    rescale_chain,
    rescale_layer,
)
from weakness_lib.core.claims import Claim
from weakness_lib.core.config import settings_hash
from weakness_lib.curvature import HVP, hutchinson_trace, top_eigenvalues
from weakness_lib.engine import base
from weakness_lib.studies.bennett import settings
from weakness_lib.studies.bennett.common import (
    LAMBDA_MAX_VERIFY,
    dataset,
    fixed_batch,
    split_for,
    weights_digest,
)
from weakness_lib.studies.bennett.networks import train_network
from weakness_lib.studies.bennett.reparameterisation_verdicts import (  # noqa: F401  (re-exported)
    b1_facts,
    verdict_b1,
)

EXPERIMENT = "reparameterisation"
SETTINGS = settings.Reparameterisation  # the typed settings of configs/<study>.yaml
NOTEBOOK = "01_reparameterisation.ipynb"
CLAIMS = ("B1",)
TRAIN = "train"
WEIGHTS = "train.pt"
DEVICES: tuple[str, ...] = ("cpu",)  # where units can run (float64 curvature on the CPU)
VERIFY = LAMBDA_MAX_VERIFY  # λ_max within lanczos_tol, its solver diagnostics reported
#: torch threads when the config registers none (BLAS reductions, hence bits, depend on it)
UNREGISTERED_THREADS = 2

MODES: dict[str, Callable[[MLP, float], MLP]] = {
    "layer1": lambda m, a: rescale_layer(m, 1, a),
    "layer2": lambda m, a: rescale_layer(m, 2, a),
    "chain": rescale_chain,
}


def mode_scales(mode: str, alpha: float, n_hidden: int) -> list[float]:
    """Hidden-layer output factors c_ℓ that :data:`MODES` ``[mode]`` applies."""
    if mode == "chain":
        return [alpha ** (ell + 1) for ell in range(n_hidden)]
    scales = [1.0] * n_hidden
    scales[int(mode[-1]) - 1] = alpha
    return scales


# -- units ----------------------------------------------------------------------------------------
def unit_key(mode: str, alpha: float) -> str:
    return f"{mode}:{alpha:g}"


def parse_key(key: str) -> tuple[str, float]:
    """Inverse of :func:`unit_key`: ``'chain:100'`` → ("chain", 100.0)."""
    mode, sep, alpha = key.partition(":")
    if not sep or (mode not in MODES and mode != "identity"):
        raise ValueError(f"not a rescaling unit: {key!r} (expected e.g. 'layer1:10' or 'identity:1')")
    return mode, float(alpha)


def rescalings(cfg: settings.Reparameterisation) -> list[tuple[str, float]]:
    """(mode, α) of stage 2: α = 1 once (``identity``), then every mode × every α ≠ 1."""
    return [("identity", 1.0)] + [
        (mode, float(a)) for mode in cfg.modes for a in cfg.alphas if a != 1
    ]


def units(cfg: settings.Reparameterisation | Mapping[str, Any]) -> list[list[str]]:
    """Stage 1: the trained network; stage 2: one unit per rescaling (they read stage 1)."""
    return [[TRAIN], [unit_key(m, a) for m, a in rescalings(base.typed(cfg))]]


def compute_unit(cfg: settings.Reparameterisation | Mapping[str, Any], key: str,
                 device: str = "cpu") -> dict[str, Any]:
    """The row of unit ``key``, from scratch (CPU only; ``device`` is ignored). Never writes.

    ``"train"`` trains the network and returns its weights as ``row["_artifacts"]["train.pt"]``;
    a rescaling key measures the rescaled float64 network (see the module docstring).
    """
    del device  # CPU only: float64 Hessian-vector products on a fixed batch
    cfg = base.typed(cfg)
    with base.threads(cfg.torch_threads or UNREGISTERED_THREADS):
        if key == TRAIN:
            model, row = _train(cfg)
            buf = io.BytesIO()
            torch.save(model.state_dict(), buf)
            return {**row, "_artifacts": {WEIGHTS: buf.getvalue()}}
        mode, alpha = parse_key(key)
        return unit_row(cfg, trained_network(cfg), mode, alpha)


def _train(cfg: settings.Reparameterisation) -> tuple[MLP, dict[str, Any]]:
    data = dataset(cfg.dataset)
    split = split_for(data, cfg.n_train, 0, cfg.split_seed)
    X, y = data.train_x[split.train], data.train_y[split.train]
    model, rec = train_network(X, y, cfg.widths, cfg.train, cfg.seed,
                               eval_set=(data.test_x, data.test_y))
    last = rec["history"][-1]
    return model, {
        "seed": rec["seed"], "epochs": rec["epochs"], "steps": rec["steps"],
        "train_loss": rec["final_train_loss"], "train_acc": rec["final_train_acc"],
        "test_loss": last["test_loss"], "test_acc": last["test_acc"],
        "train_wall_s": rec["train_wall_s"], "weights_sha256": rec["weights_sha256"],
        "history": rec["history"],
    }


_RETRAINED: dict[str, tuple[MLP, str]] = {}


def trained_network(cfg: settings.Reparameterisation) -> MLP:
    """The float64 network of stage 1 (eval mode), from ``train.pt`` or re-trained.

    The artifact is read only if the stored ``train`` row records its SHA-256 and the weights
    match it (a mismatch raises). Without the artifact the network is re-trained (once per
    process) and must reproduce the stored digest bit for bit, where one is stored.
    """
    table = base.table(EXPERIMENT, cfg.scale, cfg.config)
    stored = table.get(TRAIN)
    expected = None if stored is None else stored["weights_sha256"]
    try:
        path = table.artifact(WEIGHTS)
    except OSError:  # a read-only store without the artifact folder
        path = None
    if expected is not None and path is not None and path.exists():
        model = build_mlp(cfg.widths)
        model.load_state_dict(torch.load(path, weights_only=True))
        if weights_digest(model) != expected:
            raise RuntimeError(f"stored weights {path} do not match the SHA-256 recorded in the "
                               f"'{TRAIN}' row; delete both to retrain")
        return model.double().eval()
    key = settings_hash(cfg.config)
    if key not in _RETRAINED:
        model, row = _train(cfg)
        _RETRAINED[key] = (model.double().eval(), row["weights_sha256"])
    model, digest = _RETRAINED[key]
    if expected is not None and digest != expected:
        raise RuntimeError(f"re-training the network of {EXPERIMENT} did not reproduce the stored "
                           "weights bit for bit (different torch version or thread count?)")
    return copy.deepcopy(model)


def fixed_sets(cfg: settings.Reparameterisation) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(curvature batch X, y) of training images and (test X, y), all float64 inputs."""
    data = dataset(cfg.dataset)
    split = split_for(data, cfg.n_train, 0, cfg.split_seed)
    cb = split.train[fixed_batch(len(split.train), cfg.curvature_batch, cfg.curvature_seed)]
    return data.train_x[cb].double(), data.train_y[cb], data.test_x.double(), data.test_y


def measure(
    model: MLP, reference: MLP, Xc: torch.Tensor, yc: torch.Tensor, Xt: torch.Tensor,
    yt: torch.Tensor, cfg: settings.Reparameterisation,
) -> dict[str, Any]:
    """Curvature and function measures of one (rescaled) float64 network."""
    t0 = time.perf_counter()
    hvp = HVP.for_model(model, Xc, yc)
    eig = top_eigenvalues(hvp, k=1, tol=cfg.lanczos_tol, seed=cfg.curvature_seed)
    tr = hutchinson_trace(hvp, cfg.hutchinson_probes, seed=cfg.curvature_seed)
    max_dlogit, agreement = check_function_preserved(reference, model, Xt)
    with torch.no_grad():
        test_acc = float((model(Xt).argmax(1) == yt).double().mean())
        norm = float(torch.sqrt(sum((p.double() ** 2).sum() for p in model.parameters())))
    return {
        "lambda_max": eig.lambda_max,
        "lanczos_hvps": eig.n_hvp,
        "lanczos_residual": float(eig.residuals[0]),
        "trace": tr.mean,
        "trace_se": tr.stderr,
        "block_samples": {k: tr.block_samples[:, j] for j, k in enumerate(tr.blocks)},
        "param_norm": norm,
        "test_acc": test_acc,
        "agreement": agreement,
        "n_changed": int(round((1 - agreement) * len(Xt))),
        "max_abs_dlogit": max_dlogit,
        "measure_s": time.perf_counter() - t0,
    }


def unit_row(cfg: settings.Reparameterisation, base_net: MLP, mode: str, alpha: float) -> dict[str, Any]:
    """The stored record of one rescaling of the float64 network (``mode`` "identity": α = 1)."""
    Xc, yc, Xt, yt = fixed_sets(cfg)
    rescaled = base_net if mode == "identity" else MODES[mode](base_net, alpha)
    return {"mode": mode, "alpha": alpha, **measure(rescaled, base_net, Xc, yc, Xt, yt, cfg)}


# -- analysis (stored rows only) ------------------------------------------------------------------
def predicted_trace(
    block_samples: dict[str, list[float]], model: MLP, mode: str, alpha: float
) -> tuple[float, float]:
    """Σ_t s_t⁻² tr H_tt from the α = 1 per-probe block samples, with its standard error.

    H' = J⁻¹ H J⁻¹ makes this identity exact for the true traces (s_t is uniform within each
    tensor for these rescalings); the estimate inherits Hutchinson noise amplified by s_t⁻².
    ``model`` only supplies the architecture (parameter names and shapes).
    """
    scales = block_scales(model, mode_scales(mode, alpha, len(model.layers) - 1))
    per_probe = sum(
        np.asarray(block_samples[n]) / float(s.reshape(-1)[0]) ** 2 for n, s in scales.items()
    )
    return float(per_probe.mean()), float(per_probe.std(ddof=1) / np.sqrt(len(per_probe)))


def ratio_table(rows: list[dict[str, Any]], architecture: MLP) -> pd.DataFrame:
    """One row per (mode, α) with ratios to α = 1; the identity row is repeated in every mode."""
    frame = pd.DataFrame(rows)
    ident = frame[frame["mode"] == "identity"].iloc[0]
    modes = [m for m in frame["mode"].unique() if m != "identity"]
    frame = pd.concat(
        [frame[frame["mode"] != "identity"]]
        + [ident.to_frame().T.assign(mode=m) for m in modes],
        ignore_index=True,
    ).infer_objects()
    frame["alpha"] = frame["alpha"].astype(float)
    for col in ("lambda_max", "trace", "param_norm"):
        frame[col] = frame[col].astype(float)
        frame[f"{col}_ratio"] = frame[col] / float(ident[col])
    predicted = [
        predicted_trace(ident["block_samples"], architecture, m, a)
        for m, a in zip(frame["mode"], frame["alpha"])
    ]
    frame["trace_predicted"] = [p[0] for p in predicted]
    frame["trace_predicted_se"] = [p[1] for p in predicted]
    frame["sharpness_ratio"] = frame["lambda_max_ratio"]
    return frame.sort_values(["mode", "alpha"]).reset_index(drop=True)


def analyse(scale: str) -> dict[str, Any]:
    """Everything chapter 01 shows, from the stored table of ``scale`` (no computation, no writes).

    ``config`` (stored mapping), ``settings`` (typed), ``train`` (the training record), ``table`` (one row per mode × α with ratios and
    predicted traces), ``B1`` (our value, verdict, details), ``rule`` (the registration block of
    B1, with ``target`` and ``thresholds``), ``provenance`` and ``wall_s`` (summed unit time).
    """
    t = base.load_table(EXPERIMENT, scale)
    cfg = base.typed(t.config)
    rows = [r for r in t.rows() if r["key"] != TRAIN]
    frame = ratio_table(rows, build_mlp(cfg.widths).double())
    rule = base.settings(EXPERIMENT, scale).rule("B1")  # the registration that names the table
    return {"config": t.config, "settings": cfg, "train": t.get(TRAIN), "table": frame, "B1": b1_facts(frame, rule),
            "rule": rule, "provenance": base.provenance(t), "stored": dict(t.provenance),
            "wall_s": t.total_wall_s()}


def claims(result: dict[str, Any]) -> list[Claim]:
    """Claim B1 from :func:`analyse` (verdict by the registered rule; not written here)."""
    b1 = result["B1"]
    return [base.registered_claim(EXPERIMENT, "B1", our_value=b1["our_value"], ci95=b1["ci95"],
                                  verdict=b1["verdict"], provenance=result["provenance"],
                                  details=b1["details"])]
