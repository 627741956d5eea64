"""The public API: measure a trained classifier, rescale a ReLU MLP, build Wen, Li & Ma's networks.

Everything here is reached from the package (``import weakness_lib as wl; wl.measure(...)``) and
wraps or re-exports the functions the book itself computes with: nothing is reimplemented, so a
number from this API is the number the book's pipeline gives for the same network and data.

Which measures apply to which network:

* **any** ``torch.nn.Module`` classifier (logits ``[N, K]``, cross-entropy loss): λ_max, the
  Hessian trace, SAM and adaptive SAM sharpness, PAC-Bayes flatness and W1 weakness;
* an **image** classifier whose inputs are pixels in [0, 1]: W2 weakness;
* only a **ReLU MLP** built by :func:`build_mlp`: the path norm and the function-preserving
  rescalings (:func:`rescale`, :func:`rescale_layer`, :func:`rescale_chain`) — other modules get
  a one-line ``TypeError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import Tensor, nn

from weakness_lib import _API
from weakness_lib.bennett.measures import (  # noqa: F401
    MeasureResult,
    PacBayesResult,
    adaptive_sharpness,
    curvature_hvp,
    hessian_trace,
    lambda_max,
    pacbayes_flatness,
    sam_sharpness,
)
from weakness_lib.bennett.measures import path_norm as _path_norm
from weakness_lib.bennett.models import MLP, build_mlp  # noqa: F401
from weakness_lib.bennett.reparam import rescale, rescale_chain, rescale_layer  # noqa: F401
from weakness_lib.bennett.weakness import (
    MNIST_SHAPE,
    Transform,
    W2Result,
    probe_logits,
    transformation_compatibility,
    w1_log_freedom,
)
from weakness_lib.core.checks import ArgumentError
from weakness_lib.wen.constructions import (  # noqa: F401
    bias_generaliser,
    bias_memoriser,
    nobias_width4,
    rescale_neurons,
    simbn_quadrant_model,
    simln_generaliser,
    simln_memoriser,
)
from weakness_lib.wen.twolayer import TwoLayerSpec, closed_form_trace  # noqa: F401
from weakness_lib.wen.xor import make_xor  # noqa: F401

#: the public names, listed once (torch-free) in ``weakness_lib._API`` so that the package can
#: offer them without importing this module (the imports marked ``noqa: F401`` are these re-exports)
__all__ = list(_API)


@dataclass(frozen=True)
class MeasureInfo:
    """What one key of :func:`measure` is: a readable ``label``, what a larger value means
    (``higher``: ``"sharper"``, ``"flatter"``, ``"weaker"`` or ``"more complex"``), its ``units``,
    whether it needs a ReLU MLP (``mlp_only``) and its ``formula``."""

    label: str
    higher: str
    units: str
    mlp_only: bool
    formula: str


#: Every measure :func:`measure` knows, by key (in the order of its output).
MEASURE_INFO: dict[str, MeasureInfo] = {
    "lambda_max": MeasureInfo("λ_max (largest Hessian eigenvalue)", "sharper", "nats / weight²",
                              False, "λ_max(∇²L(θ)), Lanczos certified to 0.1 %"),
    "trace": MeasureInfo("Hessian trace (sum of all eigenvalues)", "sharper", "nats / weight²",
                         False, "tr ∇²L(θ), Hutchinson with 30 Rademacher probes"),
    "sam": MeasureInfo("SAM sharpness (ρ = 0.05)", "sharper", "nats", False,
                       "L(θ + ρ g/‖g‖) − L(θ), g = ∇L(θ)"),
    "asam": MeasureInfo("adaptive SAM sharpness (ρ = 0.5)", "sharper", "nats", False,
                        "L(θ + ε) − L(θ), ε = ρ T²g/‖Tg‖, T = diag|θ|"),
    "pacbayes_sigma": MeasureInfo("PAC-Bayes flatness σ*", "flatter", "weight units", False,
                                  "largest σ with E L(θ + σε) − L(θ) ≤ 0.1, ε ~ N(0, I)"),
    "w1": MeasureInfo("W1 weakness (permitted labels, τ = 0.01)", "weaker", "bits per input",
                      False, "mean log₂(2^|A(x)| − 1), A(x) = {k : p_k(x) ≥ 0.01}"),
    "w2": MeasureInfo("W2 weakness (transformations that keep the prediction)", "weaker",
                      "transformations, of 12", False, "mean #{g ∈ G : argmax f(gx) = argmax f(x)}"),
    "path_norm": MeasureInfo("ℓ₂ path norm", "more complex", "output units", True,
                             "√(Σ over input→output paths of Π w²)"),
}

#: The keys :func:`measure` computes by default: every measure that applies to any classifier.
GENERIC: tuple[str, ...] = tuple(k for k, v in MEASURE_INFO.items() if not v.mlp_only)
_CURVATURE = ("lambda_max", "trace", "sam", "asam", "pacbayes_sigma")


def _require_mlp(model: nn.Module, what: str) -> None:
    if not isinstance(model, MLP):
        raise TypeError(f"{what} needs a ReLU MLP built by weakness_lib.build_mlp, got "
                        f"{type(model).__name__}; it is not defined for other modules")


def path_norm(model: MLP) -> float:
    """ℓ₂ path norm of a ReLU MLP: √(Σ over input→output paths of Π w²), biases as paths from a
    constant 1 (``weakness_lib.bennett.measures.path_norm``). Higher = more complex.

    Exactly invariant under every function-preserving rescaling. MLP-only: a convolution's
    weights are shared between paths, so the sum over ``nn.Linear`` layers would be wrong for a
    CNN; any module other than :class:`MLP` raises ``TypeError``. Cost: one pass over the weights.
    """
    _require_mlp(model, "path_norm")
    return _path_norm(model)


def weakness_w1(model: nn.Module, probe: Tensor, *, tau: float = 0.01) -> float:
    """W1 weakness of ``model`` on unlabelled probe inputs U (Bennett 2026), in bits per input.

    With p(x) = softmax(f(x)), the permitted labels A(x) = {k : p_k(x) ≥ τ} ∪ {argmax p(x)} and
    a(x) = #A(x) their number, W1 = mean over x ∈ U of log₂(2^a(x) − 1): 0 when every prediction
    is certain, log₂(2^K − 1) for K classes when every label is permitted. Higher = weaker (more completions left open). A function of the
    float64 logits on U only, so it is unchanged by any reparameterisation that preserves f.
    Works for any classifier; cost: one forward pass over U.
    """
    if not isinstance(probe, Tensor) or probe.ndim < 2:
        raise ArgumentError("weakness_w1: probe must be a tensor batch [N, ...] of inputs")
    return w1_log_freedom(probe_logits(model, probe), tau=tau)


def weakness_w2(model: nn.Module, probe: Tensor, *, transforms: Sequence[Transform] | None = None,
                image_shape: tuple[int, ...] = MNIST_SHAPE) -> W2Result:
    """W2 weakness: how many of a fixed set G of small image transformations keep the prediction.

    W2 = mean over x ∈ U of #{g ∈ G : argmax f(g·x) = argmax f(x)}, from 0 to #G; by default G has 12
    transformations (shifts of ±1, ±2 px along x and y, rotations of ±10°, Gaussian pixel noise
    σ = 0.1, 0.2). Higher = weaker. ``probe`` is either images ``[N, C, H, W]`` (passed to the
    model in that shape) or flattened rows ``[N, C·H·W]`` reshaped to ``image_shape`` for the
    transformations (what the book's MLPs take). Pixels must lie in [0, 1] (shifts and rotations
    fill with 0, noise is clipped to [0, 1]). Cost: #G + 1 forward passes over U, in float64.
    """
    if not isinstance(probe, Tensor) or probe.ndim not in (2, 4):
        raise ArgumentError("weakness_w2: probe must be images [N, C, H, W] or rows [N, C*H*W]")
    if float(probe.min()) < 0.0 or float(probe.max()) > 1.0:
        raise ArgumentError(f"weakness_w2: pixels must lie in [0, 1], got "
                            f"[{float(probe.min()):.3g}, {float(probe.max()):.3g}]")
    if probe.ndim == 4:  # the transformations see images; the model gets them in its own shape
        image_shape = tuple(probe.shape[1:])
        model, probe = nn.Sequential(nn.Unflatten(1, image_shape), model), probe.flatten(1)
    return transformation_compatibility(model, probe, transforms=transforms, image_shape=image_shape)


def measure(model: nn.Module, images: Tensor, labels: Tensor, *, which: Sequence[str] = GENERIC,
            probe: Tensor | None = None, seed: int = 0) -> dict[str, float]:
    """Sharpness, flatness and weakness of a trained classifier, by key (see :data:`MEASURE_INFO`).

    The curvature measures use the mean cross-entropy L(θ) = (1/B) Σ_i ℓ(f_θ(x_i), y_i) on the
    batch (``images``, ``labels``) in float64 and eval mode, through one Hessian-vector-product
    operator, exactly as the book's ``measure_table``: ``lambda_max`` (λ_max of ∇²L, Lanczos),
    ``trace`` (tr ∇²L, Hutchinson), ``sam`` and ``asam`` (loss increase after one ascent step) —
    higher = sharper; ``pacbayes_sigma`` (largest weight-noise σ raising L by ≤ 0.1 nats) —
    higher = flatter. ``w1`` and ``w2`` are computed from the outputs on ``probe`` (unlabelled
    inputs the network was not trained on; default ``images``) — higher = weaker. ``path_norm``
    (higher = more complex) applies to a :class:`MLP` only. Cost: λ_max and the trace dominate
    (tens of Hessian-vector products, each about two forward-backward passes over the batch).

    Args:
        model: a classifier returning logits ``[N, K]``; left in the training mode it had.
        images: the curvature batch of training inputs, in the shape the model takes.
        labels: integer class labels, one per image.
        which: the keys to compute, in order; default :data:`GENERIC` (all but ``path_norm``).
        probe: inputs for ``w1`` and ``w2`` (pixels in [0, 1] for ``w2``).
        seed: seeds the Lanczos start vector, the Hutchinson probes and the PAC-Bayes draws.

    Returns:
        A dict of Python floats, one per key of ``which``, in that order.

    Raises:
        TypeError: a wrong argument or an MLP-only key for another module (one line each).
    """
    if not isinstance(model, nn.Module) or next(model.parameters(), None) is None:
        raise ArgumentError(f"measure: model must be an nn.Module with parameters, got "
                            f"{type(model).__name__}")
    which = [which] if isinstance(which, str) else list(which)
    unknown = [k for k in which if k not in MEASURE_INFO]
    if unknown:
        raise ArgumentError(f"measure: unknown key(s) {unknown}; known: {list(MEASURE_INFO)}")
    for key in which:
        if MEASURE_INFO[key].mlp_only:
            _require_mlp(model, f"measure: {key!r}")
    probe = images if probe is None else probe
    was_training, out = model.training, {}
    try:
        hvp = curvature_hvp(model, images, labels) if set(which) & set(_CURVATURE) else None
        for key in which:
            if key == "lambda_max":
                out[key] = lambda_max(hvp, seed=seed).value
            elif key == "trace":
                out[key] = hessian_trace(hvp, seed=seed).value
            elif key == "sam":
                out[key] = sam_sharpness(hvp).value
            elif key == "asam":
                out[key] = adaptive_sharpness(hvp).value
            elif key == "pacbayes_sigma":
                out[key] = pacbayes_flatness(hvp, n_train=len(labels), seed=seed).sigma
            elif key == "w1":
                out[key] = weakness_w1(model, probe)
            elif key == "w2":
                out[key] = weakness_w2(model, probe).count
            else:
                out[key] = path_norm(model)
    finally:
        model.train(was_training)
    return {k: float(v) for k, v in out.items()}
