"""Pieces shared by the Bennett experiment chapters 02–05 (invariance audit, batch size, head-to-head).

* :func:`train_network` trains one seeded MLP with :mod:`weakness_lib.bennett.train` (initialised on
  the CPU, trained on ``device``; the CPU is the bitwise reference);
* :func:`performance` gives train/test loss and accuracy and the two generalisation gaps;
* :func:`weakness_measures` and :func:`family_measures` compute every weakness estimator
  (:mod:`weakness_lib.bennett.weakness`) and every sharpness/simplicity measure
  (:mod:`weakness_lib.bennett.measures`) of one network — thin adapters, no measure is re-implemented here;
* :data:`ORIENTATION` maps each column to its family and hypothesis-oriented sign (reference §2):
  +1 if the hypothesis says "higher ⇒ generalises better" (weakness, flatness, simplicity), −1 for
  sharpness and complexity, so ρ_oriented = sign · ρ_raw.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from torch import Tensor, nn

from weakness_lib.bennett.models import MLP, build_mlp
from weakness_lib.bennett.train import TrainConfig, evaluate, train
from weakness_lib.bennett.weakness import (
    transformation_compatibility,
    weakness_table,
    wrong_group_transforms,
)
from weakness_lib.core.store import Table
from weakness_lib.studies.bennett.common import weights_digest
from weakness_lib.studies.bennett.settings import Family, Population, Train

__all__ = [
    "train_network",
    "performance",
    "weakness_measures",
    "family_measures",
    "measure_families",
    "measure_network",
    "predictions_digest",
    "family_of",
    "orientation_of",
    "DISCRETE_WEAKNESS_PREFIXES",
]


def train_network(
    X: Tensor, y: Tensor, widths: Sequence[int], train_cfg: Train | Mapping[str, Any], seed: int,
    progress: bool = False, *, device: str = "cpu", eval_set: tuple[Tensor, Tensor] | None = None,
) -> tuple[MLP, dict[str, Any]]:
    """The one training recipe of every Bennett study: initialise ``build_mlp(widths, seed=seed)``
    (on the CPU, so the initial weights are the same on every device) and train it on (X, y) with
    batch order ``seed`` on ``device``.

    Returns the model (on ``device``) and a record: epochs, steps, final full-batch train loss,
    wall time and the SHA-256 of the trained weights (bit-identity fingerprint for ``verify``;
    bitwise only on the CPU). With ``eval_set`` the record also holds the final train accuracy and
    the per-epoch ``history`` with the eval set's loss and accuracy (evaluation in eval mode after
    each epoch: it does not change the trained weights).
    """
    model = build_mlp(list(widths), seed=seed)
    fields = dataclasses.asdict(train_cfg) if dataclasses.is_dataclass(train_cfg) else train_cfg
    res = train(model, X, y, TrainConfig(**fields), seed=seed, progress=progress, device=device,
                eval_set=eval_set)
    record = {
        "seed": int(seed),
        "epochs": int(res.epochs),
        "steps": int(res.steps),
        "final_train_loss": float(res.final_train_loss),
        "train_wall_s": float(res.wall_s),
        "weights_sha256": weights_digest(model),
    }
    if eval_set is not None:
        record.update(final_train_acc=float(res.final_train_acc), history=res.history)
    return model, record


def performance(model: nn.Module, X: Tensor, y: Tensor, Xt: Tensor, yt: Tensor) -> dict[str, float]:
    """Train/test mean cross-entropy and accuracy, test error, and the gaps.

    gap_acc = train_acc − test_acc, gap_loss = test_loss − train_loss (both ≥ 0 when overfitting).
    """
    train_loss, train_acc = evaluate(model, X, y)
    test_loss, test_acc = evaluate(model, Xt, yt)
    return {
        "train_loss": train_loss,
        "train_acc": train_acc,
        "test_loss": test_loss,
        "test_acc": test_acc,
        "test_err": 1.0 - test_acc,
        "gap_acc": train_acc - test_acc,
        "gap_loss": test_loss - train_loss,
    }


def weakness_measures(
    model: nn.Module, probe_x: Tensor, w2_x: Tensor, taus: Sequence[float], deltas: Sequence[float],
) -> dict[str, float]:
    """Every output-space weakness estimator (float64 forward passes).

    W1 (each τ and δ), mean |A|, fraction |A| = 1 and mean entropy on ``probe_x``; W2 (12
    transformations of reference §4.2) and the vertical-flip control on ``w2_x``.
    """
    out = weakness_table(model, probe_x, taus=taus, deltas=deltas, with_w2=False)
    w2 = transformation_compatibility(model, w2_x)
    wrong = transformation_compatibility(model, w2_x, transforms=wrong_group_transforms())
    out["w2"] = w2.count
    out["w2_frac"] = w2.fraction
    out["w2_wrong_vflip"] = wrong.fraction
    return out


def family_measures(
    model: nn.Module, Xc: Tensor, yc: Tensor, m: Family, n_train: int
) -> dict[str, float]:
    """Every sharpness and simplicity measure of :func:`weakness_lib.bennett.measures.measure_table`
    on the fixed curvature batch (Xc, yc), float64, for a network trained on ``n_train`` images,
    with the registered :class:`~weakness_lib.studies.bennett.settings.Family` settings ``m`` (one
    not registered, and all other arguments, at the measure's default). Its wall-time keys ``cost_<group>_s`` are renamed
    ``<group>_wall_s`` so that every key ending in ``_wall_s`` is a timing (excluded from the
    bit-for-bit comparison of ``verify``)."""
    from weakness_lib.bennett.measures import measure_table

    registered = {"sam_rho": (float, m.sam_rho), "pb_draws": (int, m.pacbayes_draws),
                  "pb_bisect": (int, m.pacbayes_bisect)}
    out = measure_table(
        model, (Xc, yc), n_train=int(n_train), lanczos_tol=float(m.lanczos_tol),
        n_probes=int(m.hutchinson_probes), seed=int(m.curvature_seed),
        **{k: kind(v) for k, (kind, v) in registered.items() if v is not None},  # None: its default
    )
    renamed = {}
    for k, v in out.items():
        if k.startswith("cost_") and k.endswith("_s"):
            k = k[len("cost_"):-len("_s")] + "_wall_s"
        renamed[k] = float(v)
    return renamed


def measure_network(model: nn.Module, data: Any, cfg: Population, n_train: int) -> dict[str, float]:
    """Every number the head-to-head recipe records of one trained network, in one fixed order:
    :func:`performance` on (``data.X``, ``data.y``) and (``data.Xt``, ``data.yt``), then
    :func:`weakness_measures` on ``data.probe_x`` / ``data.w2_x``, then :func:`family_measures` on
    the curvature batch (``data.Xc``, ``data.yc``), of a network trained on ``n_train`` images. ``data`` is any object with those fields (the
    :class:`~weakness_lib.studies.bennett.common.Context`, :class:`~weakness_lib.studies.bennett.population_data.PopulationData`)."""
    row = performance(model, data.X, data.y, data.Xt, data.yt)
    row.update(weakness_measures(model, data.probe_x, data.w2_x, cfg.taus, cfg.deltas))
    row.update(family_measures(model, data.Xc, data.yc, cfg, n_train))
    return row


def measure_families() -> dict[str, tuple[str, int]]:
    """(family, orientation) of every sharpness/simplicity column, from ``measures.MEASURES``."""
    from weakness_lib.bennett.measures import MEASURES

    return {name: (spec.family, spec.orientation) for name, spec in MEASURES.items()}


def predictions_digest(model: nn.Module, X: Tensor) -> str:
    """SHA-256 of the arg-max predictions of ``model`` on X (float64 forward pass)."""
    from weakness_lib.bennett.weakness import probe_logits

    pred = probe_logits(model, X).argmax(dim=1).numpy().astype(np.int64)
    return hashlib.sha256(pred.tobytes()).hexdigest()


def timed(fn, *args, **kwargs) -> tuple[Any, float]:
    """``(fn(*args, **kwargs), wall seconds)``."""
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


# Column families and hypothesis-oriented signs -------------------------------------------------
DISCRETE_WEAKNESS_PREFIXES: tuple[str, ...] = ("w1_", "mean_A_", "frac_single_", "w2")

_FAMILY_RULES: tuple[tuple[str, str, int], ...] = (
    # (prefix, family, orientation); first match wins
    ("w2_wrong", "control", 1),
    ("frac_single_", "weakness", -1),   # more |A| = 1 ⇒ fewer completions ⇒ less weak
    ("w1_", "weakness", 1),
    ("mean_A_", "weakness", 1),
    ("w2", "weakness", 1),
    ("entropy", "weakness", 1),
    ("pacbayes_mag", "sharpness", 1),   # magnitude-aware PAC-Bayes σ′*: higher = flatter
    ("val_acc", "reference", 1),        # validation oracle (held-out labelled accuracy)
    ("mean_conf", "reference", 1),      # mean max-softmax confidence on the probe set
)


def family_of(column: str, extra: Mapping[str, tuple[str, int]] | None = None) -> str | None:
    """The family ("weakness", "sharpness", "simplicity", "control") of a measure column."""
    if extra and column in extra:
        return extra[column][0]
    for prefix, fam, _ in _FAMILY_RULES:
        if column.startswith(prefix):
            return fam
    return None


def orientation_of(column: str, extra: Mapping[str, tuple[str, int]] | None = None) -> int:
    """+1 if the family's hypothesis predicts ρ(column, test acc) > 0, else −1 (reference §2)."""
    if extra and column in extra:
        return extra[column][1]
    for prefix, _, sign in _FAMILY_RULES:
        if column.startswith(prefix):
            return sign
    raise KeyError(f"no family/orientation registered for measure column {column!r}")


def wall_time(table: Table) -> dict[str, float]:
    """Compute time of a table (sum over stored units, split into training and measuring) and the
    elapsed span from its first to its last finished unit."""
    rows = table.rows()
    if not rows:
        return {"compute_s": 0.0, "elapsed_s": 0.0, "per_unit_s": float("nan")}
    stamps = sorted(pd.Timestamp(r["_finished"]) for r in rows)
    total = table.total_wall_s()
    return {"compute_s": total, "elapsed_s": float((stamps[-1] - stamps[0]).total_seconds()),
            "per_unit_s": total / len(rows),
            "train_s": float(sum(r.get("train_wall_s", 0.0) for r in rows)),
            "measure_s": float(sum(r.get("measure_wall_s", 0.0) for r in rows))}
