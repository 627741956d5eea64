"""The training loop: phases, epochs, the per-epoch permutation, logging and progress."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from torch import Tensor

from weakness_lib.curvature import Params
from weakness_lib.wen.sam.spec import Phase, TrainResult, TrainSpec
from weakness_lib.wen.sam.trainer import Trainer
from weakness_lib.wen.twolayer import TwoLayerSpec

__all__ = ["train"]


def train(
    spec: TwoLayerSpec,
    params: Params,
    X: Tensor,
    y: Tensor,
    train_spec: TrainSpec,
    seed: int,
    log_at: Sequence[int] = (),
    callback: Callable[[int, Params], dict[str, Any]] | None = None,
    progress: bool = False,
) -> TrainResult:
    """Run ``train_spec`` from ``params`` on (X, y); deterministic given ``seed``.

    After every epoch count in ``log_at`` (0 = before training) ``callback(epoch, params)`` is
    called with a copy of the parameters and its dict is appended to the history together with
    ``epoch``, ``step`` and the current phase's ``lr``/``rho``. Raises
    :class:`TrainingDivergedError` naming the step when an output or the loss is not finite.
    """
    trainer = Trainer(spec, params, X, y)
    if train_spec.project_norm is not None:
        trainer._project(train_spec.project_norm)
    rng = np.random.default_rng(seed)
    logs = set(int(e) for e in log_at)
    history: list[dict[str, Any]] = []
    full = train_spec.algorithm in ("gd", "sam")
    sam = train_spec.algorithm in ("1sam", "sam")
    R = train_spec.project_norm

    def log(epoch: int, phase: Phase) -> None:
        if callback is not None and epoch in logs:
            row = {"epoch": epoch, "step": trainer.step_count, "lr": phase.lr, "rho": phase.rho}
            row.update(callback(epoch, trainer.params()))
            history.append(row)

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=train_spec.epochs, desc=train_spec.algorithm, leave=False)
    start = time.perf_counter()
    epoch = 0
    log(0, train_spec.phases[0])
    with np.errstate(over="ignore", invalid="ignore"):
        for phase in train_spec.phases:
            for _ in range(phase.epochs):
                if full:
                    trainer.step_full(phase, sam, R)
                else:
                    for k in rng.permutation(trainer.n):
                        trainer.step_example(int(k), phase, sam, R)
                epoch += 1
                log(epoch, phase)
                if bar is not None:
                    bar.update(1)
    if bar is not None:
        bar.close()
    return TrainResult(
        params=trainer.params(),
        history=history,
        steps=trainer.step_count,
        epochs=epoch,
        wall_s=time.perf_counter() - start,
    )
