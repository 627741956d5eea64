"""Weakness: how many completions a learned function leaves open, computed from outputs only.

Everything here is a function of the network's *outputs* on a fixed probe set U of unseen inputs
(or, for :class:`FiniteLanguage`, of an explicitly declared finite embodied language). Two
networks with bitwise-equal logits on U therefore get bitwise-equal weakness, and any
function-preserving reparameterisation (Dinh et al. 2017) leaves every estimator unchanged up
to the round-off of the logits themselves. None of these are parameter-space volumes (see
reference §4.4: those change under rescaling and are flatness measures under another name).

Estimators (reference bennett2026.md §4, design INFERRED — the paper's estimator is unknown):

* **W1, permission-profile log-freedom** (Bennett's 2026 closed form w = ∏_c (2^{a_c} − 1)).
  At each probe input x the *permitted label set* is

      A_τ(x) = {k : p_k(x) ≥ τ} ∪ {argmax_k p_k(x)}           (probability form), or
      A_δ(x) = {k : z_k(x) ≥ max_j z_j(x) − δ}                  (logit-margin form),

  both always containing the arg-max, so a(x) = |A(x)| ≥ 1, and

      W1 = (1/|U|) Σ_{x∈U} log₂(2^{a(x)} − 1)      [bits per context; 0 when a(x) = 1 everywhere].

  Cor. 4 of the freedom paper gives the per-context log₂ generalisation probability
  W1 − log₂(2^K − 1): the same ranking as W1.
* **W2, transformation compatibility**: for a fixed finite set G of small input transformations,

      W2 = (1/|U|) Σ_{x∈U} |{g ∈ G : argmax f(g·x) = argmax f(x)}|  ∈ [0, |G|],

  also reported as the fraction W2/|G|. The control "wrong group" G' = {vertical flip} should
  *not* be compatible with digit identity.
* Smooth relatives (not the same quantity, Prop. 3 of the freedom paper): mean |A(x)| and the
  mean predictive entropy H(p(x)) in bits.

Sign convention: higher = weaker (more completions left open).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torchvision.transforms.v2.functional as TF
from torch import Tensor, nn

__all__ = [
    "DEFAULT_TAUS",
    "DEFAULT_DELTAS",
    "SWEEP_TAUS",
    "SWEEP_DELTAS",
    "probe_logits",
    "permitted_by_probability",
    "permitted_by_margin",
    "permitted_sets",
    "log2_freedom_per_size",
    "w1_log_freedom",
    "mean_permitted",
    "fraction_singleton",
    "predictive_entropy",
    "generalisation_log2_probability",
    "w1_sweep",
    "Transform",
    "default_transforms",
    "wrong_group_transforms",
    "W2Result",
    "transformation_compatibility",
    "w2_from_logits",
    "weakness_table",
    "weakness_columns",
    "FiniteLanguage",
    "exclusion_language",
    "exclusion_statement",
    "freedom_closed_form",
]

DEFAULT_TAUS: tuple[float, ...] = (0.01, 0.05, 0.1)
DEFAULT_DELTAS: tuple[float, ...] = (1.0, 2.0, 4.0)
SWEEP_TAUS: tuple[float, ...] = (0.001, 0.003, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3)
SWEEP_DELTAS: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 6.0, 8.0)

MNIST_SHAPE: tuple[int, int, int] = (1, 28, 28)


# ---------------------------------------------------------------------------------------------
# Network outputs on the probe set
# ---------------------------------------------------------------------------------------------
@torch.no_grad()
def probe_logits(
    model: nn.Module,
    X: Tensor,
    *,
    dtype: torch.dtype | None = torch.float64,
    batch_size: int = 8192,
) -> Tensor:
    """Logits z(x) of ``model`` on the rows of ``X`` (eval mode, no grad), shape [N, K].

    With ``dtype`` (default float64) the forward pass runs on a copy of the model cast to that
    dtype, so that float64 rescalings are compared at ~1e-14 round-off; ``None`` keeps the
    model's own dtype. Rows are processed in chunks of ``batch_size`` (vectorised within a chunk).
    """
    if X.ndim < 2 or X.shape[0] == 0:
        raise ValueError(f"probe inputs must be a non-empty batch [N, ...], got shape {tuple(X.shape)}")
    net = model if dtype is None else copy.deepcopy(model).to(dtype)
    was_training = net.training
    net.eval()
    in_dtype = next(net.parameters()).dtype
    try:
        return torch.cat(
            [net(X[i : i + batch_size].to(in_dtype)) for i in range(0, X.shape[0], batch_size)]
        )
    finally:
        net.train(was_training)


def _check_logits(logits: Tensor) -> Tensor:
    if logits.ndim != 2 or logits.shape[1] < 2:
        raise ValueError(f"logits must have shape [N, K ≥ 2], got {tuple(logits.shape)}")
    if not bool(torch.isfinite(logits).all()):
        raise ValueError("logits contain NaN or inf; weakness is undefined for a diverged network")
    return logits.double()


def permitted_by_probability(logits: Tensor, tau: float) -> Tensor:
    """Boolean mask [N, K] of A_τ(x) = {k : softmax(z(x))_k ≥ τ} ∪ {argmax z(x)} (float64 softmax)."""
    if not 0.0 < tau <= 1.0:
        raise ValueError(f"probability threshold τ must lie in (0, 1], got {tau}")
    z = _check_logits(logits)
    mask = torch.softmax(z, dim=1) >= tau
    mask[torch.arange(z.shape[0]), z.argmax(dim=1)] = True
    return mask


def permitted_by_margin(logits: Tensor, delta: float) -> Tensor:
    """Boolean mask [N, K] of A_δ(x) = {k : z_k(x) ≥ max_j z_j(x) − δ} (contains the arg-max)."""
    if not delta >= 0.0:
        raise ValueError(f"logit margin δ must be ≥ 0, got {delta}")
    z = _check_logits(logits)
    return z >= z.max(dim=1, keepdim=True).values - delta


def permitted_sets(logits: Tensor, *, tau: float | None = None, delta: float | None = None) -> Tensor:
    """A(x) as a mask: exactly one of ``tau`` (probability form) or ``delta`` (margin form)."""
    if (tau is None) == (delta is None):
        raise ValueError("give exactly one of tau= (probability threshold) or delta= (logit margin)")
    return permitted_by_probability(logits, tau) if tau is not None else permitted_by_margin(logits, delta)


def log2_freedom_per_size(n_classes: int) -> Tensor:
    """Lookup table t[a] = log₂(2^a − 1) for a = 0..K (float64; t[0] = −inf, never used)."""
    return torch.tensor(
        [-math.inf] + [math.log2(2.0**a - 1.0) for a in range(1, n_classes + 1)], dtype=torch.float64
    )


def w1_log_freedom(logits: Tensor, *, tau: float | None = None, delta: float | None = None) -> float:
    """W1 = mean_x log₂(2^{|A(x)|} − 1) in bits (see module docstring); higher = weaker."""
    mask = permitted_sets(logits, tau=tau, delta=delta)
    sizes = mask.sum(dim=1)
    return float(log2_freedom_per_size(mask.shape[1])[sizes].mean())


def mean_permitted(logits: Tensor, *, tau: float | None = None, delta: float | None = None) -> float:
    """Mean |A(x)| over the probe set (a smooth relative of W1, not the same quantity)."""
    return float(permitted_sets(logits, tau=tau, delta=delta).sum(dim=1).double().mean())


def fraction_singleton(logits: Tensor, *, tau: float | None = None, delta: float | None = None) -> float:
    """Fraction of probe inputs with |A(x)| = 1 (where W1 contributes 0 bits)."""
    return float((permitted_sets(logits, tau=tau, delta=delta).sum(dim=1) == 1).double().mean())


def predictive_entropy(logits: Tensor) -> float:
    """Mean predictive entropy (1/|U|) Σ_x −Σ_k p_k(x) log₂ p_k(x), in bits (float64)."""
    logp = torch.log_softmax(_check_logits(logits), dim=1)
    return float(-(logp.exp() * logp).sum(dim=1).mean() / math.log(2.0))


def generalisation_log2_probability(
    logits: Tensor, *, tau: float | None = None, delta: float | None = None
) -> float:
    """Cor. 4 of the freedom paper, per context: mean_x log₂[(2^{a(x)} − 1)/(2^K − 1)] = W1 − log₂(2^K − 1)."""
    k = logits.shape[1]
    return w1_log_freedom(logits, tau=tau, delta=delta) - math.log2(2.0**k - 1.0)


def w1_sweep(
    logits: Tensor,
    taus: Sequence[float] = SWEEP_TAUS,
    deltas: Sequence[float] = SWEEP_DELTAS,
) -> pd.DataFrame:
    """Threshold sensitivity of W1: one row per (form, threshold) with W1, mean |A|, frac |A| = 1."""
    rows = []
    for form, values in (("probability", taus), ("margin", deltas)):
        for v in values:
            kw = {"tau": v} if form == "probability" else {"delta": v}
            mask = permitted_sets(logits, **kw)
            sizes = mask.sum(dim=1)
            rows.append(
                {
                    "form": form,
                    "threshold": float(v),
                    "w1": float(log2_freedom_per_size(mask.shape[1])[sizes].mean()),
                    "mean_A": float(sizes.double().mean()),
                    "frac_singleton": float((sizes == 1).double().mean()),
                }
            )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# W2: transformation compatibility
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Transform:
    """A named, deterministic map on image batches [N, C, H, W] (values in [0, 1])."""

    name: str
    fn: Callable[[Tensor], Tensor]

    def __call__(self, images: Tensor) -> Tensor:
        return self.fn(images)


def _shift(dx: int, dy: int) -> Callable[[Tensor], Tensor]:
    """Integer translation by (dx, dy) pixels, zero fill (not circular), nearest interpolation."""

    def fn(img: Tensor) -> Tensor:
        return TF.affine(
            img, angle=0.0, translate=[dx, dy], scale=1.0, shear=[0.0, 0.0],
            interpolation=TF.InterpolationMode.NEAREST, fill=0.0,
        )

    return fn


def _rotate(angle: float) -> Callable[[Tensor], Tensor]:
    """Rotation by ``angle`` degrees about the centre, bilinear, zero fill."""

    def fn(img: Tensor) -> Tensor:
        return TF.rotate(img, angle, interpolation=TF.InterpolationMode.BILINEAR, fill=0.0)

    return fn


def _noise(sigma: float, seed: int) -> Callable[[Tensor], Tensor]:
    """x + σ ε, ε ~ N(0, I) drawn with a fixed seed (same draw for the same batch shape), clipped to [0, 1]."""

    def fn(img: Tensor) -> Tensor:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return TF.gaussian_noise(img, mean=0.0, sigma=sigma, clip=True)

    return fn


def default_transforms(noise_seed: int = 0) -> tuple[Transform, ...]:
    """The pre-registered group G of reference §4.2, |G| = 12.

    Shifts of ±1, ±2 px along x and along y (8), rotations of ±10° (2), and additive Gaussian
    noise with σ ∈ {0.1, 0.2} clipped to [0, 1] (2; seeds ``noise_seed`` and ``noise_seed + 1``).
    All via ``torchvision.transforms.v2.functional``.
    """
    shifts = [
        Transform(f"shift_{axis}{d:+d}", _shift(d if axis == "x" else 0, d if axis == "y" else 0))
        for axis in ("x", "y")
        for d in (-2, -1, 1, 2)
    ]
    rotations = [Transform(f"rotate{a:+d}", _rotate(float(a))) for a in (-10, 10)]
    noise = [Transform(f"noise{s}", _noise(s, noise_seed + i)) for i, s in enumerate((0.1, 0.2))]
    return tuple(shifts + rotations + noise)


def wrong_group_transforms() -> tuple[Transform, ...]:
    """Control group G' = {vertical flip}: not a symmetry of digit (or garment) identity."""
    return (Transform("vertical_flip", TF.vertical_flip),)


