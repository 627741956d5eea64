"""Seeded, deterministic training loops: SGD with momentum, Adam, full-batch GD (+ weight decay).

Given the same model initialisation, data, config and ``seed`` the weights after training are
bit-identical on CPU (the mini-batch order comes from a ``torch.Generator`` seeded with
``seed``; no other randomness is used). A non-finite loss raises
:class:`TrainingDivergedError` naming the step, and so does a finite divergence: after an epoch
the (cross-entropy) training loss has grown to ≥ :data:`DIVERGENCE_FACTOR` × its value at
initialisation while training accuracy is still at chance (≤ 1.5/C for C classes). Training that
ends at chance without diverging by that rule (e.g. SGD at lr = 50) returns normally with
``at_chance`` set and one :class:`TrainingAtChanceWarning`.

``device`` moves model and data (``"cuda"`` on a GPU machine); the mini-batch order is always
drawn on the CPU, so it is the same on every device. CPU results are the bitwise reference.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm  # plain: tqdm.auto warns "IProgress not found" in kernels without ipywidgets

from weakness_lib.core import checks

OPTIMIZERS: tuple[str, ...] = ("sgd", "adam", "adam_fused", "gd")
DIVERGENCE_FACTOR = 100.0


class TrainingDivergedError(FloatingPointError):
    """The training loss became NaN or infinite."""


class TrainingAtChanceWarning(UserWarning):
    """Training ended with train accuracy at chance (≤ 1.5/C) without diverging by the loss rule."""


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser and stopping rule.

    ``optimizer``: ``"sgd"`` (heavy-ball momentum, coupled weight decay θ ← θ − η(g + λθ) as in
    ``torch.optim.SGD``), ``"adam"``, ``"adam_fused"`` (the same Adam update by torch's fused
    kernel, whose square root is the CPU's correctly rounded instruction, so its bits are the same
    on every x86-64 CPU; ``"adam"`` takes √v̂ with MKL's vector math, whose last bits are each
    CPU's own: see ``core/ieee.py``), or ``"gd"`` (full-batch gradient descent: one step per
    epoch on all n examples; ``momentum`` applies if non-zero).
    Training stops after ``epochs`` epochs, after ``max_steps`` steps, or at the end of the
    first epoch where train accuracy ≥ ``stop_train_acc`` or train loss < ``stop_train_loss``
    (both evaluated on the whole training set in eval mode).
    """

    optimizer: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 64
    epochs: int = 20
    max_steps: int | None = None
    stop_train_acc: float | None = None
    stop_train_loss: float | None = None
    loss: str = "cross_entropy"

    def __post_init__(self) -> None:
        if not isinstance(self.optimizer, str) or self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; expected one of {OPTIMIZERS}")
        # numbers of any kind (numpy scalars too) become Python ints/floats; builtins unchanged
        for name in ("lr", "momentum", "weight_decay", "stop_train_acc", "stop_train_loss"):
            object.__setattr__(self, name, checks.real(name, getattr(self, name),
                                                       optional=name.startswith("stop_")))
        for name in ("batch_size", "epochs", "max_steps"):
            object.__setattr__(self, name, checks.whole(name, getattr(self, name), 1,
                                                        optional=name == "max_steps"))
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        if not 0 <= self.momentum < 1 or self.weight_decay < 0:
            raise ValueError("momentum must be in [0, 1) and weight_decay ≥ 0")
        if self.loss not in ("cross_entropy", "mse"):
            raise ValueError(f"unknown loss {self.loss!r}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainResult:
    model: nn.Module
    steps: int
    epochs: int
    final_train_loss: float
    final_train_acc: float
    wall_s: float
    history: list[dict[str, float]] = field(default_factory=list)
    #: the final train accuracy is at chance, ≤ 1.5/C for C classes (cross-entropy only)
    at_chance: bool = False


def _loss(logits: Tensor, y: Tensor, kind: str) -> Tensor:
    if kind == "cross_entropy":
        return F.cross_entropy(logits, y)
    return ((logits.reshape(y.shape) - y) ** 2).mean()


@torch.no_grad()
def evaluate(
    model: nn.Module, X: Tensor, y: Tensor, loss: str = "cross_entropy", chunk: int = 8192
) -> tuple[float, float]:
    """Mean loss and accuracy (arg-max for classification, sign agreement for MSE) on (X, y)."""
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, 0.0
    for start in range(0, len(X), chunk):
        xb, yb = X[start : start + chunk], y[start : start + chunk]
        out = model(xb.to(next(model.parameters()).dtype))
        total_loss += float(_loss(out, yb, loss)) * len(xb)
        if loss == "cross_entropy":
            correct += float((out.argmax(1) == yb).sum())
        else:
            correct += float((out.reshape(yb.shape) * yb > 0).sum())
    model.train(was_training)
    return total_loss / len(X), correct / len(X)


def _diverged(loss: float, acc: float, initial: float, n_classes: int) -> bool:
    """Finite divergence: loss ≥ factor × max(initial loss, ln C) with accuracy ≤ 1.5 / C."""
    reference = max(initial, math.log(n_classes)) if math.isfinite(initial) else math.log(n_classes)
    return loss >= DIVERGENCE_FACTOR * reference and acc <= 1.5 / n_classes


def _optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    params = model.parameters()
    if cfg.optimizer in ("adam", "adam_fused"):
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay,
                                fused=cfg.optimizer == "adam_fused")
    return torch.optim.SGD(
        params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
    )


