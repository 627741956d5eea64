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

Files are read as YAML 1.1 except that exponent floats without a dot or a signed exponent
(``1e-3``, ``1.0e4``, ``-2E+5``) are floats, as in YAML 1.2, instead of strings.

Each study declares its settings as typed dataclasses (``weakness_lib/studies/<paper>/settings.py``);
:func:`weakness_lib.engine.settings.load` checks a merged config against them once, so a value of
the wrong type (``n_train: "600"``), a missing or an unknown key stops with one line naming the file
and the key (:mod:`weakness_lib.core.settings`), instead of failing later inside a unit.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from weakness_lib.core.jsonable import jsonable
from weakness_lib.core.paths import check_scale, configs_dir

#: setting names whose values are prose, never read by code that computes a result
FREE_TEXT_KEYS: frozenset[str] = frozenset({
    "other_measures", "measures", "note", "notes", "description", "revision", "registered",
    "pilot_disclosure", "signs", "direction", "recipe_note", "free_text",
})


class ConfigError(ValueError):
    """A config file is missing or malformed."""


class ConfigLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that also reads ``1e-3``, ``1.0e4``, ``-2E+5`` as floats (YAML 1.2)."""


ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def yaml_load(text: str) -> Any:
    """Parse a config's YAML text with :class:`ConfigLoader`."""
    return yaml.load(text, Loader=ConfigLoader)  # noqa: S506 - a SafeLoader subclass


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is below it (as a user would type it)."""
    try:
        return os.path.relpath(path) if Path(path).resolve().is_relative_to(Path.cwd()) else str(path)
    except (OSError, ValueError):
        return str(path)


def load_registration(experiment: str, folder: Path | None = None) -> dict[str, Any]:
    """The whole pre-registration file of ``experiment``."""
    path = folder / f"{experiment}.yaml" if folder else config_path(experiment)
    if not path.exists():
        raise ConfigError(f"no pre-registered config {path}")
    try:
        data = yaml_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = getattr(exc, "problem", None) or " ".join(str(exc).split())
        raise ConfigError(f"{_shown(path)} is not valid YAML{where}: {what}") from exc
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
    """The merged config of ``experiment`` at ``scale`` as a plain mapping (the input of
    :func:`settings_hash`), read from ``configs/<experiment>.yaml``; see :func:`merged_config`.

    Its types are not checked here: :func:`weakness_lib.engine.settings.load` builds the study's
    validated settings object from it (core knows no study's settings)."""
    return merged_config(experiment, scale, load_registration(experiment), overrides)


def merged_config(experiment: str, scale: str, registration: Mapping[str, Any],
                  overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``common`` deep-merged with the ``scale`` section, then ``overrides`` (unknown keys rejected),
    then the bookkeeping keys ``free_text`` (the file's list, if any, so that
    :func:`settings_hash` knows which keys to leave out), ``experiment`` and ``scale``."""
    config = scale_config(registration, check_scale(scale))
    for key, value in (overrides or {}).items():
        if key not in config:
            raise ConfigError(
                f"unknown setting {key!r} for experiment {experiment!r}; "
                f"known settings: {sorted(config)}"
            )
        config[key] = value
    if registration.get("free_text"):
        config["free_text"] = sorted(registration["free_text"])
    config["experiment"] = experiment
    config["scale"] = scale
    return config


def scale_config(registration: Mapping[str, Any], scale: str) -> dict[str, Any]:
    """``common`` deep-merged with the ``scale`` block of a registration (no bookkeeping keys)."""
    return deep_merge(registration.get("common") or {}, registration.get(scale) or {})


def config_path(experiment: str) -> Path:
    """Where ``experiment``'s registration is read from (``$WEAKNESS_CONFIGS`` or ``configs/``)."""
    return configs_dir() / f"{experiment}.yaml"


def shown_path(experiment: str) -> str:
    """:func:`config_path` as a user would type it (relative to the working directory if below)."""
    return _shown(config_path(experiment))


def result_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """The settings that can change a result: ``config`` without its free-text keys (top level)."""
    declared = FREE_TEXT_KEYS | set(config.get("free_text") or ())
    return {k: v for k, v in config.items() if k not in declared}


def canonical_json(obj: Any) -> str:
    """Sorted, compact JSON (the input of every hash in the project)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def settings_hash(config: Mapping[str, Any]) -> str:
    """First 16 hex digits of SHA-256 over the canonical JSON of :func:`result_settings`."""
    text = canonical_json(jsonable(result_settings(config)))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
