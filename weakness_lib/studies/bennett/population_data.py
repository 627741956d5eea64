"""Data and measurements shared by the confirmatory studies of chapter 05b (replication, n = 60,000,
robustness population).

Two probe designs, chosen by the config key ``probe_source``:

``"train"`` (the B6/B7 recipe, unchanged)
    training subset = first ``n_train`` of the stratified order of the 60,000 training images
    (:func:`weakness_lib.bennett.data.make_split`), probe set U = its last ``n_probe`` (held out,
    labelled), test accuracy on all 10,000 test images; the alternative probe set is the
    held-out half of the test images (below).
``"test"`` (needed once ``n_train`` can be 60,000: no training image is left unseen)
    training subset = first ``n_train`` of the same stratified order; the 10,000 test images are
    split, stratified by ``split_seed``, into a held-out half H (probe set U and the labelled
    validation split) and an evaluation half E (test accuracy, 5,000 images). The alternative
    probe set is the last ``n_probe`` training images of the stratified order (unseen for
    n_train ≤ 60,000 − n_probe, seen at 60,000).

The curvature batch is ``curvature_batch`` fixed images of the first ``curvature_pool`` training
images (default: the whole training subset, as in the B6/B7 recipe), so nested subsets share it.

:func:`extra_measures` adds the reference points and ablations to the head-to-head measures: the
validation oracle (accuracy on U, whose labels are never used for training), the mean confidence
on U, a fitted temperature T* and W1 on softmax(z/T*) at each τ (suffix ``_cal``), W1 at the
first τ on the alternative probe set (suffix ``_alt``), and the magnitude-aware PAC-Bayes
flatness σ′* (:func:`weakness_lib.bennett.measures.pacbayes.pacbayes_mag_flatness`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from torch import Tensor, nn

from weakness_lib.bennett.data import make_split, stratified_order
from weakness_lib.bennett.measures.pacbayes import pacbayes_mag_flatness
from weakness_lib.bennett.weakness import column
from weakness_lib.bennett.weakness.calibration import fit_temperature, mean_confidence
from weakness_lib.bennett.weakness.logits import probe_logits
from weakness_lib.bennett.weakness.w1 import w1_log_freedom
from weakness_lib.studies.bennett.common import Context, dataset, fixed_batch
from weakness_lib.studies.bennett.settings import Family, Population

__all__ = ["PopulationData", "population_data", "data_for", "extra_measures", "PROBE_SOURCES"]

PROBE_SOURCES: tuple[str, ...] = ("train", "test")


@dataclass(frozen=True)
class PopulationData(Context):
    """The head-to-head's data context (training set X, y; evaluation set Xt, yt; curvature batch
    Xc, yc; probe set probe_x and its W2 subset w2_x) plus the probe set's labels (probe_y) and the
    alternative probe set (alt_x)."""

    probe_y: Tensor
    alt_x: Tensor


def _test_halves(test_y: Tensor, n_heldout: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(held-out, evaluation) indices of the test images: a stratified split by ``seed``."""
    s = make_split(test_y, len(test_y) - n_heldout, n_heldout, seed)
    return s.probe, s.train


@functools.lru_cache(maxsize=8)
def population_data(ds: str, n_train: int, n_probe: int, probe_source: str, split_seed: int,
                    curvature_batch: int, curvature_seed: int, curvature_pool: int | None,
                    w2_probe: int) -> PopulationData:
    """The data of one network's design (cached per process; CPU tensors)."""
    if probe_source not in PROBE_SOURCES:
        raise ValueError(f"probe_source must be one of {PROBE_SOURCES}, got {probe_source!r}")
    data = dataset(ds)
    heldout, evaluation = _test_halves(data.test_y, n_probe, split_seed)
    if probe_source == "train":
        split = make_split(data.train_y, n_train, n_probe, split_seed)
        train_idx, probe_x, probe_y = split.train, data.train_x[split.probe], data.train_y[split.probe]
        Xt, yt, alt_x = data.test_x, data.test_y, data.test_x[heldout]
    else:
        order = stratified_order(data.train_y, split_seed)
        if not 1 <= n_train <= len(order):
            raise ValueError(f"n_train={n_train} must be in [1, {len(order)}]")
        train_idx = np.sort(order[:n_train])
        probe_x, probe_y = data.test_x[heldout], data.test_y[heldout]
        Xt, yt = data.test_x[evaluation], data.test_y[evaluation]
        alt_x = data.train_x[np.sort(order[len(order) - n_probe:])]
    X, y = data.train_x[train_idx], data.train_y[train_idx]
    pool = n_train if curvature_pool is None else int(curvature_pool)
    if pool > n_train:
        raise ValueError(f"curvature_pool={pool} exceeds n_train={n_train}")
    if curvature_pool is None:
        c = fixed_batch(len(train_idx), curvature_batch, curvature_seed)
        Xc, yc = X[c], y[c]
    else:  # the first `pool` images of the stratified order: shared by every nested subset
        order = stratified_order(data.train_y, split_seed)
        pool_idx = np.sort(order[:pool])
        c = pool_idx[fixed_batch(pool, curvature_batch, curvature_seed)]
        Xc, yc = data.train_x[c], data.train_y[c]
    w2 = fixed_batch(len(probe_x), w2_probe, split_seed)
    return PopulationData(X=X, y=y, Xt=Xt, yt=yt, Xc=Xc, yc=yc, probe_x=probe_x, probe_y=probe_y,
                          w2_x=probe_x[w2], alt_x=alt_x)


def data_for(cfg: Population, *, dataset_name: str | None = None,
             n_train: int | None = None) -> PopulationData:
    """:func:`population_data` with the settings of ``cfg`` (``dataset``/``n_train`` overridable:
    a grid population, which has neither, gives each network's own)."""
    return population_data(
        dataset_name or cfg.dataset, int(n_train or cfg.n_train), int(cfg.n_probe),
        cfg.probe_source, int(cfg.split_seed), int(cfg.curvature_batch),
        int(cfg.curvature_seed), cfg.curvature_pool, int(cfg.w2_probe))


def extra_measures(model: nn.Module, d: PopulationData, taus: Sequence[float],
                   cfg: Family) -> dict[str, float]:
    """Reference points and admissibility ablations of one network (float64 forward passes)."""
    z = probe_logits(model, d.probe_x)
    temperature = fit_temperature(z, d.probe_y)
    out: dict[str, float] = {
        "val_acc": float((z.argmax(1) == d.probe_y).double().mean()),
        "mean_conf": mean_confidence(z),
        "temperature": temperature,
    }
    for tau in taus:
        out[column("w1", tau=tau) + "_cal"] = w1_log_freedom(z / temperature, tau=tau)
    out[column("w1", tau=taus[0]) + "_alt"] = w1_log_freedom(probe_logits(model, d.alt_x), tau=taus[0])
    out["pacbayes_mag_sigma"] = pacbayes_mag_flatness(
        model, d.Xc, d.yc, n_draws=int(cfg.pacbayes_draws),
        n_bisect=int(cfg.pacbayes_bisect), seed=int(cfg.curvature_seed))
    return out
