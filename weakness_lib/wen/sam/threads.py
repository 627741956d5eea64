"""Single-threaded numpy BLAS and torch for the latency-bound two-layer training steps.

On a shared 2-core machine multi-threaded BLAS on these small matrices is 10–30× slower under
contention (measured: 1.2 ms vs 34 ms per full-batch step); one thread is also what makes the
per-unit wall times comparable. numpy's bundled OpenBLAS (scipy-openblas) is found through its
``scipy_openblas_{get,set}_num_threads`` entry points.
"""

from __future__ import annotations

import contextlib
import ctypes
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

__all__ = ["single_threaded"]


def _numpy_openblas() -> tuple[Callable[[], int], Callable[[int], None]] | None:
    """get/set of the OpenBLAS thread count bundled with numpy (scipy-openblas), if found."""
    libs = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    for lib in sorted(libs.glob("libscipy_openblas*.so*")):
        try:
            handle = ctypes.CDLL(str(lib))
        except OSError:
            continue
        for suffix in ("64_", "", "_64_"):
            get = getattr(handle, f"scipy_openblas_get_num_threads{suffix}", None)
            put = getattr(handle, f"scipy_openblas_set_num_threads{suffix}", None)
            if get is not None and put is not None:
                get.restype = ctypes.c_int
                put.argtypes = [ctypes.c_int]
                return get, put
    return None


_BLAS = _numpy_openblas()


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """Run numpy BLAS and torch on one thread inside the block, restoring both afterwards.

    On a shared 2-core machine multi-threaded BLAS on these small matrices is 10–30× slower
    under contention (measured: 1.2 ms vs 34 ms per full-batch step); one thread is also
    what makes the per-unit wall times comparable.
    """
    torch_threads = torch.get_num_threads()
    blas_threads = _BLAS[0]() if _BLAS is not None else None
    if _BLAS is None:
        warnings.warn(
            "could not find numpy's OpenBLAS to limit its threads; full-batch steps may be slow "
            "on a busy machine (set OPENBLAS_NUM_THREADS=1 before starting Python)",
            RuntimeWarning,
            stacklevel=3,
        )
    torch.set_num_threads(1)
    if _BLAS is not None:
        _BLAS[1](1)
    try:
        yield
    finally:
        torch.set_num_threads(torch_threads)
        if _BLAS is not None and blas_threads is not None:
            _BLAS[1](blas_threads)
