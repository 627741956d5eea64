"""Pieces shared by the MNIST studies: datasets, data subsets, fixed batches, the one data context of
a registered split (:func:`context`) and the weights' fingerprint. The one training recipe is
:func:`weakness_lib.studies.bennett.networks.train_network`."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from weakness_lib.bennett.data import Dataset, load_dataset, make_split
from weakness_lib.engine.base import VerifyRule
from weakness_lib.studies.bennett.settings import HeadToHead, InvarianceAudit

#: ``VERIFY`` of the studies that store λ_max: it is compared within the registered relative
#: ``lanczos_tol``, not bitwise (certified Lanczos replaced the ARPACK path the committed results
#: used), and the solver's diagnostics (products used, residual reached) are reported, not compared
LAMBDA_MAX_VERIFY = VerifyRule(tolerances={"lambda_max": "lanczos_tol"},
                               diagnostics=frozenset({"lambda_max_residual", "n_hvp", "lanczos_hvps",
                                                      "lanczos_residual"}))

_DATA_CACHE: dict[str, Dataset] = {}


def dataset(name: str) -> Dataset:
    """Load a dataset once per process."""
    if name not in _DATA_CACHE:
        _DATA_CACHE[name] = load_dataset(name)
    return _DATA_CACHE[name]


def weights_digest(model: torch.nn.Module) -> str:
    """SHA-256 of the raw parameter bytes (bit-identity check for re-trained networks)."""
    h = hashlib.sha256()
    for name, p in model.state_dict().items():
        h.update(name.encode())
        h.update(p.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def fixed_batch(n_available: int, size: int, seed: int) -> np.ndarray:
    """``size`` distinct positions in ``range(n_available)``, chosen by ``seed`` (sorted)."""
    if size > n_available:
        raise ValueError(f"batch of {size} requested from {n_available} examples")
    return np.sort(np.random.default_rng(seed).choice(n_available, size, replace=False))


def split_for(data: Dataset, n_train: int, n_probe: int, split_seed: int):
    return make_split(data.train_y, n_train, n_probe, split_seed)


@dataclass(frozen=True)
class Context:
    """Data shared by every network of one study (identical across seeds)."""

    X: Tensor
    y: Tensor
    Xt: Tensor
    yt: Tensor
    Xc: Tensor
    yc: Tensor
    probe_x: Tensor
    w2_x: Tensor

    def to(self, device: str) -> Context:
        """The same tensors on ``device`` (the object itself on the CPU: nothing is copied)."""
        if device == "cpu":
            return self
        return type(self)(**{k: getattr(self, k).to(device) for k in self.__dataclass_fields__})


@functools.lru_cache(maxsize=4)
def _context(ds: str, n_train: int, n_probe: int, split_seed: int, curvature_batch: int,
             curvature_seed: int, w2_probe: int) -> Context:
    data = dataset(ds)
    split = split_for(data, n_train, n_probe, split_seed)
    X, y = data.train_x[split.train], data.train_y[split.train]
    c = fixed_batch(len(split.train), curvature_batch, curvature_seed)
    probe_x = data.train_x[split.probe]
    w2 = fixed_batch(len(split.probe), w2_probe, split_seed)
    return Context(X=X, y=y, Xt=data.test_x, yt=data.test_y, Xc=X[c], yc=y[c],
                   probe_x=probe_x, w2_x=probe_x[w2])


def context(cfg: HeadToHead | InvarianceAudit) -> Context:
    """The (CPU) data of the study of ``cfg`` (its dataset, split, probe and curvature settings),
    loaded once per process."""
    return _context(cfg.dataset, cfg.n_train, cfg.n_probe, cfg.split_seed,
                    cfg.curvature_batch, cfg.curvature_seed, cfg.w2_probe)
