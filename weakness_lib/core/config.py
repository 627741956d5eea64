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

A config is checked against the registered one before use (:func:`check_types`): a setting whose
value has the wrong kind (``n_train: "600"``) or a missing setting stops with one line naming the
file and the key, instead of failing later inside a unit.
"""

from __future__ import annotations

import copy
import hashlib
import json
import numbers
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
    path = (folder or configs_dir()) / f"{experiment}.yaml"
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
    """``common`` deep-merged with the ``scale`` section, then ``overrides`` (unknown keys rejected).

    The file's ``free_text`` list (if any) is kept in the config so that :func:`settings_hash`
    knows which keys to leave out.
    """
    reg = load_registration(experiment)
    config = scale_config(reg, check_scale(scale))
    check_types(experiment, scale, config, reg)
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


def scale_config(registration: Mapping[str, Any], scale: str) -> dict[str, Any]:
    """``common`` deep-merged with the ``scale`` block of a registration (no bookkeeping keys)."""
    return deep_merge(registration.get("common") or {}, registration.get(scale) or {})


#: the registered configs shipped with the package, the reference of :func:`check_types`
SHIPPED_CONFIGS = Path(__file__).resolve().parents[2] / "configs"

_KINDS = {"boolean": "true or false", "integer": "an integer", "number": "a number",
          "string": "a string", "list": "a list", "mapping": "a mapping"}


def _kind(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, numbers.Integral):
        return "integer"
    if isinstance(value, numbers.Real):
        return "number"
    if isinstance(value, str):
        return "string"
    return "mapping" if isinstance(value, Mapping) else "list" if isinstance(value, list) else None


def _numeric_text(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return isinstance(value, str)


def _type_problem(config: Mapping[str, Any], refs: list[Mapping[str, Any]], lenient: bool,
                  skip: frozenset[str], prefix: str = "") -> str | None:
    """The first setting of ``config`` that is missing or of a kind no reference has, as text."""
    keys = [k for r in refs for k in r if k not in skip]
    for key in dict.fromkeys(keys):
        name = f"{prefix}{key}"
        if key not in config:
            if key in refs[0]:  # the first reference is this scale's (or, in place, the other's)
                return f"missing key {name}"
            continue
        value = config[key]
        registered = [r[key] for r in refs if key in r]
        if lenient:  # in place: the other scale may be the edited one
            if any(isinstance(v, str) and not _numeric_text(v) for v in [value, *registered]):
                continue  # a keyword at one scale (recreation_trials: all): the study checks it
            registered = [v for v in registered if not _numeric_text(v)]
        kinds = {_kind(v) for v in registered}
        if not kinds or None in kinds:  # registered as null (or not usable): anything goes
            continue
        kind = _kind(value)
        if kind in kinds or (kind == "integer" and "number" in kinds):
            if kind == "mapping":
                nested = [v for v in registered if isinstance(v, Mapping)]
                problem = _type_problem(value, nested, lenient, skip, f"{name}.")
                if problem:
                    return problem
            continue
        want = " or ".join(_KINDS[k] for k in sorted(kinds, key=list(_KINDS).index))
        return f"{name} must be {want}, got {value!r}"
    return None


def check_types(experiment: str, scale: str, config: Mapping[str, Any],
                registration: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` (one line naming the file and the key) when a setting of
    ``config`` is missing or has a kind the registered config never gives it.

    The reference is the registration shipped with the package (``configs/<experiment>.yaml``
    beside it: both its scales, so a setting may be an integer at one scale and a keyword at the
    other). When ``config`` *is* that file (edited in place), the reference is its other scale,
    and a string is only refused where it reads as a number (``"600"``). Values registered as
    null, free-text keys and list items are not checked.
    """
    path = configs_dir() / f"{experiment}.yaml"
    shipped = SHIPPED_CONFIGS / f"{experiment}.yaml"
    other = next(s for s in ("smoke", "full") if s != scale)
    try:
        same = not shipped.exists() or shipped.resolve() == path.resolve()
    except OSError:
        same = True
    if same:
        refs, lenient = [scale_config(registration, other)], True
    else:
        try:
            ref = yaml_load(shipped.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            return
        if not isinstance(ref, Mapping):
            return
        refs, lenient = [scale_config(ref, scale), scale_config(ref, other)], False
    skip = FREE_TEXT_KEYS | set(registration.get("free_text") or ()) | {"experiment", "scale"}
    problem = _type_problem(config, refs, lenient, frozenset(skip))
    if problem:
        raise ConfigError(f"{_shown(path)}: {problem} (scale {scale})")


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
