"""Claim IV: does weakness (W2) tell us anything about test accuracy that a validation set does not?

Pre-registered in ``configs/weakness_vs_validation.yaml`` before either population it reads was
computed; this module implements that text. The study trains nothing: it has no units and
analyses two stored populations of 100 networks each (registry ``needs``): B6-60k-R
(``scale_60k_mnist_r``, MNIST) and B7-60k (``scale_60k_fmnist``, Fashion-MNIST), both at
n = 60,000, where the validation oracle ``val_acc`` is the accuracy on the probe half U of the test
set (5,000 labelled images) and ``test_acc`` the accuracy on the evaluation half E.

Per dataset (:mod:`weakness_lib.bennett.added_information` for the maths):

* primary: partial Spearman ρ(W2, test_acc | val_acc), two-sided p with n − 3 df, 95 % percentile
  bootstrap CI (10,000 resamples of networks, seed 0, ranks recomputed per resample);
* reported beside it: the same given mean confidence, and given both; the paired-bootstrap
  difference ρ(W2, test_acc) − ρ(val_acc, test_acc) (same resamples); the oracle's sampling noise
  and the noise-only reference ρ(a, test | oracle) of a perfect predictor.

Verdict: Holm over the two datasets' p; ``reproduced`` (W2 adds information) if the partial ρ is
> 0 with adjusted p < ``thresholds.p`` on both, ``partially_reproduced`` on exactly one,
``not_reproduced`` on neither. The claim's value is the smaller partial ρ.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from weakness_lib.bennett.added_information import (
    difference_with_ci,
    oracle_noise,
    partial_with_ci,
    resample_indices,
)
from weakness_lib.bennett.stats import holm
from weakness_lib.core.claims import Claim
from weakness_lib.engine import base
from weakness_lib.studies.bennett import settings

DEVICES: tuple[str, ...] = ("cpu",)
STUDY = "weakness_vs_validation"
SETTINGS = settings.WeaknessVsValidation  # the typed settings of configs/<study>.yaml
CLAIM = "IV"
TRAINS = False  # no units of its own: verify re-computes the populations it reads instead
DATASET_NAMES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}


def units(cfg: settings.WeaknessVsValidation | Mapping[str, Any]) -> list[list[str]]:
    """None: IV trains no network; it analyses the stored populations it ``needs``."""
    return []


def compute_unit(cfg: settings.WeaknessVsValidation | Mapping[str, Any], key: str,
                 device: str = "cpu") -> dict[str, Any]:
    """IV has no units (see :func:`units`); asking for one is an error naming the populations."""
    cfg = base.typed(cfg)
    pops = ", ".join(cfg.populations.values())
    raise ValueError(f"{cfg.experiment} has no units: it analyses the stored tables of {pops}")


def dataset_report(cfg: settings.WeaknessVsValidation, df: pd.DataFrame, images: int) -> dict[str, Any]:
    """Everything IV registers for one population (a frame with one row per network)."""
    x, y = df[cfg.measure].to_numpy(float), df[cfg.target].to_numpy(float)
    oracle, control = df[cfg.oracle].to_numpy(float), df[cfg.control].to_numpy(float)
    idx = resample_indices(len(df), int(cfg.bootstrap_resamples), int(cfg.bootstrap_seed))
    return {
        "networks": int(len(df)),
        "given_oracle": partial_with_ci(x, y, oracle, idx),
        "given_confidence": partial_with_ci(x, y, control, idx),
        "given_both": partial_with_ci(x, y, np.column_stack([oracle, control])),
        "difference": difference_with_ci(x, oracle, y, idx),
        "oracle_noise": oracle_noise(oracle, y, images, int(cfg.noise_simulations),
                                     int(cfg.noise_seed)),
    }


def iv_verdict(per_dataset: Mapping[str, Mapping[str, Any]], alpha: float
               ) -> tuple[str, dict[str, float | None]]:
    """The registered rule on each dataset's partial ρ given the oracle: Holm over the datasets'
    two-sided p; a dataset counts if its partial ρ > 0 and its adjusted p < ``alpha``. Returns the
    verdict and the adjusted p per dataset (None where ρ is undefined, which never counts)."""
    names = [d for d in per_dataset if per_dataset[d]["given_oracle"]["rho"] is not None]
    adjusted = dict(zip(names, holm([per_dataset[d]["given_oracle"]["p"] for d in names]), strict=True))
    hits = sum(1 for d in names
               if per_dataset[d]["given_oracle"]["rho"] > 0 and adjusted[d] < alpha)
    verdict = ("reproduced" if hits == len(per_dataset) else
               "partially_reproduced" if hits >= 1 else "not_reproduced")
    return verdict, {d: (float(adjusted[d]) if d in adjusted else None) for d in per_dataset}


def _oracle_images(study: str, population: settings.Replication,
                   cfg: settings.WeaknessVsValidation) -> int:
    """The number of labelled images behind ``val_acc``: the population's probe half U. At full
    scale it must be the registered ``oracle_images``."""
    m = int(population.n_probe)
    if cfg.scale == "full" and m != int(cfg.oracle_images):
        raise ValueError(f"{study}: the oracle uses {m} images, IV registered "
                         f"{cfg.oracle_images} (configs/{STUDY}.yaml)")
    return m


def analyse(scale: str) -> dict[str, Any]:
    """IV on the two stored populations (complete tables, else :class:`base.MissingResults`)."""
    cfg = base.settings(STUDY, scale)  # IV trains nothing: its settings are its registration
    rule = cfg.rule(CLAIM)
    tables, per_dataset = [], {}
    for dataset, study in cfg.populations.items():
        t = base.load_table(study, scale)
        tables.append(t)
        report = dataset_report(cfg, t.to_frame(), _oracle_images(study, base.typed(t.config), cfg))
        per_dataset[dataset] = {"population": study, **report}
    verdict, adjusted = iv_verdict(per_dataset, float(rule["thresholds"]["p"]))
    for d, p in adjusted.items():
        per_dataset[d]["given_oracle"]["p_holm"] = p
    return {"study": STUDY, "claim_id": CLAIM, "scale": scale, "config": cfg.config, "settings": cfg,
            "rule": rule,
            "per_dataset": per_dataset, "verdict": verdict, "tables": tables}


def claims(result: Mapping[str, Any]) -> list[Claim]:
    """The IV claim: value = the smaller partial ρ given the oracle (its dataset's CI)."""
    per = result["per_dataset"]
    defined = {d: r["given_oracle"] for d, r in per.items() if r["given_oracle"]["rho"] is not None}
    if defined:
        worst = min(defined, key=lambda d: defined[d]["rho"])
        value = defined[worst]["rho"]
        lo, hi = defined[worst].get("ci_lo"), defined[worst].get("ci_hi")
        ci = [lo, hi] if lo is not None and hi is not None else None
    else:
        worst, value, ci = None, 0.0, None
    details = {"value_dataset": worst, "datasets": DATASET_NAMES,
               **{d: {k: v for k, v in r.items()} for d, r in per.items()}}
    return [base.registered_claim(STUDY, CLAIM, our_value=value, ci95=ci, verdict=result["verdict"],
                                  provenance=base.provenance(*result["tables"]), details=details)]
