"""Sharpness (flatness) and simplicity measures of one trained network (reference §5).

All curvature-type measures use the mean loss L(θ) = (1/B) Σ_i ℓ(f_θ(x_i), y_i) on one fixed
batch (X, y) of training examples, evaluated in ``dtype`` (float64 by default) and in eval mode,
through one :class:`weakness_lib.curvature.HVP` object (which holds the loss function and θ).
Each measure function accepts either that HVP object or ``(model, X, y)``.

Sign convention (:mod:`.registry`). Every measure has an ``orientation`` in :data:`MEASURES`:
+1 when *higher = flatter / simpler*, −1 when *higher = sharper / more complex*. Raw values
are always reported; the hypothesis-oriented value is orientation × value.

Sharpness family (:mod:`.sharpness`, :mod:`.pacbayes`)
* ``lambda_max``  S1  λ_max(∇²L(θ)), certified Lanczos (‖Hy − θy‖ ≤ tol·|θ|) on HVPs.      (−1)
* ``trace``       S2  tr ∇²L(θ), Hutchinson with Rademacher probes (± s.e.).            (−1)
* ``sam``         S3  L(θ + ρ g/‖g‖) − L(θ), g = ∇L(θ), ρ = 0.05 (one ascent step, SAM).  (−1)
* ``asam``        S4  L(θ + ε) − L(θ), ε = ρ T² g/‖T g‖, T = diag(|θ|) (ASAM, offset 0, ρ = 0.5):
                      exactly invariant under any positive diagonal rescaling θ' = Jθ that
                      preserves f (Dinh), since g' = J⁻¹g, T' = JT ⇒ ε' = Jε.             (−1)
* ``pacbayes_sigma``  largest σ with E_ε[L(θ + σε)] − L(θ) ≤ Δ (ε ~ N(0, I), fixed seeded
                      draws, bisection in log σ; Jiang et al. 2019 "pacbayes.flatness").    (+1)
* ``pacbayes_bound``  McAllester/Maurer-type value at that σ:
                      err̂(Q) + √((KL(Q‖P) + ln(2√m/δ)) / (2m)), Q = N(θ, σ²I), P = N(μ_p, σ_p²I);
                      err̂(Q) the Monte-Carlo 0-1 error of the perturbed nets on the batch.  (−1)

Simplicity family (:mod:`.simplicity`; complexity measures, simplicity = −value)
* ``lzma_bytes`` / ``zlib_bytes``  K1  compressed size of the weights quantised to 8 bits
                      (per-tensor min–max) — a description-length proxy.                  (−1)
* ``l2_norm``     K2  ‖θ‖₂.                                                              (−1)
* ``path_norm``   K3  ℓ₂ path norm √(Σ_paths Π w²) (biases as paths from a constant unit). (−1)
* ``log_spectral_sum`` K3' Σ_ℓ log ‖W_ℓ‖₂ (spectral norms of the weight matrices).       (−1)

Behaviour under the Dinh rescaling (reference §6): λ_max, trace, SAM, ‖θ‖ and the PAC-Bayes
numbers change; ASAM and the path norm are exactly invariant under any (per-neuron) rescaling;
the log-spectral sum and the per-tensor-quantised compressed size are invariant under
*layer-wise scalar* rescaling (both are scale-free per tensor, up to rounding) but not under
per-neuron rescaling. :func:`measure_table` (:mod:`.table`) computes all of them for one network.
"""

# Each name is defined, and listed in __all__, once: in its submodule; the package re-exports
# every submodule's __all__.
from weakness_lib.bennett.measures import pacbayes, registry, sharpness, simplicity, table
from weakness_lib.bennett.measures.pacbayes import *  # noqa: F403
from weakness_lib.bennett.measures.registry import *  # noqa: F403
from weakness_lib.bennett.measures.sharpness import *  # noqa: F403
from weakness_lib.bennett.measures.simplicity import *  # noqa: F403
from weakness_lib.bennett.measures.table import *  # noqa: F403

__all__ = [
    *pacbayes.__all__, *registry.__all__, *sharpness.__all__, *simplicity.__all__, *table.__all__,
]
