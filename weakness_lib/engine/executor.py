"""Where units run: inline in the driver, on an embedded Dask ``LocalCluster``, or on an existing
Dask cluster — and only there; the driver (:mod:`weakness_lib.engine.runner`) stores the rows.

A unit is :func:`execute_unit` (module name, config, key, device) → ``(key, row, wall s)``; it
imports the study module on the worker and never touches the results store.

Failures are one line, from the driver: a unit that raises is reported by the runner
(:class:`~weakness_lib.engine.runner.UnitFailed`), so the workers of the embedded cluster do not
also log it (:func:`dask_setup`), and shutting the cluster down is silent. An existing scheduler
(``--scheduler``/``$WEAKNESS_SCHEDULER``) that does not answer within
``$WEAKNESS_SCHEDULER_TIMEOUT`` seconds (default 10) fails fast, naming the address; the embedded
cluster gets ``$WEAKNESS_CLUSTER_TIMEOUT`` seconds (default 120) to start and connect on a slow or
loaded machine, and a start-up failure says so (and suggests ``--workers 1``).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import time
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from weakness_lib.core.settings import StudySettings

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
#: seconds to wait for an existing scheduler (``--scheduler``) to answer, and the variable overriding it
SCHEDULER_TIMEOUT, SCHEDULER_TIMEOUT_ENV = 10.0, "WEAKNESS_SCHEDULER_TIMEOUT"
#: seconds the embedded cluster may take to start its workers and connect, and its variable
CLUSTER_TIMEOUT, CLUSTER_TIMEOUT_ENV = 120.0, "WEAKNESS_CLUSTER_TIMEOUT"
#: loggers whose messages while the cluster shuts down are noise (closed connections, heartbeats)
SHUTDOWN_LOGGERS: tuple[str, ...] = ("distributed", "tornado", "asyncio")


class ClusterError(RuntimeError):
    """The Dask cluster could not be started or reached (the message says which and what to do)."""


def _seconds(variable: str, default: float) -> float:
    text = os.environ.get(variable)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise ValueError(f"{variable} must be a positive number of seconds, got {text!r}")
    return value


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _loggers(prefixes: tuple[str, ...] = SHUTDOWN_LOGGERS) -> list[logging.Logger]:
    """The existing loggers named ``prefix`` or ``prefix.*`` (a filter on a logger sees only the
    records created there, so each one gets it)."""
    return [logging.getLogger(name) for name in [*prefixes, *list(logging.Logger.manager.loggerDict)]
            if name.split(".", 1)[0] in prefixes]


class _DropNoise(logging.Filter):
    """On a worker of the embedded cluster: drops the log of a failed task (the driver reports it
    in one line) and what the worker logs while it is shutting down (closed connections)."""

    def __init__(self, worker: Any = None):
        super().__init__()
        self.worker = worker

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Compute Failed"):
            return False
        status = getattr(getattr(self.worker, "status", None), "name", "")
        return status not in ("closing", "closed", "closing_gracefully")


def dask_setup(worker: Any) -> None:
    """Worker preload of the embedded cluster (``LocalCluster(preload=[this module])``): quiet the
    worker's logs of failed tasks and of its own shutdown (:class:`_DropNoise`)."""
    for logger in _loggers():
        if not any(isinstance(f, _DropNoise) for f in logger.filters):
            logger.addFilter(_DropNoise(worker))


