"""Typed study settings: one validated, frozen object per study and scale, built once from its YAML.

A study declares its settings as a frozen dataclass (a subclass of :class:`StudySettings`) whose
fields are the keys of its config, with their types and — in that one place — their defaults
(a field without a default is required). :func:`build` checks a merged config against it:

* a value of the wrong type (``n_train: "600"``), a missing required key or a key the study does
  not declare raises :class:`~weakness_lib.core.config.ConfigError` with one line naming the file
  and the key (``configs/x.yaml: n_train must be an integer, got '600' (scale smoke)``);
* numpy scalars are numbers like any other (they become Python ``int``/``float`` in the object;
  builtin values are kept as they are, so ``lr: 1`` stays the integer 1 that the code always saw);
* free-text keys (:data:`~weakness_lib.core.config.FREE_TEXT_KEYS` and the file's ``free_text``
  list) are not declared and not checked.

The object keeps the exact mapping it was built from as :attr:`StudySettings.config`: that mapping,
not the typed fields, is what the results store hashes and stores, so typing a study's settings can
never change a table's identity. Supported field types: ``bool``, ``int``, ``float``, ``str``,
``Any``, ``X | None``, unions of those, ``list[X]``, ``dict[str, X]`` and nested dataclasses.
"""

from __future__ import annotations

import copy
import dataclasses
import numbers
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from weakness_lib.core.config import FREE_TEXT_KEYS, ConfigError

T = TypeVar("T")

_WANT = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
         list: "a list", dict: "a mapping"}


class _Problem(Exception):
    """One problem of a config, as the text after the file name (raised inside :func:`build`)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class StudySettings:
    """Base of every study's settings: the bookkeeping keys that every merged config holds.

    ``config`` (the exact mapping it was built from, the input of the settings hash) and
    ``claims`` (the registration's claim blocks: paper targets and verdict thresholds) are set by
    :func:`build`; they are not settings of their own."""

    experiment: str
    scale: str
    free_text: list[str] = dataclasses.field(default_factory=list)

    @property
    def config(self) -> dict[str, Any]:
        """A copy of the mapping these settings were built from (what the results store hashes)."""
        return copy.deepcopy(self.__dict__["_config"])

    @property
    def claims(self) -> dict[str, Any]:
        """The registration's ``claims`` blocks (targets and thresholds), empty if not given."""
        return self.__dict__.get("_claims", {})

    def replace(self, **changes: Any) -> StudySettings:
        """A copy with ``changes`` applied to its config, checked like the original (a test's or a
        reader's variant of registered settings; ``dataclasses.replace`` would lose ``config``)."""
        return build(type(self), {**self.__dict__["_config"], **changes},
                     where=f"{self.experiment} settings with {', '.join(changes)} replaced",
                     claims=self.claims)

    def rule(self, claim_id: str) -> dict[str, Any]:
        """The registration block of ``claim_id`` (prose, ``target`` and ``thresholds``)."""
        if claim_id not in self.claims:
            raise KeyError(f"configs/{self.experiment}.yaml registers no claim {claim_id}")
        return self.claims[claim_id]


def _name(tp: Any) -> str:
    """How a wanted type reads in a message ("an integer or a string")."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return " or ".join(_name(a) for a in typing.get_args(tp) if a is not type(None))
    base = typing.get_origin(tp) or tp
    return _WANT.get(base, "a mapping" if dataclasses.is_dataclass(base) else str(tp))


def _value(tp: Any, value: Any, key: str) -> Any:
    """``value`` checked against ``tp`` (numpy scalars become builtins); :class:`_Problem` if not."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in (a for a in args if a is not type(None)):
            try:
                return _value(arg, value, key)
            except _Problem:
                continue
    elif tp is bool and (isinstance(value, bool) or type(value).__name__ == "bool_"):
        return bool(value)  # numpy's bool_ too
    elif tp is int and isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return value if type(value) is int else int(value)
    elif tp is float and isinstance(value, numbers.Real) and not isinstance(value, bool):
        return value if type(value) in (int, float) else float(value)
    elif tp is str and isinstance(value, str):
        return value
    elif origin is list and isinstance(value, list | tuple):
        return [_value(args[0], v, f"{key}[{i}]") for i, v in enumerate(value)]
    elif origin is dict and isinstance(value, Mapping):
        return {k: _value(args[1], v, f"{key}.{k}") for k, v in value.items()}
    elif dataclasses.is_dataclass(tp) and isinstance(value, Mapping):
        return _fields(tp, value, f"{key}.", frozenset())
    raise _Problem(f"{key} must be {_name(tp)}, got {value!r}")


def _fields(cls: type[T], mapping: Mapping[str, Any], prefix: str, skip: frozenset[str]) -> T:
    """An instance of dataclass ``cls`` from ``mapping`` (keys in ``skip`` are left out)."""
    hints = typing.get_type_hints(cls)
    declared = {f.name: f for f in dataclasses.fields(cls) if f.init}
    values: dict[str, Any] = {}
    for name, f in declared.items():
        if name in mapping:
            values[name] = _value(hints[name], mapping[name], prefix + name)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise _Problem(f"missing key {prefix}{name}")
    unknown = [k for k in mapping if k not in declared and k not in skip]
    if unknown:
        raise _Problem(f"unknown key {prefix}{unknown[0]}")
    return cls(**values)


def build(cls: type[T], config: Mapping[str, Any], *, where: str,
          claims: Mapping[str, Any] | None = None) -> T:
    """The settings ``cls`` of ``config`` (a merged config: common, scale, bookkeeping keys).

    ``where`` names the source in errors (the config file, or a stored table); errors end with
    the config's scale. ``claims`` are the registration's claim blocks (see :class:`StudySettings`).
    """
    skip = frozenset(FREE_TEXT_KEYS | set(config.get("free_text") or ())) - {"free_text"}
    try:
        obj = _fields(cls, config, "", skip)
    except _Problem as exc:
        scale = config.get("scale")
        raise ConfigError(f"{where}: {exc}" + (f" (scale {scale})" if scale else "")) from None
    object.__setattr__(obj, "_config", dict(config))
    object.__setattr__(obj, "_claims", dict(claims or {}))
    return obj


def pick(cls: type[T], config: Mapping[str, Any], *, where: str = "config") -> T:
    """The part ``cls`` (a dataclass of some of a study's fields) of ``config``: other keys are
    ignored, declared ones checked, defaults applied. For helpers shared by several studies."""
    declared = {f.name for f in dataclasses.fields(cls)}
    try:
        return _fields(cls, {k: v for k, v in config.items() if k in declared}, "", frozenset())
    except _Problem as exc:
        raise ConfigError(f"{where}: {exc}") from None
