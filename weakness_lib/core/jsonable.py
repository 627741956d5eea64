"""Plain JSON values from numpy/torch scalars, tuples and paths: the one conversion that every
hash (:mod:`weakness_lib.core.config`) and every stored file (:mod:`weakness_lib.core.store`,
:mod:`weakness_lib.core.claims`) goes through. A module of its own so that config and store do
not import each other."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def jsonable(obj: Any) -> Any:
    """Convert numpy/torch scalars, tuples and paths into plain JSON values (NaN → None)."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 0) == 0:
        obj = obj.item()
    if hasattr(obj, "tolist") and callable(obj.tolist):
        return jsonable(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
