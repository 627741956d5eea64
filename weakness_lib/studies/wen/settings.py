"""The settings of the Wen, Li & Ma (2023) scenario studies, typed: every key of
``configs/wen_scenario_*.yaml``, its type and, where it may be omitted, its default — the one place
where a default is written (checked by :func:`weakness_lib.core.settings.build`)."""

from __future__ import annotations

from dataclasses import dataclass

from weakness_lib.core.settings import StudySettings


@dataclass(frozen=True, kw_only=True)
class Run:
    """One training run: architecture, algorithm and its phases (a
    :class:`weakness_lib.wen.sam.TrainSpec` as a dict); ``width`` overrides the scenario's,
    ``init_scale`` scales the first layer's initialisation, ``project_norm`` projects the first
    layer onto a sphere after each step."""

    arch: str
    algorithm: str
    phases: list[dict[str, float]]
    width: int | None = None
    init_scale: float = 1.0
    project_norm: float | None = None


@dataclass(frozen=True, kw_only=True)
class Scenario(StudySettings):
    """Settings shared by the three scenarios: the xor data, the network, the logging and runs."""

    d: int
    n_train: int
    n_test: int
    width: int
    ln_eps: float
    seeds: list[int]
    log_points: int
    final_window: float
    hutchinson_probes: int
    construction_seed: int
    runs: dict[str, Run]


@dataclass(frozen=True, kw_only=True)
class Scenario1(Scenario):
    """Claim WLM-I: without a bias (and with Sim-BN) the flattest interpolators generalise."""

    construction_eps: float
    rescale_grid: list[float]


@dataclass(frozen=True, kw_only=True)
class Scenario2(Scenario):
    """Claim WLM-II: with a first-layer bias, flattest memorisers exist and 1-SAM finds one."""

    dense_check_points: int


@dataclass(frozen=True, kw_only=True)
class Scenario3(Scenario):
    """Claim WLM-III: Sim-LN networks, projected and standard SAM, and the scale sweep."""

    dense_check_points: int
    scale_grid: list[float]