@dataclass(frozen=True)
class W2Result:
    """W2 = mean number of transformations under which the prediction is unchanged."""

    count: float
    fraction: float
    n_transforms: int
    per_transform: dict[str, float]


def w2_from_logits(base_logits: Tensor, transformed_logits: Sequence[Tensor], names: Sequence[str]) -> W2Result:
    """W2 from logits on U and on g·U for each g (arg-max agreement, counted per input then averaged)."""
    if len(transformed_logits) != len(names) or not names:
        raise ValueError("need one logits tensor per named transformation (at least one)")
    pred = _check_logits(base_logits).argmax(dim=1)
    agree = torch.stack([_check_logits(z).argmax(dim=1) == pred for z in transformed_logits], dim=1)
    count = float(agree.sum(dim=1).double().mean())
    per = {n: float(a) for n, a in zip(names, agree.double().mean(dim=0).tolist(), strict=True)}
    return W2Result(count=count, fraction=count / len(names), n_transforms=len(names), per_transform=per)


def transformation_compatibility(
    model: nn.Module,
    X: Tensor,
    *,
    transforms: Sequence[Transform] | None = None,
    image_shape: tuple[int, ...] = MNIST_SHAPE,
    dtype: torch.dtype | None = torch.float64,
    base_logits: Tensor | None = None,
) -> W2Result:
    """W2 of ``model`` on probe inputs ``X`` (flattened rows reshaped to ``image_shape``).

    ``transforms`` defaults to :func:`default_transforms`; pass :func:`wrong_group_transforms`
    for the control. ``base_logits`` may be given to reuse f(U) already computed.
    """
    G = tuple(default_transforms() if transforms is None else transforms)
    n = X.shape[0]
    if int(np.prod(image_shape)) != X[0].numel():
        raise ValueError(f"probe rows have {X[0].numel()} values, image_shape {image_shape} needs {int(np.prod(image_shape))}")
    images = X.reshape(n, *image_shape).float()
    net = model if dtype is None else copy.deepcopy(model).to(dtype)
    base = probe_logits(net, X, dtype=None) if base_logits is None else base_logits
    moved = [probe_logits(net, g(images).reshape(n, -1), dtype=None) for g in G]
    return w2_from_logits(base, moved, [g.name for g in G])


