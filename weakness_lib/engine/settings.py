"""A study's registered settings: one validated object per study and scale, built once from its YAML.

:func:`load` reads ``configs/<study>.yaml`` once, merges ``common`` with the scale block
(:func:`weakness_lib.core.config.merged_config`) and checks the result against the settings class
that the study module declares as ``SETTINGS`` (a :class:`~weakness_lib.core.settings.StudySettings`
dataclass): a wrong type, a missing or an unknown key is one line naming the file and the key.
The object carries the exact merged mapping (``.config``: what the results store hashes, so a
table's identity is what it always was) and the registration's claim blocks (``.rule(claim)``:
paper targets and verdict thresholds), so a verdict reads its thresholds from the same object
whose config named the table it judges.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from weakness_lib.core.config import (
    config_path,
    load_registration,
    merged_config,
    shown_path,
)
from weakness_lib.core.paths import check_scale
from weakness_lib.core.settings import StudySettings, build

__all__ = ["load", "of", "settings_class", "typed"]

_CACHE: dict[tuple, StudySettings] = {}
_TYPED: dict[tuple, StudySettings] = {}


def settings_class(name: str) -> type[StudySettings]:
    """The settings dataclass that study ``name``'s module declares as ``SETTINGS``."""
    from weakness_lib.engine import registry

    return registry.get(name).load().SETTINGS


def _stamp(name: str) -> tuple:
    """The registration file's identity now (path, size, mtime): a new file means a new object."""
    path = config_path(name)
    try:
        st = path.stat()
    except OSError:
        return (str(path),)
    return (str(path), st.st_size, st.st_mtime_ns)


def load(name: str, scale: str, overrides: Mapping[str, Any] | None = None) -> StudySettings:
    """The validated settings of study ``name`` at ``scale`` (``overrides`` replace known keys).

    Without overrides the object is built once per registration file and reused.
    """
    key = (name, check_scale(scale), _stamp(name))
    if not overrides and key in _CACHE:
        return _CACHE[key]
    registration = load_registration(name)
    config = merged_config(name, scale, registration, overrides)
    obj = build(settings_class(name), config, where=shown_path(name),
                claims=registration.get("claims") or {})
    if not overrides:
        _CACHE[key] = obj
    return obj


def of(name: str, config: Mapping[str, Any], *, where: str | None = None) -> StudySettings:
    """The typed settings of a config that is not read from a file (e.g. a stored table's, named
    ``where`` in errors), with the claim blocks of the study's registration."""
    registered = load(name, str(config.get("scale") or "full"))
    return build(settings_class(name), config, where=where or f"config of {name}",
                 claims=registered.claims)


def typed(config: StudySettings | Mapping[str, Any]) -> StudySettings:
    """``config`` as its study's typed settings: a settings object as it is; a mapping (a stored
    table's config, or one a test wrote) checked by :func:`of` against the study it names
    (``experiment``), once per distinct mapping. Every entry point of a study passes its
    argument through this, so the study's code reads typed fields only."""
    if isinstance(config, StudySettings):
        return config
    from weakness_lib.core.store import config_hash

    name = str(config.get("experiment") or "")
    if not name:
        raise ValueError("a study's config must name its study (key 'experiment')")
    key = (name, config_hash(dict(config)), _stamp(name))
    if key not in _TYPED:
        _TYPED[key] = of(name, config)
    return _TYPED[key]
