"""Shared machinery of the three Wen, Li & Ma (2023) scenario experiments.

A config (``configs/wen_scenario_*.yaml``, merged by :func:`weakness_lib.core.config.experiment_config`)
holds the data settings (``d``, ``n_train``, ``n_test``, ``width``, ``ln_eps``), the ``seeds``,
``log_points`` and ``final_window`` (the fraction of the last epochs whose logged traces are
averaged into the final trace), and ``runs``: per run name an architecture and a
:class:`weakness_lib.wen.sam.TrainSpec` as a dict. One store unit is one (run, seed), keyed
``"<run>/seed<seed>"``; a unit's seed sets the training set, the initialisation and the
example order, so a unit re-trained from its config reproduces the stored row bit for bit.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
from scipy import stats

from weakness_lib.bennett.curvature import Params
from weakness_lib.core.claims import Claim
from weakness_lib.core.store import ResultsStore, Table
from weakness_lib.studies.common import claim_from_registration
from weakness_lib.wen import sam, twolayer
from weakness_lib.wen.twolayer import TwoLayerSpec
from weakness_lib.wen.xor import XorData, make_xor

__all__ = [
    "data_for",
    "spec_for",
    "unit_keys",
    "parse_key",
    "train_unit",
    "compute_all",
    "history_frame",
    "final_frame",
    "params_digest",
    "mean_ci95",
    "plot_curves",
    "table_for",
    "write_registered_claim",
    "by_seed",
    "provenance_of",
]


def data_for(config: dict[str, Any], seed: int) -> XorData:
    """The xor training/test sets of replicate ``seed``."""
    return make_xor(config["d"], config["n_train"], config["n_test"], seed=seed)


def spec_for(config: dict[str, Any], run: dict[str, Any]) -> TwoLayerSpec:
    """Architecture of a run (its own ``width`` overrides the config's)."""
    return TwoLayerSpec(
        run["arch"],
        config["d"],
        width=int(run.get("width", config["width"])),
        ln_eps=float(config.get("ln_eps", 1e-4)),
    )


def unit_keys(config: dict[str, Any]) -> list[str]:
    """Every unit of the experiment: ``"<run>/seed<s>"`` for each run and seed."""
    return [f"{name}/seed{s}" for name in config["runs"] for s in config["seeds"]]


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
        "first_layer_norm": float(first.sqrt()),
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


def train_unit(config: dict[str, Any], key: str, progress: bool = False) -> dict[str, Any]:
    """Train one (run, seed) unit and return its store row (final numbers + curves)."""
    name, seed = parse_key(key)
    run = config["runs"][name]
    spec = spec_for(config, run)
    data = data_for(config, seed)
    params = twolayer.init_params(spec, seed, first_layer_scale=float(run.get("init_scale", 1.0)))
    train_spec = sam.TrainSpec.from_dict(run)
    log_at = sam.log_epochs(train_spec.epochs, int(config["log_points"]))
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
            progress=progress,
        )
        final = result.history[-1]
        window = [
            h["trace"]
            for h in result.history
            if h["epoch"] >= (1 - float(config["final_window"])) * train_spec.epochs
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
                n_probes=int(config["hutchinson_probes"]),
                seed=seed,
            )
            row["final_trace_hutchinson"] = hutch.mean
            row["final_trace_hutchinson_se"] = hutch.stderr
        if spec.arch == "simbn":
            row.update(_simbn_features(result.params, spec.d))
        if spec.arch == "simln" and "scale_grid" in config:
            row["scale_sweep"] = _scale_sweep(spec, data, result.params, config["scale_grid"])
    row["unit_wall_s"] = time.perf_counter() - start
    return row


def table_for(experiment: str, config: dict[str, Any], scale: str) -> Table:
    return ResultsStore(scale).table(experiment, config)


def compute_all(table: Table, config: dict[str, Any], progress: bool = False) -> list[dict]:
    """Every unit of ``config``, computed (resumably) through ``table``; rows in unit order."""
    keys = unit_keys(config)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(keys, desc=table.experiment)
    rows = []
    for key in bar if bar is not None else keys:
        rows.append(table.get_or_compute(key, lambda key=key: train_unit(config, key)))
    return rows


