"""Argument checks of the library's public functions: one clear line naming the argument.

A wrong argument raises :class:`ArgumentError`, which is both a ``TypeError`` and a
``ValueError`` (callers may catch either; the CLI reports it in one line). Numpy scalars are
numbers like any other: :func:`whole` and :func:`real` return them as Python ``int``/``float``
(builtin values come back unchanged, so a setting stored as ``1`` is never rewritten as ``1.0``).
"""

from __future__ import annotations

import math
import numbers
from typing import Any


class ArgumentError(TypeError, ValueError):
    """A library function got an argument of the wrong type or value; the message names it."""


def _name(name: str, where: str) -> str:
    return f"{where}: {name}" if where else name


def whole(name: str, value: Any, minimum: int | None = None, *, where: str = "",
          optional: bool = False) -> int | None:
    """``value`` as an ``int`` if it is a whole number (not a bool) ≥ ``minimum``."""
    if value is None and optional:
        return None
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
            or (minimum is not None and value < minimum)):
        bound = f" ≥ {minimum}" if minimum is not None else ""
        raise ArgumentError(f"{_name(name, where)} must be a whole number{bound}, got {value!r}")
    return value if type(value) is int else int(value)


def real(name: str, value: Any, *, positive: bool = False, where: str = "",
         optional: bool = False) -> float | None:
    """``value`` as a ``float`` if it is a finite real number (not a bool), > 0 if ``positive``."""
    if value is None and optional:
        return None
    if (isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value)
            or (positive and value <= 0)):
        what = "a positive finite number" if positive else "a finite number"
        raise ArgumentError(f"{_name(name, where)} must be {what}, got {value!r}")
    return value if type(value) in (int, float) else float(value)
