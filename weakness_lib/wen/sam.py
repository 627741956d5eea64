"""Training algorithms of Wen, Li & Ma (2023) for the two-layer nets of :mod:`twolayer`.

With ℓ_k(θ) = (f(x_k) − y_k)², L = (1/n) Σ_k ℓ_k, learning rate η, SAM radius ρ and coupled
weight decay λ (θ ← θ − η(g + λθ), as PyTorch SGD):

* ``gd``    full-batch GD:        θ ← θ − η(∇L(θ) + λθ)                      (1 step / epoch)
* ``sgd``   SGD, batch 1:         θ ← θ − η(∇ℓ_k(θ) + λθ)                    (n steps / epoch)
* ``1sam``  per-example SAM:      θ̃ = θ + ρ ∇ℓ_k(θ)/‖∇ℓ_k(θ)‖,  θ ← θ − η(∇ℓ_k(θ̃) + λθ)
                                  (ascent and update on the same single example; n steps/epoch)
* ``sam``   full-batch SAM:       θ̃ = θ + ρ ∇L(θ)/‖∇L(θ)‖,      θ ← θ − η(∇L(θ̃) + λθ)

Every norm is ‖g‖ + 1e-12. An epoch of ``sgd``/``1sam`` visits the n examples in a fresh random
permutation drawn from ``numpy.random.default_rng(seed)``. ``project_norm`` = R rescales the
first layer [W1, b1] to Frobenius norm R after every step (paper Fig 6b, Sim-LN, R = 10).

Implementation: the per-example gradients are written by hand in float64 numpy (the per-step
work is latency-bound; this is ≈ 2× faster than PyTorch on these 500 × 31 matrices). For the
plain and Sim-LN nets the first-layer gradient of one example is rank one, ∇_{W1′} f = δ x′ᵀ
with δ = ∂f/∂z, so the SAM ascent point's pre-activation is W̃1′x′ = z + s‖x′‖²δ without
forming W̃1′. Sim-BN recomputes its statistics s_j over all n training points at every step and
differentiates through them. The tests check every step against ``torch.func`` autograd.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from weakness_lib.bennett.curvature import Params
from weakness_lib.wen.twolayer import TwoLayerSpec, param_names

__all__ = [
    "ALGORITHMS",
    "Phase",
    "TrainSpec",
    "TrainResult",
    "TrainingDivergedError",
    "Trainer",
    "train",
    "log_epochs",
    "single_threaded",
]

ALGORITHMS: tuple[str, ...] = ("gd", "sgd", "1sam", "sam")
_TINY = 1e-12


class TrainingDivergedError(FloatingPointError):
    """The loss or an output became NaN/inf; the message names the step."""


def _numpy_openblas() -> tuple[Callable[[], int], Callable[[int], None]] | None:
    """get/set of the OpenBLAS thread count bundled with numpy (scipy-openblas), if found."""
    libs = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    for lib in sorted(libs.glob("libscipy_openblas*.so*")):
        try:
            handle = ctypes.CDLL(str(lib))
        except OSError:
            continue
        for suffix in ("64_", "", "_64_"):
            get = getattr(handle, f"scipy_openblas_get_num_threads{suffix}", None)
            put = getattr(handle, f"scipy_openblas_set_num_threads{suffix}", None)
            if get is not None and put is not None:
                get.restype = ctypes.c_int
                put.argtypes = [ctypes.c_int]
                return get, put
    return None


_BLAS = _numpy_openblas()


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """Run numpy BLAS and torch on one thread inside the block, restoring both afterwards.

    On a shared 2-core machine multi-threaded BLAS on these small matrices is 10–30× slower
    under contention (measured: 1.2 ms vs 34 ms per full-batch step); one thread is also
    what makes the per-unit wall times comparable.
    """
    torch_threads = torch.get_num_threads()
    blas_threads = _BLAS[0]() if _BLAS is not None else None
    if _BLAS is None:
        warnings.warn(
            "could not find numpy's OpenBLAS to limit its threads; full-batch steps may be slow "
            "on a busy machine (set OPENBLAS_NUM_THREADS=1 before starting Python)",
            RuntimeWarning,
            stacklevel=3,
        )
    torch.set_num_threads(1)
    if _BLAS is not None:
        _BLAS[1](1)
    try:
        yield
    finally:
        torch.set_num_threads(torch_threads)
        if _BLAS is not None and blas_threads is not None:
            _BLAS[1](blas_threads)


@dataclass(frozen=True)
class Phase:
    """``epochs`` epochs at learning rate ``lr``, SAM radius ``rho`` and weight decay."""

    epochs: int
    lr: float
    rho: float = 0.0
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        if self.epochs < 0 or self.lr <= 0 or self.rho < 0 or self.weight_decay < 0:
            raise ValueError(f"invalid phase {self}: need epochs ≥ 0, lr > 0, rho ≥ 0, wd ≥ 0")


@dataclass(frozen=True)
class TrainSpec:
    """An algorithm from :data:`ALGORITHMS`, its phases, and an optional first-layer norm R."""

    algorithm: str
    phases: tuple[Phase, ...]
    project_norm: float | None = None

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"unknown algorithm {self.algorithm!r}; expected one of {ALGORITHMS}")
        if not self.phases:
            raise ValueError("a TrainSpec needs at least one phase")
        if self.algorithm in ("gd", "sgd") and any(p.rho > 0 for p in self.phases):
            raise ValueError(f"{self.algorithm!r} takes no SAM radius; use '1sam' or 'sam'")
        if self.project_norm is not None and self.project_norm <= 0:
            raise ValueError(f"project_norm must be positive, got {self.project_norm}")

    @property
    def epochs(self) -> int:
        return sum(p.epochs for p in self.phases)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainSpec:
        """Build from ``{"algorithm", "phases": [{epochs, lr, rho, weight_decay}], ...}``."""
        return cls(
            algorithm=d["algorithm"],
            phases=tuple(Phase(**p) for p in d["phases"]),
            project_norm=d.get("project_norm"),
        )


@dataclass
class TrainResult:
    params: Params
    history: list[dict[str, Any]]
    steps: int
    epochs: int
    wall_s: float
    extra: dict[str, Any] = field(default_factory=dict)


def log_epochs(total: int, n_points: int = 60) -> list[int]:
    """About ``n_points`` epochs in [0, total]: half on a geometric, half on a linear grid."""
    if total <= 0:
        return [0]
    half = max(n_points // 2, 2)
    geo = np.unique(np.round(np.geomspace(1, total, half)).astype(int))
    lin = np.unique(np.round(np.linspace(0, total, half + 1)).astype(int))
    return sorted({0, total, *geo.tolist(), *lin.tolist()})


class Trainer:
    """Mutable float64 numpy state of one two-layer net plus the update rules.

    State: ``Wp`` = W1′ = [W1, b1] (m, d′) (W1 for ``nobias``), ``w2`` (m,), ``gamma`` (m,)
    for Sim-BN; the training set as x′ rows ``Xp`` (n, d′), their squared norms ``q`` and labels.
    """

    def __init__(self, spec: TwoLayerSpec, params: Params, X: Tensor, y: Tensor):
        if set(params) != set(param_names(spec)):
            raise ValueError(f"parameters {sorted(params)} do not match architecture {spec.arch!r}")
        self.spec = spec
        W1 = params["W1"].detach().double().numpy()
        if spec.has_bias:
            b1 = params["b1"].detach().double().numpy()[:, None]
            self.Wp = np.ascontiguousarray(np.hstack([W1, b1]))
        else:
            self.Wp = np.array(W1, dtype=np.float64, order="C")
        self.w2 = params["W2"].detach().double().numpy().copy()
        self.gamma = (
            params["gamma"].detach().double().numpy().copy() if spec.arch == "simbn" else None
        )
        Xn = X.detach().double().numpy()
        self.Xp = np.hstack([Xn, np.ones((len(Xn), 1))]) if spec.has_bias else Xn.copy()
        self.Xp = np.ascontiguousarray(self.Xp)
        self.rows = list(self.Xp)
        self.q = (self.Xp**2).sum(axis=1)
        self.y = y.detach().double().numpy().copy()
        self.n = len(self.y)
        self.step_count = 0

    # -- conversion ------------------------------------------------------------------------
    def params(self) -> Params:
        """A torch copy of the current parameters."""
        d = self.spec.d
        out: Params = {"W1": torch.from_numpy(self.Wp[:, :d].copy())}
        if self.spec.has_bias:
            out["b1"] = torch.from_numpy(self.Wp[:, d].copy())
        out["W2"] = torch.from_numpy(self.w2.copy())
        if self.gamma is not None:
            out["gamma"] = torch.from_numpy(self.gamma.copy())
        return out

    def _flat(self) -> list[np.ndarray]:
        return [self.Wp, self.w2] + ([self.gamma] if self.gamma is not None else [])

    # -- per-example local quantities (rank-one archs) -----------------------------------------
    def _local(self, z: np.ndarray, w2: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """From z = W1′x′ and W2: f, δ = ∂f/∂z (so ∇_{W1′} f = δx′ᵀ), φ = ∂f/∂W2."""
        a = z > 0
        h = z * a
        if self.spec.arch != "simln":
            return float(w2 @ h), w2 * a, h
        eps = self.spec.ln_eps
        nh = math.sqrt(float(h @ h))
        if nh > eps:
            phi = h / nh
            f = float(w2 @ phi)
            return f, (w2 - f * phi) * a / nh, phi
        phi = h / eps
        return float(w2 @ phi), w2 * a / eps, phi

    # -- Sim-BN --------------------------------------------------------------------------------
    def _bn_forward(self, Wp, w2, gamma):
        Z = self.Xp @ Wp.T
        A = Z > 0
        H = Z * A
        s = np.sqrt((H**2).mean(axis=0) + self.spec.bn_guard**2)
        f = (H / s) @ (w2 * gamma)
        return A, H, s, f

    def _bn_grad(self, Wp, w2, gamma, omega, fwd) -> list[np.ndarray]:
        """∇_θ Σ_i ω_i f(x_i) for Sim-BN (statistics over the training set, differentiated).

        ∂f_k/∂h_ij = c_j δ_ik − β_j h_kj h_ij with c_j = W2_jγ_j/s_j, β_j = W2_jγ_j/(n s_j³).
        """
        A, H, s, _ = fwd
        c = w2 * gamma / s
        beta = w2 * gamma / (self.n * s**3)
        GH = omega[:, None] * c - beta * H * (omega @ H)
        gW = (GH * A).T @ self.Xp
        t = (omega @ H) / s
        return [gW, t * gamma, t * w2]

    def _bn_example(self, k: int, Wp, w2, gamma) -> tuple[float, list[np.ndarray]]:
        """ℓ_k and ∇ℓ_k for Sim-BN: the one-hot case of :meth:`_bn_grad` (ω = 2r e_k).

        ∇_{w′_j} ℓ_k = 2r (c_j 1[z_kj>0] x′_k − β_j h_kj v_j) with v_j = Σ_i h_ij x′_i.
        """
        H = np.maximum(self.Xp @ Wp.T, 0.0)
        s = np.sqrt(np.einsum("ij,ij->j", H, H) / self.n + self.spec.bn_guard**2)
        hk = H[k]
        wg = w2 * gamma
        r = float(hk @ (wg / s)) - self.y[k]
        c = wg / s
        beta = wg / (self.n * s**3)
        x = self.rows[k]
        gW = np.outer(c * (hk > 0), x)
        gW -= (beta * hk)[:, None] * (H.T @ self.Xp)
        t = hk / s
        return r * r, [(2 * r) * gW, (2 * r) * t * gamma, (2 * r) * t * w2]

    # -- gradients -----------------------------------------------------------------------------
    def full_grad(self, state: list[np.ndarray] | None = None) -> tuple[float, list[np.ndarray]]:
        """L(θ) and ∇L(θ) on the whole training set, at ``state`` (default: current θ)."""
        Wp, w2, *rest = state if state is not None else self._flat()
        n = self.n
        if self.spec.arch == "simbn":
            fwd = self._bn_forward(Wp, w2, rest[0])
            r = fwd[3] - self.y
            return float(r @ r) / n, self._bn_grad(Wp, w2, rest[0], (2.0 / n) * r, fwd)
        Z = self.Xp @ Wp.T
        A = Z > 0
        H = Z * A
        if self.spec.arch == "simln":
            eps = self.spec.ln_eps
            nh = np.sqrt((H**2).sum(axis=1))
            big = nh > eps
            N = np.where(big, nh, eps)
            Phi = H / N[:, None]
            f = Phi @ w2
            U = np.where(big[:, None], Phi, 0.0)
            Delta = A * (w2[None, :] - f[:, None] * U) / N[:, None]
        else:
            Phi, f, Delta = H, H @ w2, A * w2[None, :]
        r = f - self.y
        g = (2.0 / n) * r
        return float(r @ r) / n, [(g[:, None] * Delta).T @ self.Xp, Phi.T @ g]

    def example_grad(self, k: int, state: list[np.ndarray] | None = None):
        """ℓ_k(θ) and ∇ℓ_k(θ) for training example k (reference path, any architecture)."""
        Wp, w2, *rest = state if state is not None else self._flat()
        if self.spec.arch == "simbn":
            return self._bn_example(k, Wp, w2, rest[0])
        x = self.rows[k]
        f, delta, phi = self._local(Wp @ x, w2)
        r = f - self.y[k]
        return r * r, [np.outer(2 * r * delta, x), 2 * r * phi]

    # -- steps ---------------------------------------------------------------------------------
    def _diverged(self, what: str, value: float) -> TrainingDivergedError:
        return TrainingDivergedError(
            f"training diverged at step {self.step_count}: {what} is {value}. "
            "Lower the learning rate or the SAM radius ρ (or ramp ρ only after interpolation)."
        )

    def _decay(self, phase: Phase) -> None:
        if phase.weight_decay:
            keep = 1.0 - phase.lr * phase.weight_decay
            for a in self._flat():
                a *= keep

    def _project(self, R: float | None) -> None:
        if R is not None:
            norm = math.sqrt(float(np.einsum("ij,ij->", self.Wp, self.Wp)))
            if not math.isfinite(norm) or norm == 0:
                raise self._diverged("the first-layer norm", norm)
            self.Wp *= R / norm

    def step_example(self, k: int, phase: Phase, sam: bool, project_norm: float | None) -> float:
        """One batch-1 step on example k (``sam``: 1-SAM, else SGD); returns ℓ_k before it."""
        self.step_count += 1
        if self.spec.arch == "simbn":
            loss, g = self.example_grad(k)
            if not math.isfinite(loss):
                raise self._diverged(f"the loss on example {k}", loss)
            if sam and phase.rho > 0:
                scale = phase.rho / (math.sqrt(sum(float((a * a).sum()) for a in g)) + _TINY)
                tilde = [a + scale * ga for a, ga in zip(self._flat(), g, strict=True)]
                loss_t, g = self.example_grad(k, tilde)
                if not math.isfinite(loss_t):
                    raise self._diverged(f"the loss at the SAM point of example {k}", loss_t)
            self._decay(phase)
            for a, ga in zip(self._flat(), g, strict=True):
                a -= phase.lr * ga
            self._project(project_norm)
            return loss
        x, q, yk = self.rows[k], self.q[k], self.y[k]
        z = self.Wp @ x
        f, delta, phi = self._local(z, self.w2)
        r = f - yk
        if not math.isfinite(r):
            raise self._diverged(f"the output on example {k}", f)
        if sam and phase.rho > 0:
            gnorm = 2 * abs(r) * math.sqrt(q * float(delta @ delta) + float(phi @ phi))
            s = 2 * r * phase.rho / (gnorm + _TINY)
            f, delta, phi = self._local(z + (s * q) * delta, self.w2 + s * phi)
            r_t = f - yk
            if not math.isfinite(r_t):
                raise self._diverged(f"the output at the SAM point of example {k}", f)
        else:
            r_t = r
        self._decay(phase)
        c = -2.0 * phase.lr * r_t
        self.Wp += np.outer(c * delta, x)
        self.w2 += c * phi
        self._project(project_norm)
        return r * r

    def step_full(self, phase: Phase, sam: bool, project_norm: float | None) -> float:
        """One full-batch step (``sam``: full-batch SAM, else GD); returns L before it."""
        self.step_count += 1
        loss, g = self.full_grad()
        if not math.isfinite(loss):
            raise self._diverged("the training loss", loss)
        if sam and phase.rho > 0:
            scale = phase.rho / (math.sqrt(sum(float((a * a).sum()) for a in g)) + _TINY)
            tilde = [a + scale * ga for a, ga in zip(self._flat(), g, strict=True)]
            loss_t, g = self.full_grad(tilde)
            if not math.isfinite(loss_t):
                raise self._diverged("the training loss at the SAM point", loss_t)
        self._decay(phase)
        for a, ga in zip(self._flat(), g, strict=True):
            a -= phase.lr * ga
        self._project(project_norm)
        return loss


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
