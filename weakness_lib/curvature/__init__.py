"""Curvature of a mean training loss: Hessian-vector products, λ_max, trace, dense Hessian.

For a model f_θ and a fixed batch (X, y) the loss is L(θ) = (1/B) Σ_i ℓ(f_θ(x_i), y_i) and
H = ∇²L(θ). Everything is built from one primitive, the Hessian-vector product v ↦ H v, on flat
vectors in the order of ``model.named_parameters()``:

* :mod:`.params`   — parameter dicts ↔ flat vectors, and L as a pure function of θ;
* :mod:`.hvp`      — the product, forward-over-reverse (:class:`HVP`) or on a retained gradient
  graph (:class:`GraphHVP`, faster), and the dense H for tiny models (:func:`dense_hessian`);
* :mod:`.spectrum` — the top eigenvalues by Lanczos, stopped by a certified residual bound
  (:func:`top_eigenvalues`, :func:`lanczos_lambda_max`);
* :mod:`.trace`    — tr H by Hutchinson (fixed probes, or to a target standard error) and XTrace.

Everything runs on the device and in the dtype of the parameters and inputs it is given; the
CPU is the bitwise reference. Usage: ``from weakness_lib.bennett import curvature as hessian``.
"""

# Each name is defined, and listed in __all__, once: in its submodule; the package re-exports
# every submodule's __all__.
from weakness_lib.curvature import hvp, params, spectrum, trace
from weakness_lib.curvature.hvp import *  # noqa: F403
from weakness_lib.curvature.params import *  # noqa: F403
from weakness_lib.curvature.spectrum import *  # noqa: F403
from weakness_lib.curvature.trace import *  # noqa: F403

__all__ = [*hvp.__all__, *params.__all__, *spectrum.__all__, *trace.__all__]