def train(
    model: nn.Module,
    X: Tensor,
    y: Tensor,
    config: TrainConfig,
    seed: int,
    progress: bool = False,
    eval_set: tuple[Tensor, Tensor] | None = None,
    device: str | torch.device | None = None,
) -> TrainResult:
    """Train ``model`` in place on (X, y); the batch order is drawn from ``seed``.

    The per-epoch history records the mean mini-batch loss, the full training loss/accuracy
    and, if ``eval_set`` is given, its loss/accuracy. ``device`` (default: where the model is)
    receives the model and the data.
    """
    cfg = config
    if not isinstance(cfg, TrainConfig):
        raise TypeError(f"config must be a TrainConfig (e.g. TrainConfig(**settings)), got "
                        f"{type(cfg).__name__}")
    seed = checks.whole("seed", seed, where="train")
    if device is not None:
        model.to(device)
        X, y = X.to(device), y.to(device)
        if eval_set is not None:
            eval_set = (eval_set[0].to(device), eval_set[1].to(device))
    n = len(X)
    n_classes = int(y.max()) + 1 if cfg.loss == "cross_entropy" and n else 0
    initial_loss = evaluate(model, X, y, cfg.loss)[0] if n_classes else math.nan
    batch = n if cfg.optimizer == "gd" else min(cfg.batch_size, n)
    gen = torch.Generator().manual_seed(seed)
    opt = _optimizer(model, cfg)
    model.train()
    step, history = 0, []
    start = time.perf_counter()
    bar = tqdm(range(1, cfg.epochs + 1), disable=not progress, desc="train", leave=False)
    epoch = 0
    train_loss, train_acc = math.nan, math.nan
    for epoch in bar:
        order = torch.randperm(n, generator=gen) if batch < n else torch.arange(n)
        running = 0.0
        n_batches = 0
        for b in range(0, n, batch):
            idx = order[b : b + batch].to(X.device)
            loss = _loss(model(X[idx]), y[idx], cfg.loss)
            value = float(loss.detach())
            if not math.isfinite(value):
                raise TrainingDivergedError(
                    f"training loss became {value} at step {step + 1} (epoch {epoch}); "
                    f"lower the learning rate (lr={cfg.lr}) or check the inputs for NaN/inf"
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            running += value
            n_batches += 1
            if cfg.max_steps is not None and step >= cfg.max_steps:
                break
        train_loss, train_acc = evaluate(model, X, y, cfg.loss)
        record = {"epoch": epoch, "step": step, "batch_loss": running / n_batches,
                  "train_loss": train_loss, "train_acc": train_acc}
        if eval_set is not None:
            record["test_loss"], record["test_acc"] = evaluate(model, *eval_set, cfg.loss)
        history.append(record)
        bar.set_postfix(loss=f"{train_loss:.4f}", acc=f"{train_acc:.4f}")
        if not math.isfinite(train_loss):
            raise TrainingDivergedError(
                f"training loss became {train_loss} after step {step} (epoch {epoch})"
            )
        if n_classes and _diverged(train_loss, train_acc, initial_loss, n_classes):
            raise TrainingDivergedError(
                f"training diverged: after epoch {epoch} (step {step}) the training loss is "
                f"{train_loss:.3g}, ≥ {DIVERGENCE_FACTOR:g}× its initial {initial_loss:.3g}, and "
                f"train accuracy {train_acc:.3f} is at chance; lower the learning rate (lr={cfg.lr})"
            )
        if cfg.max_steps is not None and step >= cfg.max_steps:
            break
        if cfg.stop_train_acc is not None and train_acc >= cfg.stop_train_acc:
            break
        if cfg.stop_train_loss is not None and train_loss < cfg.stop_train_loss:
            break
    bar.close()
    at_chance = bool(n_classes and train_acc <= 1.5 / n_classes)
    if at_chance:
        warnings.warn(
            f"training ended at chance: train accuracy {train_acc:.3f} ≤ 1.5/{n_classes} after "
            f"{epoch} epoch(s) with lr={cfg.lr} (loss {train_loss:.3g}, not diverged by the "
            f"{DIVERGENCE_FACTOR:g}× rule): the learning rate may be too large, or training too short",
            TrainingAtChanceWarning, stacklevel=2)
    return TrainResult(
        model=model,
        steps=step,
        epochs=epoch,
        final_train_loss=train_loss,
        final_train_acc=train_acc,
        wall_s=time.perf_counter() - start,
        history=history,
        at_chance=at_chance,
    )
