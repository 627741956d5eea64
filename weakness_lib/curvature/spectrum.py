"""Top eigenvalues of H = ∇²L(θ) by Lanczos with a certified stopping rule.

Algorithm (Lanczos with full re-orthogonalisation, no restarts). From a seeded Gaussian start
q₁ (``numpy.random.default_rng(seed)``), step j forms w = H q_j and removes from it its
components along q₁ … q_j by classical Gram–Schmidt, applied twice ("twice is enough"); the
coefficient along q_j is α_j = q_jᵀ H q_j, and β_j = ‖w‖, q_{j+1} = w / β_j. After m products
the basis Q_m = [q₁ … q_m] is orthonormal to working precision and

    H Q_m = Q_m T_m + β_m q_{m+1} e_mᵀ,     T_m = tridiag(β, α, β).

Certificate. For an eigenpair T_m s = θ s (‖s‖ = 1) the Ritz vector y = Q_m s is a unit vector
with ‖H y − θ y‖ = β_m |s_m| (from the relation above, at no extra product), and for symmetric H
some eigenvalue λ satisfies |λ − θ| ≤ ‖H y − θ y‖ (Weyl / Krylov–Weinstein). Moreover
θ₁ = y₁ᵀHy₁ ≤ λ_max (a Rayleigh quotient). The iteration stops after the first product at which
every one of the k top Ritz pairs has β_m |s_{m,i}| ≤ ``tol``·|θ_i| (and m ≥ ``min_iter``), so each
reported θ_i is within ``tol``·|θ_i| of an eigenvalue of H; for λ_max: θ₁ ≤ λ_max ≤ θ₁(1 + tol)
whenever that eigenvalue is λ_max. That it is — that the Krylov space has not missed a larger
eigenvalue — is what every Krylov method assumes: it fails only if the start vector is
(numerically) orthogonal to the top eigenvector, probability 0 for a Gaussian start. A
single-vector Krylov space also sees a repeated eigenvalue once; when it becomes invariant
(β_m ≈ 0, an exact breakdown) the iteration continues from a fresh random vector orthogonal to
it (coupling 0), so multiplicities are found that way. In floating point the relation holds to
O(ε‖H‖√m) (ε the machine epsilon of the working dtype), so ``tol`` must be ≥ 64ε (≈ 1.4e-14
in float64, 7.6e-6 in float32).

Cost. Unlike ARPACK (``scipy.sparse.linalg.eigsh``, which spends a full ``ncv`` ≈ 20-step
cycle however loose the tolerance) this checks the bound after every product. All vector work
is a handful of fused torch calls on the operator's device in its dtype (at least float32),
with one host synchronisation per product; only the m×m tridiagonal problem is solved on the
host in float64. (The earlier numpy version ran the re-orthogonalisation in numpy's OpenBLAS,
whose spinning worker threads fought torch's OpenMP threads for the cores: on 2 cores each
backward pass slowed from ~8–11 ms to ~50 ms.) ``eigsh`` remains only as the tests' reference.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

__all__ = ["EigResult", "top_eigenvalues", "lanczos_lambda_max"]


@dataclass(frozen=True)
class EigResult:
    """Top eigenpairs of H: ``values`` (descending), unit ``vectors`` [P, k], the HVPs used, the
    certified relative residuals ‖Hv − λv‖ / |λ| per pair, and whether every pair met ``tol``."""

    values: np.ndarray
    vectors: np.ndarray
    n_hvp: int
    residuals: np.ndarray
    converged: bool = True

    @property
    def lambda_max(self) -> float:
        return float(self.values[0])


def _tridiagonal_eigh(alphas: list[float], betas: list[float]) -> tuple[Tensor, Tensor]:
    """Ascending eigenvalues and eigenvectors of tridiag(β, α, β), float64 on the host."""
    a = torch.tensor(alphas, dtype=torch.float64)
    b = torch.tensor(betas, dtype=torch.float64)
    return torch.linalg.eigh(torch.diag(a) + torch.diag(b, 1) + torch.diag(b, -1))


def top_eigenvalues(
    hvp,
    k: int = 1,
    tol: float = 1e-6,
    seed: int = 0,
    *,
    max_iter: int = 300,
    min_iter: int = 3,
    history: list[float] | None = None,
) -> EigResult:
    """The ``k`` algebraically largest eigenvalues of H by certified Lanczos (module docstring).

    ``hvp`` is any operator with ``dim``, ``dtype``, ``calls`` and ``__call__`` on flat vectors
    (:class:`~weakness_lib.curvature.HVP`, :class:`~weakness_lib.curvature.GraphHVP`)
    and optionally ``device``. Stops when all k residual bounds are ≤ ``tol``·|θ_i| (after at
    least ``min_iter`` and k products, and not right after an exact breakdown unless the whole
    space is spanned), or after ``max_iter`` products (then ``converged`` is False and a
    ``RuntimeWarning`` is issued). ``n_hvp`` counts
    the products; ``residuals`` are the bounds β_m|s_{m,i}| / |θ_i| (no extra product). If
    ``history`` is a list, the top Ritz value after each product is appended to it.
    """
    work = torch.promote_types(hvp.dtype, torch.float32)
    eps = torch.finfo(work).eps
    if not tol >= 64 * eps:
        raise ValueError(f"tol must be ≥ {64 * eps:.1e} (64 × the unit round-off of {work}), got {tol}")
    if k < 1 or max_iter < k:
        raise ValueError(f"need 1 ≤ k ≤ max_iter, got k = {k}, max_iter = {max_iter}")
    dim = hvp.dim
    n_max = min(max_iter, dim)
    device = getattr(hvp, "device", torch.device("cpu"))
    gen = np.random.default_rng(seed)

    def draw() -> Tensor:
        return torch.from_numpy(gen.standard_normal(dim)).to(device=device, dtype=work)

    Q = torch.empty((min(n_max, 32), dim), dtype=work, device=device)
    q = draw()
    Q[0] = q / torch.linalg.vector_norm(q)
    alphas: list[float] = []
    betas: list[float] = []
    start = hvp.calls
    for j in range(n_max):
        w = hvp(Q[j]).to(work)
        basis = Q[: j + 1]
        h = basis @ w  # classical Gram–Schmidt against q₁ … q_j, twice ("twice is enough");
        w = torch.addmv(w, basis.T, h, alpha=-1)  # α_j = q_jᵀ H q_j is the last coefficient
        h2 = basis @ w
        w.addmv_(basis.T, h2, alpha=-1)
        alpha, beta = torch.stack([h[j] + h2[j], torch.linalg.vector_norm(w)]).tolist()
        alphas.append(alpha)
        evals, evecs = _tridiagonal_eigh(alphas, betas)
        theta = evals.flip(0)[:k]
        bounds = beta * evecs[-1].flip(0)[:k].abs()
        if history is not None:
            history.append(float(theta[0]))
        m = j + 1
        roundoff = 64 * eps * float(evals.abs().max())
        breakdown = beta <= roundoff  # K_m is invariant: T_m's pairs are exact eigenpairs of H
        certified = m >= min_iter and bool((bounds <= torch.clamp(tol * theta.abs(), min=roundoff)).all())
        # after a breakdown the rest of the spectrum lives in K_mᵀ: explore it before stopping
        converged = m >= k and certified and (not breakdown or m == dim)
        if converged or m == n_max:
            break
        if m == Q.shape[0]:
            Q = torch.cat([Q, torch.empty_like(Q)])[: n_max]
        if breakdown:  # continue in the orthogonal complement: T_m gets a zero coupling
            w = draw()
            for _ in range(2):
                w.addmv_(basis.T, basis @ w, alpha=-1)
            beta = 0.0
            torch.div(w, torch.linalg.vector_norm(w), out=Q[m])
        else:
            torch.div(w, beta, out=Q[m])
        betas.append(beta)
    s = evecs.flip(1)[:, :k].to(device=device, dtype=work)
    vectors = (Q[:m].T @ s).double().cpu().numpy()
    residuals = (bounds / theta.abs().clamp_min(1e-300)).numpy()
    if not converged:
        warnings.warn(
            f"Lanczos stopped after {m} products (max_iter = {max_iter}, dimension {dim}) with "
            f"relative residual bound {residuals.max():.2e} > tol = {tol:g}",
            RuntimeWarning,
            stacklevel=2,
        )
    return EigResult(values=theta.numpy().copy(), vectors=vectors, n_hvp=hvp.calls - start,
                     residuals=residuals, converged=converged)


def lanczos_lambda_max(
    hvp,
    tol: float = 1e-3,
    max_iter: int = 200,
    seed: int = 0,
    min_iter: int = 3,
    history: list[float] | None = None,
) -> EigResult:
    """λ_max(H) certified to relative accuracy ``tol``: :func:`top_eigenvalues` with k = 1."""
    return top_eigenvalues(hvp, 1, tol, seed, max_iter=max_iter, min_iter=min_iter, history=history)
