"""The explicit constructions of Wen, Li & Ma (2023) on the xor task, embedded in width m.

Every construction of k neurons is embedded in width m ≥ k by zero neurons (zero row, bias and
output weight); a zero neuron changes neither f nor Tr ∇²L. Index conventions follow our
reading of the paper's constructions (Props 4.1–4.2), checked by the traces they attain:
r = (d + 1)^{1/4} for the bias generaliser and output weight (−1)^{i+j} with the same neuron index
as its row.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from weakness_lib.curvature import Params
from weakness_lib.wen.twolayer import TwoLayerSpec

__all__ = [
    "bias_trace_bound",
    "nobias_trace_bound",
    "simln_trace_bound",
    "nobias_width4",
    "bias_memoriser",
    "bias_generaliser",
    "simln_memoriser",
    "simln_generaliser",
    "simbn_quadrant_model",
    "rescale_neurons",
    "scale_first_layer",
]

QUADRANTS: tuple[tuple[int, int], ...] = ((0, 0), (0, 1), (1, 0), (1, 1))


def bias_trace_bound(d: int) -> float:
    """min Tr ∇²L over interpolators of the bias net on xor: 4√(d + 1) (Thm 4.1, eq. 3)."""
    return 4.0 * math.sqrt(d + 1)


def nobias_trace_bound(d: int) -> float:
    """The same Cauchy–Schwarz bound for the no-bias net, 4√d (not claimed attainable)."""
    return 4.0 * math.sqrt(d)


def simln_trace_bound() -> float:
    """min Tr ∇²L over Sim-LN interpolators when ε < √(d + 1): 2 (Lemma A.12)."""
    return 2.0


def _empty(spec: TwoLayerSpec, k: int) -> Params:
    if spec.width < k:
        raise ValueError(f"this construction needs width ≥ {k}, got width = {spec.width}")
    m, d = spec.width, spec.d
    params: Params = {"W1": torch.zeros(m, d, dtype=torch.float64)}
    if spec.has_bias:
        params["b1"] = torch.zeros(m, dtype=torch.float64)
    params["W2"] = torch.zeros(m, dtype=torch.float64)
    if spec.arch == "simbn":
        params["gamma"] = torch.zeros(m, dtype=torch.float64)
    return params


def _check_cube(X: Tensor, y: Tensor, d: int) -> None:
    if X.ndim != 2 or X.shape[1] != d:
        raise ValueError(f"training inputs must have shape (n, {d}), got {tuple(X.shape)}")
    if not bool(((X == 1) | (X == -1)).all()):
        raise ValueError("the memorising constructions need hypercube inputs in {−1, 1}^d")
    if torch.unique(X, dim=0).shape[0] != X.shape[0]:
        raise ValueError("the memoriser needs distinct training points (found a duplicate)")
    if not bool((y.abs() == 1).all()):
        raise ValueError("the memorising constructions need labels in {±1}")


def nobias_width4(spec: TwoLayerSpec, eps: float = 0.1) -> Params:
    """No-bias interpolator of App A.2.4: f(x) = x₁x₂ on the whole cube, 0 < ε < 1.

    Rows (1+ε, 1−ε), (1+ε, −1+ε), (−1−ε, 1−ε), (−1−ε, −1+ε) on coordinates (1, 2), zeros
    elsewhere; W2 = (1, −1, −1, 1)/(2 − 2ε).
    """
    if spec.arch != "nobias":
        raise ValueError(f"nobias_width4 builds a no-bias net, got arch {spec.arch!r}")
    if not 0 < eps < 1:
        raise ValueError(f"eps must lie in (0, 1), got {eps}")
    p = _empty(spec, 4)
    rows = [(1 + eps, 1 - eps), (1 + eps, -1 + eps), (-1 - eps, 1 - eps), (-1 - eps, -1 + eps)]
    for j, (a, b) in enumerate(rows):
        p["W1"][j, 0], p["W1"][j, 1] = a, b
    p["W2"][:4] = torch.tensor([1.0, -1.0, -1.0, 1.0]) / (2 - 2 * eps)
    return p


def bias_memoriser(spec: TwoLayerSpec, X: Tensor, y: Tensor) -> Params:
    """Flattest memorising bias net (Thm 4.1 / Prop 4.1) on distinct cube points.

    With c = (d + 1)^{1/4}, neuron i has row c·x_i, bias c·(1 − d), output weight y_i/c. On x_i
    only neuron i fires (pre-activation c), so f(x_i) = y_i; on every other cube point all
    pre-activations are ≤ −c, so f = 0. Tr ∇²L = 4√(d + 1).
    """
    if spec.arch != "bias":
        raise ValueError(f"bias_memoriser builds a bias net, got arch {spec.arch!r}")
    d = spec.d
    _check_cube(X, y, d)
    n = X.shape[0]
    p = _empty(spec, n)
    c = (d + 1) ** 0.25
    p["W1"][:n] = c * X.to(torch.float64)
    p["b1"][:n] = c * (1 - d)
    p["W2"][:n] = y.to(torch.float64) / c
    return p


def bias_generaliser(spec: TwoLayerSpec) -> Params:
    """Flattest 4-neuron bias net with f = x₁x₂ on the cube (Prop 4.2, equation 5, corrected).

    Neuron (i, j): row r·((−1)^i, (−1)^j, 0, …), bias −r, output (−1)^{i+j}/r, r = (d+1)^{1/4}.
    Tr ∇²L = 4√(d + 1), the same as the memoriser.
    """
    if spec.arch != "bias":
        raise ValueError(f"bias_generaliser builds a bias net, got arch {spec.arch!r}")
    p = _empty(spec, 4)
    r = (spec.d + 1) ** 0.25
    for k, (i, j) in enumerate(QUADRANTS):
        p["W1"][k, 0], p["W1"][k, 1] = r * (-1) ** i, r * (-1) ** j
        p["b1"][k] = -r
        p["W2"][k] = (-1) ** (i + j) / r
    return p


def simln_memoriser(spec: TwoLayerSpec, X: Tensor, y: Tensor) -> Params:
    """Flattest memorising Sim-LN net (Prop 5.1, δ = 1): row 2ε x_i, bias 2ε(1 − d), output y_i.

    On x_i, h = 2ε e_i (‖h‖ = 2ε > ε) so f = y_i; elsewhere on the cube h = 0 and f = 0.
    Tr ∇²L = 2.
    """
    if spec.arch != "simln":
        raise ValueError(f"simln_memoriser builds a Sim-LN net, got arch {spec.arch!r}")
    d, eps = spec.d, spec.ln_eps
    if eps >= math.sqrt(d + 1):
        raise ValueError(f"the Sim-LN bound needs ε < √(d+1); got ε = {eps}")
    _check_cube(X, y, d)
    n = X.shape[0]
    p = _empty(spec, n)
    p["W1"][:n] = 2 * eps * X.to(torch.float64)
    p["b1"][:n] = 2 * eps * (1 - d)
    p["W2"][:n] = y.to(torch.float64)
    return p


def simln_generaliser(spec: TwoLayerSpec) -> Params:
    """Flattest 4-neuron Sim-LN net (Prop 5.2): row 2ε((−1)^i, (−1)^j, 0, …), bias −2ε,
    output (−1)^{i+j}; f = x₁x₂ on the cube, Tr ∇²L = 2."""
    if spec.arch != "simln":
        raise ValueError(f"simln_generaliser builds a Sim-LN net, got arch {spec.arch!r}")
    p = _empty(spec, 4)
    eps = spec.ln_eps
    for k, (i, j) in enumerate(QUADRANTS):
        p["W1"][k, 0], p["W1"][k, 1] = 2 * eps * (-1) ** i, 2 * eps * (-1) ** j
        p["b1"][k] = -2 * eps
        p["W2"][k] = float((-1) ** (i + j))
    return p


def simbn_quadrant_model(spec: TwoLayerSpec, X: Tensor, scale: float = 1.0) -> Params:
    """Sim-BN net built from the four quadrant detectors (Lemma A.1, sign corrected).

    Neuron (i, j): row scale·((−1)^i, (−1)^j, 0, …), bias −scale, and abs(γ) = abs(W2) with
    W2·γ = (−1)^{i+j} s_j, where s_j = √(n_j/n) is its Sim-BN statistic (n_j training points in
    its quadrant). It interpolates with ‖W2‖² + ‖γ‖² = 2 Σ_j s_j (= 4 for balanced quadrants);
    the first-layer part of the trace decays like 1/scale² (f is invariant to ``scale``).
    """
    if spec.arch != "simbn":
        raise ValueError(f"simbn_quadrant_model builds a Sim-BN net, got arch {spec.arch!r}")
    p = _empty(spec, 4)
    n = X.shape[0]
    for k, (i, j) in enumerate(QUADRANTS):
        in_quadrant = (X[:, 0] == (-1) ** i) & (X[:, 1] == (-1) ** j)
        s = math.sqrt(float(in_quadrant.sum()) / n)
        if s == 0:
            raise ValueError(f"quadrant {(i, j)} holds no training point; cannot build the model")
        p["W1"][k, 0], p["W1"][k, 1] = scale * (-1) ** i, scale * (-1) ** j
        p["b1"][k] = -scale
        p["W2"][k] = (-1) ** (i + j) * math.sqrt(s)
        p["gamma"][k] = math.sqrt(s)
    return p


def rescale_neurons(params: Params, c: float | Tensor) -> Params:
    """(w_j, b_j, W2_j) → (w_j/c_j, b_j/c_j, c_j W2_j): f unchanged for the plain ReLU nets."""
    c = torch.as_tensor(c, dtype=torch.float64)
    if bool((c <= 0).any()):
        raise ValueError("rescaling factors must be positive (relu is only positively homogeneous)")
    out = dict(params)
    out["W1"] = params["W1"] / (c[:, None] if c.ndim else c)
    if "b1" in params:
        out["b1"] = params["b1"] / c
    out["W2"] = params["W2"] * c
    return out


def scale_first_layer(params: Params, c: float) -> Params:
    """(W1, b1) → c·(W1, b1): f unchanged for Sim-LN while ‖h‖ > ε, and for Sim-BN."""
    if c <= 0:
        raise ValueError(f"scale must be positive, got {c}")
    out = dict(params)
    out["W1"] = params["W1"] * c
    if "b1" in params:
        out["b1"] = params["b1"] * c
    return out
