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

# Each name is defined, and listed in __all__, once: in its submodule; the package re-exports
# every submodule's __all__.
from weakness_lib.wen.sam import loop, spec, threads, trainer
from weakness_lib.wen.sam.loop import *  # noqa: F403
from weakness_lib.wen.sam.spec import *  # noqa: F403
from weakness_lib.wen.sam.threads import *  # noqa: F403
from weakness_lib.wen.sam.trainer import *  # noqa: F403

__all__ = [*loop.__all__, *spec.__all__, *threads.__all__, *trainer.__all__]
