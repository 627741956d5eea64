"""Every output-space weakness estimator of one network, in one call (the results-table row)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from weakness_lib.bennett.weakness.columns import DEFAULT_DELTAS, DEFAULT_TAUS, column
from weakness_lib.bennett.weakness.logits import probe_logits
from weakness_lib.bennett.weakness.w1 import (
    fraction_singleton,
    mean_permitted,
    predictive_entropy,
    w1_log_freedom,
)
from weakness_lib.bennett.weakness.w2 import (
    MNIST_SHAPE,
    Transform,
    transformation_compatibility,
    wrong_group_transforms,
)

__all__ = ["weakness_table"]


def weakness_table(
    model: nn.Module,
    probe_x: Tensor,
    *,
    taus: Sequence[float] = DEFAULT_TAUS,
    deltas: Sequence[float] = DEFAULT_DELTAS,
    transforms: Sequence[Transform] | None = None,
    image_shape: tuple[int, ...] = MNIST_SHAPE,
    dtype: torch.dtype | None = torch.float64,
    with_w2: bool = True,
) -> dict[str, float]:
    """Every output-space weakness estimator of one network on the probe set, in one call.

    Keys (in the order of :func:`~weakness_lib.bennett.weakness.weakness_columns`, names from
    :func:`~weakness_lib.bennett.weakness.column`): ``w1_tau{τ}``, ``mean_A_tau{τ}``,
    ``frac_single_tau{τ}``, ``w1_delta{δ}``, ``mean_A_delta{δ}``, ``entropy_bits``, ``w2``
    (count out of |G|), ``w2_frac`` and ``w2_wrong_vflip`` (agreement under the wrong-group
    control). Higher = weaker.
    """
    z = probe_logits(model, probe_x, dtype=dtype)
    out: dict[str, float] = {}
    for t in taus:
        out[column("w1", tau=t)] = w1_log_freedom(z, tau=t)
        out[column("mean_A", tau=t)] = mean_permitted(z, tau=t)
        out[column("frac_single", tau=t)] = fraction_singleton(z, tau=t)
    for d in deltas:
        out[column("w1", delta=d)] = w1_log_freedom(z, delta=d)
        out[column("mean_A", delta=d)] = mean_permitted(z, delta=d)
    out["entropy_bits"] = predictive_entropy(z)
    if with_w2:
        w2 = transformation_compatibility(
            model, probe_x, transforms=transforms, image_shape=image_shape, dtype=dtype, base_logits=z
        )
        wrong = transformation_compatibility(
            model, probe_x, transforms=wrong_group_transforms(), image_shape=image_shape,
            dtype=dtype, base_logits=z,
        )
        out["w2"] = w2.count
        out["w2_frac"] = w2.fraction
        out["w2_wrong_vflip"] = wrong.fraction
    return out
