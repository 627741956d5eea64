"""The update rules of :mod:`weakness_lib.wen.sam` on a float64 numpy copy of one two-layer net.

Per-example and full-batch gradients are written by hand. For the plain and Sim-LN nets the
first-layer gradient of one example is rank one, ∇_{W1′} f = δ x′ᵀ with δ = ∂f/∂z, so the SAM
ascent point's pre-activation is W̃1′x′ = z + s‖x′‖²δ without forming W̃1′. Sim-BN recomputes
its statistics s_j over all n training points at every step and differentiates through them
(∂f_k/∂h_ij = c_j δ_ik − β_j h_kj h_ij, c_j = W2_jγ_j/s_j, β_j = W2_jγ_j/(n s_j³)).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from weakness_lib.curvature import Params
from weakness_lib.wen.sam.spec import Phase, TrainingDivergedError
from weakness_lib.wen.twolayer import TwoLayerSpec, param_names

__all__ = ["Trainer"]

_TINY = 1e-12


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
