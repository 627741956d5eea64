"""Pre-registered experiment configs (``configs/<experiment>.yaml``).

Each file is committed *before* the full-scale run and holds:

* ``claims``: per claim id, the paper's ``statement`` and ``paper_value``, our ``metric`` and the
  ``verdict_rule`` (the text that decides the verdict, written before seeing full results);
* ``common``: settings shared by both scales; ``smoke`` and ``full``: per-scale settings that
  override ``common``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from weakness_lib.core.paths import check_scale, configs_dir


class ConfigError(ValueError):
    """A config file is missing or malformed."""


def load_registration(experiment: str, folder: Path | None = None) -> dict[str, Any]:
    """The whole pre-registration file of ``experiment``."""
    path = (folder or configs_dir()) / f"{experiment}.yaml"
    if not path.exists():
        raise ConfigError(f"no pre-registered config {path}")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key in ("claims", "smoke", "full"):
        if key not in data:
            raise ConfigError(f"{path}: missing top-level key {key!r}")
    return data


def experiment_config(
    experiment: str, scale: str, overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``common`` merged with the ``scale`` section, then ``overrides`` (unknown keys rejected)."""
    reg = load_registration(experiment)
    config = {**reg.get("common", {}), **reg[check_scale(scale)]}
    for key, value in (overrides or {}).items():
        if key not in config:
            raise ConfigError(
                f"unknown setting {key!r} for experiment {experiment!r}; "
                f"known settings: {sorted(config)}"
            )
        config[key] = value
    config["experiment"] = experiment
    config["scale"] = scale
    return config