class _DropAll(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the Dask, tornado and asyncio loggers of this process for the duration (used while
    the cluster shuts down: closed connections and late heartbeats are not errors then)."""
    drop, loggers = _DropAll(), _loggers()
    for logger in loggers:
        logger.addFilter(drop)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(drop)


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


def execute_unit(module: str, cfg: StudySettings, key: str, device: str) -> tuple[str, dict, float]:
    """Run one unit (on a worker): ``(key, row, wall seconds)``. Never touches the store.

    A study lists the devices its units can use in ``DEVICES`` (default: CPU only); on any other
    requested device its units run on the CPU. Rows computed elsewhere than the CPU record
    ``_device`` (bookkeeping, not compared by ``verify``)."""
    from weakness_lib.core import numerics  # importing weakness_lib pins this worker's dispatch

    numerics.require_pinned(f"a unit of {cfg.experiment} on this worker")
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
            if self.scheduler:
                self._client = self._connect(self.scheduler)
            else:
                self._client = self._start_cluster()
        return self._client

    def _connect(self, address: str):
        """A client of the existing scheduler at ``address``, or one line saying it is not there."""
        from dask.distributed import Client

        timeout = _seconds(SCHEDULER_TIMEOUT_ENV, SCHEDULER_TIMEOUT)
        try:
            return Client(address, timeout=f"{timeout}s")
        except Exception as exc:
            raise ClusterError(
                f"--scheduler/WEAKNESS_SCHEDULER {address}: no Dask scheduler answered within "
                f"{timeout:g} s ({_one_line(exc)}); start one there (`dask scheduler`), fix the "
                f"address, or leave --scheduler out to use a local cluster "
                f"({SCHEDULER_TIMEOUT_ENV} sets the wait)") from None

    def _start_cluster(self):
        """Start the embedded ``LocalCluster`` and its client, patiently (a loaded machine may take
        tens of seconds to spawn workers); a failure is one line suggesting ``--workers 1``."""
        import dask
        from dask.distributed import Client, LocalCluster

        from weakness_lib.core import numerics

        timeout = _seconds(CLUSTER_TIMEOUT_ENV, CLUSTER_TIMEOUT)
        # Workers run long numerical units, one per core: no statistical profiler sampling the
        # GIL every 10 ms, no aggressive malloc trimming, one BLAS thread each (units set torch's),
        # and the periodic bookkeeping of the scheduler, nannies and workers (event-loop tick
        # every 20 ms, system and memory monitors, work stealing) slowed to what a run of
        # seconds-long units needs: it took the GIL and the cores from the units.
        settings = {"distributed.worker.profile.enabled": False,
                    "distributed.admin.tick.interval": "1s",
                    "distributed.admin.system-monitor.interval": "5s",
                    "distributed.worker.memory.monitor-interval": "2s",
                    "distributed.scheduler.work-stealing": False,
                    "distributed.nanny.pre-spawn-environ": {},
                    "distributed.comm.timeouts.connect": f"{timeout}s",
                    "distributed.comm.timeouts.tcp": f"{max(timeout, 30.0)}s"}
        try:
            with dask.config.set(settings):
                self._cluster = LocalCluster(
                    n_workers=self.workers, threads_per_worker=1, processes=True,
                    dashboard_address=":0", silence_logs=40, preload=[__name__],
                    env={"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                         "OPENBLAS_NUM_THREADS": "1", **numerics.worker_env()},
                )
                return Client(self._cluster, timeout=f"{timeout}s")
        except Exception as exc:
            self.close()
            raise ClusterError(
                f"cluster start-up failed: {self.workers} local Dask workers ({_one_line(exc)}); "
                f"try --workers 1 (units run in this process), or give a slow machine more than "
                f"{timeout:g} s with {CLUSTER_TIMEOUT_ENV}") from None

    def submit(self, tag: Any, module: str, cfg: StudySettings, key: str, device: str) -> None:
        """Queue one unit; ``tag`` comes back with its outcome."""
        if self.inline:
            self._queue.append((tag, (module, cfg, key, device)))
            return
        from dask.distributed import as_completed

        fut = self.client().submit(execute_unit, module, cfg, key, device, pure=False,
                                   key=f"{cfg.experiment}-{key}-{time.time_ns()}")
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
        """Cancel what is left and shut the client, then the embedded cluster, down — each on its
        own (a failing client close must not leave the cluster's worker processes running), with
        the connection errors and heartbeats that shutting down logs silenced."""
        try:
            self.cancel()
        finally:
            with _quiet():
                try:
                    if self._client is not None:
                        with contextlib.suppress(Exception):
                            self._client.close()
                finally:
                    self._client = None
                    if self._cluster is not None:
                        with contextlib.suppress(Exception):
                            self._cluster.close()
                        self._cluster = None
