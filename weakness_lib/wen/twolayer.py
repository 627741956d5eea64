"""The four two-layer ReLU architectures of Wen, Li & Ma (2023) and the trace of their Hessian.

Parameters are dicts of tensors: ``W1`` (m, d), ``b1`` (m,) [not for ``nobias``], ``W2`` (m,),
``gamma`` (m,) [``simbn`` only]. With h(x) = relu(W1 x + b1) ∈ ℝ^m:

* ``nobias``: f(x) = W2 · relu(W1 x)
* ``bias``:   f(x) = W2 · h(x)
* ``simbn``:  f(x) = Σ_j W2_j γ_j h_j(x) / s_j,  s_j = ((1/n) Σ_i h_j(x_i)² + g²)^{1/2} over the
  n **training** points (no mean subtraction, no shift; g = ``bn_guard`` keeps dead neurons
  finite and differentiable)
* ``simln``:  f(x) = W2 · h(x) / max(‖h(x)‖₂, ε)

Loss: L(θ) = (1/n) Σ_i (f(x_i) − y_i)², no factor ½. Its Hessian is
∇²L = (2/n) Σ_i [∇f_i ∇f_iᵀ + (f_i − y_i) ∇²f_i], so the **Gauss–Newton trace**
(2/n) Σ_i ‖∇_θ f(x_i)‖² equals Tr ∇²L at any interpolating θ (Lemma 4.1). For the plain ReLU
nets every parameter enters f piecewise linearly, diag ∇²f = 0 almost everywhere, and the
closed form (paper eq. 2), with x′ = (x, 1) (or x for ``nobias``),

    ‖∇_θ f(x)‖² = Σ_j [ W2_j² 1[w_j·x′ > 0] ‖x′‖² + relu(w_j·x′)² ],

gives the **exact** trace at every θ. For the normalised nets away from interpolation the exact
trace is estimated with Hutchinson (:func:`hutchinson_trace`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from weakness_lib import curvature as hessian
from weakness_lib.core import checks, ieee
from weakness_lib.curvature import Params

__all__ = [
    "ARCHS",
    "TwoLayerSpec",
    "param_names",
    "init_params",
    "augment",
    "hidden",
    "forward",
    "mse",
    "loss_fn",
    "accuracy",
    "grad_sq_norms",
    "grad_sq_norms_autograd",
    "closed_form_trace",
    "gauss_newton_trace",
    "hutchinson_trace",
    "dense_trace",
    "active_fraction",
]

ARCHS: tuple[str, ...] = ("nobias", "bias", "simbn", "simln")


@dataclass(frozen=True)
class TwoLayerSpec:
    """Architecture ``arch`` of input dimension ``d`` and width ``width``.

    ``ln_eps`` is the ε of Sim-LN, ``bn_guard`` the g of Sim-BN (see module docstring).
    """

    arch: str
    d: int
    width: int = 500
    ln_eps: float = 1e-4
    bn_guard: float = 1e-12

    def __post_init__(self) -> None:
        if not isinstance(self.arch, str) or self.arch not in ARCHS:
            raise ValueError(f"unknown architecture {self.arch!r}; expected one of {ARCHS}")
        # whole numbers and positive reals only (numpy scalars become Python ones)
        for name in ("d", "width"):
            object.__setattr__(self, name, checks.whole(name, getattr(self, name), 1,
                                                        where="TwoLayerSpec"))
        for name in ("ln_eps", "bn_guard"):
            object.__setattr__(self, name, checks.real(name, getattr(self, name), positive=True,
                                                       where="TwoLayerSpec"))
        if self.d < 1 or self.width < 1:
            raise ValueError(f"need d ≥ 1 and width ≥ 1, got d = {self.d}, width = {self.width}")
        if self.ln_eps <= 0 or self.bn_guard <= 0:
            raise ValueError("ln_eps and bn_guard must be positive")

    @property
    def has_bias(self) -> bool:
        return self.arch != "nobias"

    @property
    def n_params(self) -> int:
        per_neuron = self.d + 1 + int(self.has_bias) + int(self.arch == "simbn")
        return self.width * per_neuron


def param_names(spec: TwoLayerSpec) -> tuple[str, ...]:
    """Parameter names of ``spec`` in their canonical (flattening) order."""
    names = ["W1"] + (["b1"] if spec.has_bias else []) + ["W2"]
    return tuple(names + (["gamma"] if spec.arch == "simbn" else []))


def init_params(
    spec: TwoLayerSpec,
    seed: int,
    first_layer_scale: float = 1.0,
    dtype: torch.dtype = torch.float64,
) -> Params:
    """PyTorch ``nn.Linear`` default initialisation U(±1/√fan_in) from ``seed``; γ = 1.

    W1, b1 ~ U(±1/√d) (then multiplied by ``first_layer_scale``, the paper's ×0.01 for Sim-LN
    Fig 6a), W2 ~ U(±1/√m).
    """
    gen = torch.Generator().manual_seed(int(seed))
    m, d = spec.width, spec.d

    def uniform(shape: tuple[int, ...], bound: float) -> Tensor:
        return (torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1).mul_(bound)

    params: Params = {"W1": uniform((m, d), 1 / math.sqrt(d)) * first_layer_scale}
    if spec.has_bias:
        params["b1"] = uniform((m,), 1 / math.sqrt(d)) * first_layer_scale
    params["W2"] = uniform((m,), 1 / math.sqrt(m))
    if spec.arch == "simbn":
        params["gamma"] = torch.ones(m, dtype=torch.float64)
    return {k: v.to(dtype) for k, v in params.items()}


def _check(spec: TwoLayerSpec, params: Params) -> None:
    expected = set(param_names(spec))
    if set(params) != expected:
        raise ValueError(
            f"parameters {sorted(params)} do not match architecture {spec.arch!r}, "
            f"which needs {sorted(expected)}"
        )
    if tuple(params["W1"].shape) != (spec.width, spec.d):
        raise ValueError(
            f"W1 has shape {tuple(params['W1'].shape)}, expected ({spec.width}, {spec.d})"
        )


def augment(spec: TwoLayerSpec, X: Tensor) -> Tensor:
    """x′ = (x, 1) for architectures with a first-layer bias, x itself for ``nobias``."""
    if not spec.has_bias:
        return X
    return torch.cat([X, torch.ones(X.shape[0], 1, dtype=X.dtype)], dim=1)


def _first_layer(spec: TwoLayerSpec, params: Params) -> Tensor:
    """W1′ = [W1, b1] (or W1 for ``nobias``), shape (m, d′)."""
    if not spec.has_bias:
        return params["W1"]
    return torch.cat([params["W1"], params["b1"][:, None]], dim=1)


def hidden(spec: TwoLayerSpec, params: Params, X: Tensor) -> Tensor:
    """h(x) = relu(W1 x + b1) for each row of X, shape (n, m)."""
    z = X @ params["W1"].T
    if spec.has_bias:
        z = z + params["b1"]
    return torch.relu(z)


def _bn_scale(spec: TwoLayerSpec, H_train: Tensor) -> Tensor:
    """s_j = ((1/n) Σ_i h_j(x_i)² + g²)^{1/2} over the training activations."""
    return ieee.sqrt((H_train**2).mean(dim=0) + spec.bn_guard**2)


def forward(spec: TwoLayerSpec, params: Params, X: Tensor, X_train: Tensor | None = None) -> Tensor:
    """f(x) for each row of X, shape (n,). Sim-BN needs ``X_train`` for its statistics s_j."""
    _check(spec, params)
    H = hidden(spec, params, X)
    if spec.arch in ("nobias", "bias"):
        return H @ params["W2"]
    if spec.arch == "simln":
        sq = (H**2).sum(dim=1)
        norm = ieee.sqrt(torch.clamp_min(sq, spec.ln_eps**2))  # max(‖h‖, ε), smooth at 0
        return (H @ params["W2"]) / norm
    if X_train is None:
        raise ValueError("Sim-BN needs X_train: its statistics s_j are over the training set")
    s = _bn_scale(spec, hidden(spec, params, X_train))
    return (H / s) @ (params["W2"] * params["gamma"])


def mse(spec: TwoLayerSpec, params: Params, X: Tensor, y: Tensor, X_train=None) -> Tensor:
    """(1/n) Σ (f(x_i) − y_i)²."""
    return ((forward(spec, params, X, X_train) - y) ** 2).mean()


def loss_fn(spec: TwoLayerSpec, X: Tensor, y: Tensor) -> Callable[[Params], Tensor]:
    """L(θ) on the training set (X, y) as a pure function of the parameter dict."""

    def L(params: Params) -> Tensor:
        return mse(spec, params, X, y, X_train=X)

    return L


def accuracy(out: Tensor, y: Tensor) -> float:
    """Zero-one accuracy Pr[y·f(x) > 0]; an output of exactly 0 counts as an error (Prop 4.1)."""
    return float((y * out > 0).double().mean())


def active_fraction(spec: TwoLayerSpec, params: Params, X: Tensor) -> float:
    """Mean fraction of the m hidden units with positive pre-activation per input."""
    return float((hidden(spec, params, X) > 0).double().mean())


def grad_sq_norms(spec: TwoLayerSpec, params: Params, X: Tensor) -> Tensor:
    """‖∇_θ f(x_i)‖² for each training row x_i of X, in closed form (shape (n,)).

    Sim-BN: the statistics are those of X itself (X is the training set), and the gradient
    flows through s_j. With c_j = W2_jγ_j/s_j, β_j = W2_jγ_j/(n s_j³), v_j = Σ_i h_ij x′_i:
    ∂f_k/∂w′_j = c_j 1[z_kj>0] x′_k − β_j h_kj v_j, ∂f_k/∂W2_j = γ_j h_kj/s_j,
    ∂f_k/∂γ_j = W2_j h_kj/s_j.
    Sim-LN: with N = max(‖h‖, ε), ∂f/∂W2 = h/N and ∂f/∂z = 1[z>0] ⊙ (W2 − f h/‖h‖)/‖h‖ if
    ‖h‖ > ε, else 1[z>0] ⊙ W2/ε.
    """
    _check(spec, params)
    Xp = augment(spec, X)
    q = (Xp**2).sum(dim=1)
    Z = Xp @ _first_layer(spec, params).T
    A = (Z > 0).to(Z.dtype)
    H = Z * A
    W2 = params["W2"]
    if spec.arch in ("nobias", "bias"):
        return q * (A @ W2**2) + (H**2).sum(dim=1)
    if spec.arch == "simln":
        nh = ieee.sqrt((H**2).sum(dim=1))
        big = nh > spec.ln_eps
        N = torch.where(big, nh, torch.full_like(nh, spec.ln_eps))
        phi = H / N[:, None]
        f = phi @ W2
        u = torch.where(big[:, None], H / nh.clamp_min(1e-300)[:, None], torch.zeros_like(H))
        delta = A * (W2[None, :] - f[:, None] * u) / N[:, None]
        return q * (delta**2).sum(dim=1) + (phi**2).sum(dim=1)
    n = X.shape[0]
    gamma = params["gamma"]
    s = _bn_scale(spec, H)
    c = W2 * gamma / s
    beta = W2 * gamma / (n * s**3)
    V = H.T @ Xp  # (m, d′), v_j = Σ_i h_ij x′_i
    first = (
        q[:, None] * A * c**2
        - 2 * (c * beta) * H * (Xp @ V.T)
        + (beta**2) * H**2 * (V**2).sum(dim=1)
    ).sum(dim=1)
    Hs = H / s
    return first + (Hs**2) @ (gamma**2 + W2**2)


def grad_sq_norms_autograd(spec: TwoLayerSpec, params: Params, X: Tensor) -> Tensor:
    """‖∇_θ f(x_i)‖² by reverse-mode autograd (``torch.func.jacrev``); reference for tests."""

    def outputs(p: Params) -> Tensor:
        return forward(spec, p, X, X_train=X)

    jac = torch.func.jacrev(outputs)(params)
    return sum((j.reshape(X.shape[0], -1) ** 2).sum(dim=1) for j in jac.values())


def closed_form_trace(spec: TwoLayerSpec, params: Params, X: Tensor) -> float:
    """Exact Tr ∇²L = (2/n) Σ_i ‖∇f(x_i)‖² for the plain ReLU nets (paper, equation 2), at any θ."""
    if spec.arch not in ("nobias", "bias"):
        raise ValueError(
            f"the closed form is exact only for the plain ReLU nets, not {spec.arch!r}; use "
            "gauss_newton_trace (exact at interpolation) or hutchinson_trace"
        )
    return gauss_newton_trace(spec, params, X)


def gauss_newton_trace(spec: TwoLayerSpec, params: Params, X: Tensor) -> float:
    """Tr of the Gauss–Newton matrix (2/n) Σ_i ∇f_i ∇f_iᵀ = (2/n) Σ_i ‖∇f(x_i)‖².

    Equals Tr ∇²L at interpolation for every architecture, and at every θ for the plain nets.
    """
    return float(2.0 * grad_sq_norms(spec, params, X).mean())


def hutchinson_trace(
    spec: TwoLayerSpec, params: Params, X: Tensor, y: Tensor, n_probes: int = 100, seed: int = 0
) -> hessian.TraceResult:
    """Hutchinson estimate of the exact Tr ∇²L(θ) on the training set (Rademacher probes)."""
    hvp = hessian.HVP(loss_fn(spec, X, y), {k: v.to(torch.float64) for k, v in params.items()})
    return hessian.hutchinson_trace(hvp, n_probes=n_probes, seed=seed)


def dense_trace(spec: TwoLayerSpec, params: Params, X: Tensor, y: Tensor) -> float:
    """Exact Tr ∇²L from the dense float64 Hessian (tiny models only: O(P²) memory)."""
    if spec.n_params > 6000:
        raise ValueError(f"dense Hessian of {spec.n_params} parameters is too large; use ≤ 6000")
    H = hessian.dense_hessian(
        loss_fn(spec, X, y), {k: v.to(torch.float64) for k, v in params.items()}
    )
    return float(torch.diagonal(H).sum())