def history_frame(rows: Iterable[dict[str, Any]]):
    """Long DataFrame of the logged curves: one line per (run, seed, logged epoch)."""
    import pandas as pd

    frames = []
    for r in rows:
        if "history" not in r:
            continue
        h = pd.DataFrame(r["history"])
        h.insert(0, "seed", r["seed"])
        h.insert(0, "run", r["run"])
        frames.append(h)
    return pd.concat(frames, ignore_index=True)


def final_frame(rows: Iterable[dict[str, Any]]):
    """One line per unit with its final numbers and wall time (curves dropped)."""
    import pandas as pd

    cols = [
        "run",
        "arch",
        "algorithm",
        "seed",
        "epochs",
        "final_test_acc",
        "final_test_mse",
        "final_train_loss",
        "final_trace",
        "final_trace_hutchinson",
        "final_trace_hutchinson_se",
        "peak_test_acc",
        "peak_epoch",
        "final_active_frac",
        "_wall_s",
    ]
    df = pd.DataFrame([{k: r.get(k) for k in cols} for r in rows if "run" in r])
    return df.dropna(axis=1, how="all").rename(columns={"_wall_s": "wall_s"})


def mean_ci95(values: Iterable[float]) -> tuple[float, list[float] | None]:
    """Mean and Student-t 95% interval over replicates (None for fewer than 2 values)."""
    v = np.asarray(list(values), dtype=float)
    mean = float(v.mean())
    if len(v) < 2:
        return mean, None
    half = float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return mean, [mean - half, mean + half]


def plot_curves(history, runs: dict[str, str], metrics: dict[str, str], bound=None, title=""):
    """Figure with one panel per metric (test accuracy, trace, …) vs epoch, one colour per run.

    ``runs`` maps run names to legend labels, ``metrics`` column names to axis labels;
    ``bound`` = (metric, value, label) draws a horizontal reference line.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    data = history[history["run"].isin(list(runs))].copy()
    data["algorithm"] = data["run"].map(runs)
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.4))
    axes = np.atleast_1d(axes)
    for ax, (col, label) in zip(axes, metrics.items(), strict=True):
        sns.lineplot(
            data=data,
            x="epoch",
            y=col,
            hue="algorithm",
            units="seed",
            estimator=None,
            ax=ax,
            lw=1.2,
            alpha=0.85,
        )
        if bound is not None and bound[0] == col:
            ax.axhline(bound[1], color="k", ls="--", lw=1, label=bound[2])
        if col in ("trace", "train_loss", "test_mse") and (data[col] > 0).all():
            ax.set_yscale("log")
        ax.set_ylabel(label)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def by_seed(rows: Iterable[dict[str, Any]], run: str) -> dict[int, dict[str, Any]]:
    """The rows of one run, keyed by seed."""
    return {int(r["seed"]): r for r in rows if r.get("run") == run}


def provenance_of(table: Table) -> dict[str, Any]:
    """Table provenance plus its config hash and the summed per-unit wall time."""
    return {
        **table.provenance,
        "experiment": table.experiment,
        "config_hash": table.hash,
        "results_table": table.path.name,
        "total_unit_wall_s": round(table.total_wall_s(), 1),
    }


def write_registered_claim(
    experiment: str,
    claim_id: str,
    scale: str,
    *,
    our_value: float,
    ci95: list[float] | None,
    verdict: str,
    provenance: dict[str, Any],
    details: dict[str, Any],
) -> Claim:
    """Write a claim whose texts (statement, paper value, metric, rule) come from the config."""
    return claim_from_registration(experiment, claim_id, our_value=our_value, ci95=ci95,
                                   verdict=verdict, provenance=provenance, details=details,
                                   scale=scale)


def constructions_hold(cons: dict[str, Any]) -> bool:
    """The pre-registered construction check shared by Scenarios II and III: the memoriser and the
    4-neuron generaliser both interpolate (train MSE < 1e-20) at the minimal trace (relative error
    < 1e-9); the memoriser outputs exactly 0 on every test point, the generaliser is perfect."""
    mem, gen = cons["memoriser"], cons["generaliser"]
    return (
        mem["train_mse"] < 1e-20
        and gen["train_mse"] < 1e-20
        and mem["rel_err_bound"] < 1e-9
        and gen["rel_err_bound"] < 1e-9
        and mem["frac_test_outputs_zero"] == 1.0
        and gen["test_acc"] == 1.0
    )
