"""Shared machinery of the three Wen, Li & Ma (2023) scenario studies (claims W1, W2, W3).

A config (``configs/wen_scenario_*.yaml``, merged by :func:`weakness_lib.core.config.experiment_config`)
holds the data settings (``d``, ``n_train``, ``n_test``, ``width``, ``ln_eps``), the ``seeds``,
``log_points`` and ``final_window`` (the fraction of the last epochs whose logged traces are
averaged into the final trace), and ``runs``: per run name an architecture and a
:class:`weakness_lib.wen.sam.TrainSpec` as a dict.

Units (:func:`units`): ``"constructions"`` (the scenario's hand-built interpolators and their
checks) and one unit per (run, seed), keyed ``"<run>/seed<seed>"``; a unit's seed sets the training
set, the initialisation and the example order, so a unit re-trained from its config reproduces the
stored row bit for bit. No unit reads another, so they form a single stage.

A scenario module describes itself by one :class:`Scenario` (its constructions row, its pure
verdict function ``checks`` and the chapter's extra frames); the protocol functions of
:mod:`weakness_lib.studies.base` (``compute_unit``, ``analyse``, ``claims``) are implemented once,
here, for all three.

**Device.** These studies train tiny float64 networks with numpy on the CPU (one BLAS thread,
:func:`weakness_lib.wen.sam.single_threaded`): ``compute_unit`` accepts a ``device`` argument
for the protocol but always computes on the CPU, so the rows are the same on every worker.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy import stats

from weakness_lib.bennett.curvature import Params
from weakness_lib.core.claims import Claim
from weakness_lib.studies import base
from weakness_lib.wen import sam, twolayer
from weakness_lib.wen.twolayer import TwoLayerSpec
from weakness_lib.wen.xor import XorData, make_xor

__all__ = [
    "CONSTRUCTIONS",
    "Scenario",
    "data_for",
    "spec_for",
    "units",
    "unit_keys",
    "parse_key",
    "train_unit",
    "history_frame",
    "final_frame",
    "params_digest",
    "mean_ci95",
    "accuracy_ci95",
    "plot_curves",
    "by_seed",
    "tie_broken_accuracy",
    "constructions_frames",
    "constructions_hold",
    "verdict_from_counts",
]

#: the key of the constructions unit of every scenario
CONSTRUCTIONS = "constructions"


def data_for(config: Mapping[str, Any], seed: int) -> XorData:
    """The xor training/test sets of replicate ``seed``."""
    return make_xor(config["d"], config["n_train"], config["n_test"], seed=seed)


def spec_for(config: Mapping[str, Any], run: Mapping[str, Any]) -> TwoLayerSpec:
    """Architecture of a run (its own ``width`` overrides the config's)."""
    return TwoLayerSpec(
        run["arch"],
        config["d"],
        width=int(run.get("width", config["width"])),
        ln_eps=float(config.get("ln_eps", 1e-4)),
    )


def unit_keys(config: Mapping[str, Any]) -> list[str]:
    """Every training unit of the study: ``"<run>/seed<s>"`` for each run and seed."""
    return [f"{name}/seed{s}" for name in config["runs"] for s in config["seeds"]]


def units(config: Mapping[str, Any]) -> list[list[str]]:
    """The units as stages: one stage, the constructions and every (run, seed) (none reads another)."""
    return [[CONSTRUCTIONS, *unit_keys(config)]]


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


def train_unit(config: Mapping[str, Any], key: str) -> dict[str, Any]:
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


# -- frames and figures for the chapters ---------------------------------------------------------


def history_frame(rows: Iterable[Mapping[str, Any]]):
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


def final_frame(rows: Iterable[Mapping[str, Any]]):
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


def constructions_frames(config: Mapping[str, Any], rows: list, cons: Mapping[str, Any]) -> dict:
    """Scenarios II and III: one line per construction (memoriser, generaliser) with its checks."""
    import pandas as pd

    table = pd.DataFrame({name: cons[name] for name in ("memoriser", "generaliser")}).T
    return {"constructions_table": table}


def no_frames(config: Mapping[str, Any], rows: list, cons: Mapping[str, Any]) -> dict:
    return {}


# -- statistics and verdict helpers (pure) -------------------------------------------------------


def mean_ci95(values: Iterable[float]) -> tuple[float, list[float] | None]:
    """Mean and Student-t 95% interval over replicates (None for fewer than 2 values)."""
    v = np.asarray(list(values), dtype=float)
    mean = float(v.mean())
    if len(v) < 2:
        return mean, None
    half = float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return mean, [mean - half, mean + half]


def accuracy_ci95(accs: Iterable[float], n_test: int) -> tuple[float, list[float] | None]:
    """Mean of per-seed accuracies and a 95 % interval for it that stays inside [0, 1].

    A Wilson score interval with an effective sample size (the design-effect form used for
    clustered proportions, Korn & Graubard 1998): the spread between seeds, not the number of test
    points, sets the width. With k seeds, mean p̂ and standard error se = s/√k,
    ``n_eff = p̂(1 − p̂)/se²`` (capped at the k·``n_test`` test predictions behind p̂; the cap is
    also used when all seeds agree, se = 0), and the Wilson interval is taken at n_eff with the
    Student-t quantile on k − 1 degrees of freedom instead of z:

        (p̂ + t²/2n_eff ± t √(p̂(1 − p̂)/n_eff + t²/4n_eff²)) / (1 + t²/n_eff).

    It reduces to the Wilson interval for independent test points, is asymmetric near 1 (the
    uncertainty of a mean accuracy close to 1 is mostly downwards) and never leaves [0, 1] — unlike
    p̂ ± t·se, which gave [0.912, 1.054] for W3. ``None`` for fewer than 2 seeds.
    """
    v = np.asarray(list(accs), dtype=float)
    p = float(v.mean())
    k = len(v)
    if k < 2:
        return p, None
    t = float(stats.t.ppf(0.975, k - 1))
    se2 = float(v.var(ddof=1)) / k
    cap = float(k * int(n_test))
    n_eff = min(p * (1 - p) / se2, cap) if se2 > 0 else cap
    r = t * t / n_eff
    centre = (p + r / 2) / (1 + r)
    half = t / (1 + r) * math.sqrt(p * (1 - p) / n_eff + r / (4 * n_eff))
    return p, [max(0.0, centre - half), min(1.0, centre + half)]


def tie_broken_accuracy(out: torch.Tensor, y: torch.Tensor) -> float:
    """Expected accuracy when an output of exactly 0 is resolved by a fair coin."""
    return float(((y * out > 0).double() + 0.5 * (out == 0).double()).mean())


def by_seed(rows: Iterable[Mapping[str, Any]], run: str) -> dict[int, Mapping[str, Any]]:
    """The rows of one run, keyed by seed."""
    return {int(r["seed"]): r for r in rows if r.get("run") == run}


def constructions_hold(cons: Mapping[str, Any], th: Mapping[str, Any]) -> bool:
    """The registered construction check shared by Scenarios II and III: the memoriser and the
    4-neuron generaliser both interpolate (train MSE < ``th["construction_train_mse"]``) at the
    minimal trace (relative error < ``th["construction_rel_err"]``); the memoriser outputs exactly
    0 on a fraction ``th["memoriser_zero_frac"]`` of the test points and the generaliser's test
    accuracy is at least ``th["generaliser_acc"]``."""
    mem, gen = cons["memoriser"], cons["generaliser"]
    return bool(
        all(m["train_mse"] < th["construction_train_mse"] for m in (mem, gen))
        and all(m["rel_err_bound"] < th["construction_rel_err"] for m in (mem, gen))
        and mem["frac_test_outputs_zero"] >= th["memoriser_zero_frac"]
        and gen["test_acc"] >= th["generaliser_acc"]
    )


def verdict_from_counts(check: bool, counts: Mapping[str, int], main: str, min_seeds: int) -> str:
    """The rule shape of W2 and W3: reproduced if the construction ``check`` holds and every
    per-seed condition holds in ≥ ``min_seeds`` seeds; partially reproduced if the check holds
    and the ``main`` condition does; not reproduced otherwise."""
    if check and all(n >= min_seeds for n in counts.values()):
        return "reproduced"
    if check and counts[main] >= min_seeds:
        return "partially_reproduced"
    return "not_reproduced"


def _text(value: Any) -> str:
    return " ".join(str(value).split())


# -- the study protocol, once for the three scenarios --------------------------------------------


Checks = Callable[[Mapping[str, Any], Mapping[str, Any], list[dict], Mapping[str, Any]], dict]


@dataclass(frozen=True)
class Scenario:
    """What distinguishes one Wen scenario study; the protocol functions are generic.

    ``constructions(config) -> row`` computes the ``"constructions"`` unit; ``checks(rule,
    config, rows, cons) -> dict`` is the pure verdict function of the claim: from the registered
    claim block ``rule`` (its ``thresholds`` and ``target``), the config, the training rows and the
    constructions row it returns ``verdict``, ``our_value``, ``ci95``, ``per_seed``,
    ``conditions`` and ``details`` (extra claim details); ``frames(config, rows, cons) -> dict``
    adds the chapter's scenario-specific tables; ``bound(config)`` is the minimal trace among
    interpolators that the figures draw.
    """

    study: str
    claim_id: str
    labels: dict[str, str]
    constructions: Callable[[Mapping[str, Any]], dict[str, Any]]
    checks: Checks
    bound: Callable[[Mapping[str, Any]], float]
    frames: Callable[[Mapping[str, Any], list[dict], Mapping[str, Any]], dict[str, Any]] = no_frames

    def compute_unit(self, cfg: Mapping[str, Any], key: str, device: str = "cpu") -> dict[str, Any]:
        """The row of unit ``key`` from scratch (CPU only: ``device`` is accepted and ignored)."""
        del device  # float64 numpy on the CPU, the same bits on every worker
        if key == CONSTRUCTIONS:
            with sam.single_threaded():
                return self.constructions(cfg)
        return train_unit(cfg, key)

    def analyse(self, scale: str) -> dict[str, Any]:
        """Everything the chapter shows, from the stored table only (see :mod:`base`)."""
        table = base.load_table(self.study, scale)
        config = table.config
        cons = table.get(CONSTRUCTIONS)
        rows = [table.get(k) for k in unit_keys(config)]
        rule = base.rule(self.study, self.claim_id)
        checks = self.checks(rule, config, rows, cons)
        prov = base.provenance(table)
        return {
            "study": self.study,
            "claim_id": self.claim_id,
            "scale": scale,
            "config": config,
            "constructions": cons,
            "final": final_frame(rows),
            "history": history_frame(rows),
            "checks": checks,
            "labels": self.labels,
            "bound": self.bound(config),
            "provenance": prov,
            "stored": prov["tables"][0],
            "wall_s": prov["wall_s"],
            **self.frames(config, rows, cons),
        }

    def claims(self, result: Mapping[str, Any]) -> list[Claim]:
        """The claim record, its verdict from :attr:`checks` (already in ``result``)."""
        c = result["checks"]
        rule = base.rule(self.study, self.claim_id)
        details = {
            "conditions": c["conditions"],
            "per_seed": {str(k): v for k, v in c["per_seed"].items()},
            **c["details"],
            "deviations": _text(rule["deviations"]),
        }
        return [
            base.registered_claim(
                self.study,
                self.claim_id,
                our_value=c["our_value"],
                ci95=c["ci95"],
                verdict=c["verdict"],
                provenance=result["provenance"],
                details=details,
            )
        ]