# ---------------------------------------------------------------------------------------------
# All output-space estimators for one network
# ---------------------------------------------------------------------------------------------
def _fmt(v: float) -> str:
    return f"{v:g}"


def weakness_columns(
    taus: Sequence[float] = DEFAULT_TAUS, deltas: Sequence[float] = DEFAULT_DELTAS
) -> list[str]:
    """Column names produced by :func:`weakness_table` (stable, for results tables)."""
    cols = []
    for t in taus:
        cols += [f"w1_tau{_fmt(t)}", f"mean_A_tau{_fmt(t)}", f"frac_single_tau{_fmt(t)}"]
    for d in deltas:
        cols += [f"w1_delta{_fmt(d)}", f"mean_A_delta{_fmt(d)}"]
    return cols + ["entropy_bits", "w2", "w2_frac", "w2_wrong_vflip"]


def weakness_table(
    model: nn.Module,
    probe_x: Tensor,
    *,
    taus: Sequence[float] = DEFAULT_TAUS,
    deltas: Sequence[float] = DEFAULT_DELTAS,
    transforms: Sequence[Transform] | None = None,
    image_shape: tuple[int, ...] = MNIST_SHAPE,
    dtype: torch.dtype | None = torch.float64,
    with_w2: bool = True,
) -> dict[str, float]:
    """Every output-space weakness estimator of one network on the probe set, in one call.

    Keys (see :func:`weakness_columns`): ``w1_tau{τ}``, ``mean_A_tau{τ}``, ``frac_single_tau{τ}``,
    ``w1_delta{δ}``, ``mean_A_delta{δ}``, ``entropy_bits``, ``w2`` (count out of |G|),
    ``w2_frac`` and ``w2_wrong_vflip`` (agreement under the wrong-group control). Higher = weaker.
    """
    z = probe_logits(model, probe_x, dtype=dtype)
    out: dict[str, float] = {}
    for t in taus:
        out[f"w1_tau{_fmt(t)}"] = w1_log_freedom(z, tau=t)
        out[f"mean_A_tau{_fmt(t)}"] = mean_permitted(z, tau=t)
        out[f"frac_single_tau{_fmt(t)}"] = fraction_singleton(z, tau=t)
    for d in deltas:
        out[f"w1_delta{_fmt(d)}"] = w1_log_freedom(z, delta=d)
        out[f"mean_A_delta{_fmt(d)}"] = mean_permitted(z, delta=d)
    out["entropy_bits"] = predictive_entropy(z)
    if with_w2:
        w2 = transformation_compatibility(
            model, probe_x, transforms=transforms, image_shape=image_shape, dtype=dtype, base_logits=z
        )
        wrong = transformation_compatibility(
            model, probe_x, transforms=wrong_group_transforms(), image_shape=image_shape,
            dtype=dtype, base_logits=z,
        )
        out["w2"] = w2.count
        out["w2_frac"] = w2.fraction
        out["w2_wrong_vflip"] = wrong.fraction
    return out


