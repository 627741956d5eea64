"""Pre-registered experiment configs (``configs/<experiment>.yaml``).

Each file is committed *before* the full-scale run and holds:

* ``claims``: per claim id, the paper's ``statement`` and ``paper_value``, our ``metric`` and the
  ``verdict_rule`` (prose, for readers), with the structured ``target`` (paper values) and
  ``thresholds`` that the verdict functions read — one source for each rule;
* ``common``: settings shared by both scales; ``smoke`` and ``full``: per-scale settings,
  **deep-merged** over ``common`` (a nested block overrides only the keys it names);
* free text (registration notes, revisions, disclosures, descriptions of measures): top-level keys
  of the file (never merged into a config), and settings named in :data:`FREE_TEXT_KEYS` or in the
  file's own ``free_text:`` list, at the top level of ``common``/``smoke``/``full``. Those are stored
  with the config for readers but are **not part of its hash**: fixing a typo never orphans results.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from weakness_lib.core.paths import check_scale, configs_dir

#: setting names whose values are prose, never read by code that computes a result
FREE_TEXT_KEYS: frozenset[str] = frozenset({
    "other_measures", "measures", "note", "notes", "description", "revision", "registered",
    "pilot_disclosure", "signs", "direction", "recipe_note", "free_text",
})


class ConfigError(ValueError):
    """A config file is missing or malformed."""


def load_registration(experiment: str, folder: Path | None = None) -> dict[str, Any]:
    """The whole pre-registration file of ``experiment``."""
    path = (folder or configs_dir()) / f"{experiment}.yaml"
    if not path.exists():
        raise ConfigError(f"no pre-registered config {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    for key in ("claims", "smoke", "full"):
        if key not in data:
            raise ConfigError(f"{path}: missing top-level key {key!r}")
    return data


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``override``, recursively for nested mappings (lists are replaced)."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def experiment_config(
    experiment: str, scale: str, overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``common`` deep-merged with the ``scale`` section, then ``overrides`` (unknown keys rejected).

    The file's ``free_text`` list (if any) is kept in the config so that :func:`settings_hash`
    knows which keys to leave out.
    """
    reg = load_registration(experiment)
    config = deep_merge(reg.get("common") or {}, reg[check_scale(scale)] or {})
    for key, value in (overrides or {}).items():
        if key not in config:
            raise ConfigError(
                f"unknown setting {key!r} for experiment {experiment!r}; "
                f"known settings: {sorted(config)}"
            )
        config[key] = value
    if reg.get("free_text"):
        config["free_text"] = sorted(reg["free_text"])
    config["experiment"] = experiment
    config["scale"] = scale
    return config


def result_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """The settings that can change a result: ``config`` without its free-text keys (top level)."""
    declared = FREE_TEXT_KEYS | set(config.get("free_text") or ())
    return {k: v for k, v in config.items() if k not in declared}


def canonical_json(obj: Any) -> str:
    """Sorted, compact JSON (the input of every hash in the project)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def settings_hash(config: Mapping[str, Any]) -> str:
    """First 16 hex digits of SHA-256 over the canonical JSON of :func:`result_settings`."""
    from weakness_lib.core.store import _jsonable

    text = canonical_json(_jsonable(result_settings(config)))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
