"""Where units run: inline in the driver, on an embedded Dask ``LocalCluster``, or on an existing
Dask cluster — and only there; the driver (:mod:`weakness_lib.studies.runner`) stores the rows.

A unit is :func:`execute_unit` (module name, config, key, device) → ``(key, row, wall s)``; it
imports the study module on the worker and never touches the results store.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")


def resolve_device(device: str) -> str:
    """``auto`` → ``cuda`` when a GPU is visible, else ``cpu``; ``cuda`` without a GPU is an error."""
    import torch

    if device not in DEVICES:
        raise ValueError(f"unknown device {device}; expected one of {', '.join(DEVICES)}")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda requested but torch sees no GPU; use --device cpu")
    return device


def execute_unit(module: str, cfg: dict[str, Any], key: str, device: str) -> tuple[str, dict, float]:
    """Run one unit (on a worker): ``(key, row, wall seconds)``. Never touches the store.

    A study lists the devices its units can use in ``DEVICES`` (default: CPU only); on any other
    requested device its units run on the CPU. Rows computed elsewhere than the CPU record
    ``_device`` (bookkeeping, not compared by ``verify``)."""
    from weakness_lib.core import numerics  # importing weakness_lib pins this worker's dispatch

    numerics.require_pinned(f"a unit of {cfg.get('experiment', module)} on this worker")
    mod = importlib.import_module(module)
    if device not in getattr(mod, "DEVICES", ("cpu",)):
        device = "cpu"
    start = time.perf_counter()
    row = dict(mod.compute_unit(cfg, key, device=device))
    if device != "cpu":
        row["_device"] = device
    return key, row, time.perf_counter() - start


class Executor:
    """Runs units inline (one worker, in submission order) or on a Dask cluster started on first
    use; :meth:`completed` yields ``(tag, outcome)`` as units finish, where ``outcome`` is the
    result of :func:`execute_unit` or the exception it raised."""

    def __init__(self, workers: int | None = None, scheduler: str | None = None):
        self.scheduler = scheduler or os.environ.get("WEAKNESS_SCHEDULER") or None
        self.workers = workers if workers is not None else (os.cpu_count() or 1)
        if self.workers < 1:
            raise ValueError(f"--workers must be at least 1, got {self.workers}")
        self._client = None
        self._cluster = None
        self._queue: deque[tuple[Any, tuple]] = deque()  # inline: (tag, arguments)
        self._futures: dict[str, tuple[Any, Any]] = {}  # dask: future key -> (future, tag)
        self._ac = None

    @property
    def inline(self) -> bool:
        return self.scheduler is None and self.workers == 1

    def client(self):
        if self._client is None:
            from dask.distributed import Client, LocalCluster

            from weakness_lib.core import numerics

            if self.scheduler:
                self._client = Client(self.scheduler, timeout="30s")
            else:
                import dask

                # Workers run long numerical units: no statistical profiler sampling the GIL every
                # 10 ms, no aggressive malloc trimming, one BLAS thread each (units set torch's).
                with dask.config.set({"distributed.worker.profile.enabled": False,
                                      "distributed.nanny.pre-spawn-environ": {}}):
                    self._cluster = LocalCluster(
                        n_workers=self.workers, threads_per_worker=1, processes=True,
                        dashboard_address=":0", silence_logs=40,
                        env={"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                             "OPENBLAS_NUM_THREADS": "1", **numerics.worker_env()},
                    )
                self._client = Client(self._cluster)
        return self._client

    def submit(self, tag: Any, module: str, cfg: dict[str, Any], key: str, device: str) -> None:
        """Queue one unit; ``tag`` comes back with its outcome."""
        if self.inline:
            self._queue.append((tag, (module, cfg, key, device)))
            return
        from dask.distributed import as_completed

        fut = self.client().submit(execute_unit, module, cfg, key, device, pure=False,
                                   key=f"{cfg['experiment']}-{key}-{time.time_ns()}")
        self._futures[fut.key] = (fut, tag)
        if self._ac is None:
            self._ac = as_completed([fut])
        else:
            self._ac.add(fut)

    def completed(self) -> Iterator[tuple[Any, Any]]:
        """Finished units (any order), until none is queued; submitting while iterating is fine."""
        if self.inline:
            while self._queue:
                tag, args = self._queue.popleft()
                try:
                    yield tag, execute_unit(*args)
                except Exception as exc:  # reported by the caller with the unit's name
                    yield tag, exc
            return
        while self._ac is not None and not self._ac.is_empty():
            fut = next(self._ac)
            _, tag = self._futures.pop(fut.key)
            try:
                yield tag, fut.result()
            except (Exception, asyncio.CancelledError) as exc:  # a cancelled future is a failure too
                yield tag, exc

    def cancel(self) -> None:
        """Drop every queued or running unit."""
        self._queue.clear()
        if self._client is not None and self._futures:
            with contextlib.suppress(Exception):
                self._client.cancel([f for f, _ in self._futures.values()], force=True)
        self._futures.clear()
        self._ac = None

    def close(self) -> None:
        """Cancel what is left and shut the client and the embedded cluster down (each on its own:
        a failing client close must not leave the cluster's worker processes running)."""
        try:
            self.cancel()
        finally:
            try:
                if self._client is not None:
                    with contextlib.suppress(Exception):
                        self._client.close()
            finally:
                if self._cluster is not None:
                    with contextlib.suppress(Exception):
                        self._cluster.close()