# ---------------------------------------------------------------------------------------------
# Exact weakness in a finite embodied language (Bennett 2023/2024; reference §3.1, §3.4)
# ---------------------------------------------------------------------------------------------
class FiniteLanguage:
    """The embodied language L_v of a finite vocabulary v of programs over a finite set of worlds.

    A program is identified with the set of worlds where it is true (a row of ``truth``,
    shape [|v|, |worlds|]). A statement l ⊆ v is *realisable* iff some world makes every program
    in l true; L_v is the set of realisable statements (the empty statement included, as in
    Bennett 2023, unless ``include_empty=False``). Statements are bitmasks over v (bit i = program i).

    * completion: y completes x iff x ⊆ y;
    * extension Z_x = {y ∈ L_v : x ⊆ y}; for a set S of statements Z_S = ∪_{s∈S} Z_s;
    * weakness of x = |Z_x|.

    Everything is exact integer counting by enumerating the 2^|v| subsets (|v| ≤ 22): the
    realisable family is the union of the down-sets of the worlds' true-sets (a subset-sum
    transform), and |Z_x| for all x at once is a superset-sum transform, O(|v| 2^|v|).
    """

    MAX_PROGRAMS = 22

    def __init__(self, truth: np.ndarray, include_empty: bool = True):
        truth = np.asarray(truth, dtype=bool)
        if truth.ndim != 2 or truth.shape[0] == 0 or truth.shape[1] == 0:
            raise ValueError("truth must be a non-empty boolean matrix [n_programs, n_worlds]")
        n = truth.shape[0]
        if n > self.MAX_PROGRAMS:
            raise ValueError(f"{n} programs: exhaustive enumeration supports at most {self.MAX_PROGRAMS}")
        self.truth = truth
        self.n_programs = n
        weights = np.left_shift(np.int64(1), np.arange(n, dtype=np.int64))
        self.world_masks = (truth.T.astype(np.int64) * weights).sum(axis=1)  # programs true per world
        realisable = np.zeros(1 << n, dtype=bool)
        realisable[self.world_masks] = True
        idx = np.arange(1 << n, dtype=np.int64)
        for b in range(n):  # down-closure: l realisable if l ∪ {b} is
            has = (idx >> b) & 1 == 1
            realisable[idx[~has]] |= realisable[idx[has]]
        if not include_empty:
            realisable[0] = False
        self.realisable = realisable
        counts = realisable.astype(np.int64)
        for b in range(n):  # superset sums: counts[x] = Σ_{y ⊇ x} realisable[y]
            has = (idx >> b) & 1 == 1
            counts[idx[~has]] += counts[idx[has]]
        self._ext_size = np.where(realisable, counts, 0)

    @property
    def statements(self) -> np.ndarray:
        """All statements of L_v as bitmasks (ascending)."""
        return np.flatnonzero(self.realisable)

    def mask(self, programs: Sequence[int]) -> int:
        """Bitmask of a set of program indices."""
        m = 0
        for p in programs:
            if not 0 <= int(p) < self.n_programs:
                raise ValueError(f"program index {p} outside 0..{self.n_programs - 1}")
            m |= 1 << int(p)
        return m

    def is_statement(self, x: int) -> bool:
        return bool(self.realisable[int(x)])

    def extension(self, x: int) -> np.ndarray:
        """Z_x = {y ∈ L_v : x ⊆ y} as an array of bitmasks (brute force, for checks)."""
        s = self.statements
        return s[(s & int(x)) == int(x)]

    def extension_of_set(self, xs: Sequence[int]) -> np.ndarray:
        """Z_S = ∪_{s∈S} Z_s."""
        if len(xs) == 0:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate([self.extension(x) for x in xs]))

    def weakness(self, x: int) -> int:
        """|Z_x| (0 when x is not a statement of L_v)."""
        return int(self._ext_size[int(x)])

    def weakness_all(self) -> np.ndarray:
        """|Z_x| for every bitmask x (0 for non-statements)."""
        return self._ext_size.copy()


