"""The settings of the Bennett (2026) studies, typed: every key of ``configs/<study>.yaml`` (merged
``common`` + scale block), its type and, where it may be omitted, its default — the one place
where a default is written. :func:`weakness_lib.core.settings.build` checks a config against them
(one line naming the file and the key on a wrong type, a missing key or an unknown key).

A default of ``None`` on a measurement setting means "the default of the measure itself"
(:func:`weakness_lib.bennett.measures.measure_table`): the study then does not pass it.
"""

from __future__ import annotations

from dataclasses import dataclass

from weakness_lib.core.settings import StudySettings


@dataclass(frozen=True, kw_only=True)
class Train:
    """The ``train`` block: optimiser and stopping rule (see :class:`weakness_lib.bennett.train.TrainConfig`)."""

    optimizer: str
    lr: float
    momentum: float
    batch_size: int
    epochs: int
    stop_train_acc: float | None = None


@dataclass(frozen=True, kw_only=True)
class GridTrain:
    """The ``train`` block of the robustness population (its learning rate comes from the grid)."""

    optimizer: str
    momentum: float
    batch_size: int
    epochs: int
    max_steps: int
    stop_train_loss: float


@dataclass(frozen=True, kw_only=True)
class Grid:
    """The robustness population's hyper-parameter grid (every combination, every seed)."""

    depth: list[int]
    lr: list[float]
    n_train: list[int]
    width: list[int]


@dataclass(frozen=True, kw_only=True)
class Curvature:
    """How sharpness is measured: the fixed curvature batch and the estimators' precision."""

    curvature_batch: int
    lanczos_tol: float
    hutchinson_probes: int


@dataclass(frozen=True, kw_only=True)
class Family(Curvature):
    """:func:`~weakness_lib.bennett.measures.measure_table`'s settings (``None``: its default)."""

    curvature_seed: int
    sam_rho: float | None = None
    pacbayes_draws: int | None = None
    pacbayes_bisect: int | None = None


@dataclass(frozen=True, kw_only=True)
class Sampling:
    """How a population's data context is drawn: the split, the probe set's source and the pool
    that the curvature batch is drawn from (``None``: the whole training set)."""

    split_seed: int
    probe_source: str = "train"
    curvature_pool: int | None = None


@dataclass(frozen=True, kw_only=True)
class Weakness:
    """How weakness is measured: W1's τ and δ grids and the probe sets of W1 and W2."""

    taus: list[float]
    deltas: list[float]
    n_probe: int
    w2_probe: int


@dataclass(frozen=True, kw_only=True)
class Bennett(StudySettings):
    """Settings every Bennett study that trains networks has."""

    torch_threads: int | None = None


@dataclass(frozen=True, kw_only=True)
class Reparameterisation(Bennett, Family):
    """B1: one trained network, rescaled by each α in each mode."""

    dataset: str
    widths: list[int]
    n_train: int
    split_seed: int
    seed: int
    train: Train
    alphas: list[float]
    modes: list[str]


@dataclass(frozen=True, kw_only=True)
class InvarianceAudit(Reparameterisation, Weakness):
    """B2: every measure of the rescaled networks of B1's design, weakness included."""


@dataclass(frozen=True, kw_only=True)
class BatchSize(Bennett, Curvature, Weakness):
    """B5 and B5-R: small- against large-batch training across training-set sizes."""

    dataset: str
    widths: list[int]
    optimizer: str
    lr: float
    batch_small: int
    batch_large: int
    stop_train_loss: float
    max_epochs_small: int
    max_steps_large: int
    probe: str
    probe_seed: int
    n_values: list[int]
    seeds: list[int]


@dataclass(frozen=True, kw_only=True)
class Population(Bennett, Family, Weakness, Sampling):
    """Settings shared by the trained populations (head-to-head, replications, robustness)."""

    bootstrap_resamples: int
    bootstrap_seed: int
    primary_weakness: str
    secondary_weakness: str


@dataclass(frozen=True, kw_only=True)
class HeadToHead(Population):
    """B6/B7: a population of networks of one recipe on one dataset, measures against targets."""

    dataset: str
    widths: list[int]
    n_train: int
    n_networks: int
    seed_base: int
    train: Train
    targets: list[str]
    primary_sharpness: str
    primary_simplicity: str


@dataclass(frozen=True, kw_only=True)
class Replication(HeadToHead):
    """B6-R, B7-R and the n = 60,000 populations: the head-to-head with a confirmatory measure."""

    confirmatory_weakness: str


@dataclass(frozen=True, kw_only=True)
class Robustness(Population):
    """X5: networks over a grid of depth, width, learning rate and n, on several datasets."""

    datasets: list[str]
    seeds: list[int]
    grid: Grid
    train: GridTrain
    n_eval: int


@dataclass(frozen=True, kw_only=True)
class WeaknessVsValidation(StudySettings):
    """IV: weakness against validation accuracy on the two n = 60,000 populations (trains nothing)."""

    populations: dict[str, str]
    measure: str
    target: str
    oracle: str
    control: str
    oracle_images: int
    bootstrap_resamples: int
    bootstrap_seed: int
    noise_simulations: int
    noise_seed: int


@dataclass(frozen=True, kw_only=True)
class Theory(StudySettings):
    """B3/B4: the finite-language experiments and the head-to-head tables they read."""

    seed: int
    uniform_k: list[int | str]
    binomial_q: list[float]
    mixtures: list[list[float]]
    biased_inclusion: list[float]
    pacbayes_m: int
    pacbayes_delta: float
    head_to_head_datasets: list[str]
    bound_column: str
    weakness_column: str
    recreation_ops: list[str]
    recreation_n_train: list[int]
    recreation_trials: int | str
    grammar_max_size: int
    volume_widths: list[int]
    volume_alphas: list[float]
    volume_radius: float
    volume_draws: int
    u_sizes: list[int]
    n_families: int
    functions_grid: list[list[int]]
    functions_limit: int
    exclusion_grid: list[list[int]]
    exclusion_limit: int