def exclusion_language(n_contexts: int, n_outputs: int) -> FiniteLanguage:
    """The freedom paper's exclusion encoding as a finite language (reference §3.4, INFERRED reading).

    Worlds are the total behaviours g: C → Y (|Y|^|C| of them); the vocabulary has one program
    per (c, y), "at context c the output is not y" (bit c·|Y| + y), true in the worlds with
    g(c) ≠ y. A set of exclusions is realisable iff every context keeps ≥ 1 output.
    """
    if n_contexts < 1 or n_outputs < 1:
        raise ValueError("need at least one context and one output")
    worlds = np.array(np.meshgrid(*[np.arange(n_outputs)] * n_contexts, indexing="ij")).reshape(n_contexts, -1).T
    truth = np.zeros((n_contexts * n_outputs, worlds.shape[0]), dtype=bool)
    for c in range(n_contexts):
        for y in range(n_outputs):
            truth[c * n_outputs + y] = worlds[:, c] != y
    return FiniteLanguage(truth)


def exclusion_statement(profile: Sequence[Sequence[int]], n_outputs: int) -> int:
    """The policy π_F of a permission profile F (one permitted-output list per context): it
    excludes every (c, y) with y ∉ F(c). Returned as a bitmask in :func:`exclusion_language`."""
    m = 0
    for c, allowed in enumerate(profile):
        allowed = set(int(a) for a in allowed)
        for y in range(n_outputs):
            if y not in allowed:
                m |= 1 << (c * n_outputs + y)
    return m


def freedom_closed_form(sizes: Sequence[int]) -> int:
    """Bennett's closed form w(π_F) = ∏_c (2^{a_c} − 1) for permission-set sizes a_c (exact int)."""
    w = 1
    for a in sizes:
        if a < 0:
            raise ValueError("permission-set sizes must be ≥ 0")
        w *= (1 << int(a)) - 1
    return w
