"""Where chunks run: in this process, in local worker processes, or on a Dask cluster.

Every executor yields ``(task, result)`` as chunks finish, in completion order, with at most a
few chunks per worker in flight, so memory stays bounded however many replicates are asked for.
Results do not depend on the executor: each replicate carries its own seed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal

import pandas as pd

from alstrial.design.power.scenarios import PowerError

ExecutorName = Literal["inprocess", "processes", "dask"]
EXECUTORS: tuple[str, ...] = ("inprocess", "processes", "dask")
#: chunks in flight per worker: enough to keep workers busy while results are written
IN_FLIGHT_PER_WORKER = 2
#: a local cluster without a dashboard and with its scheduler's HTTP endpoint on a free port: the
#: scheduler serves HTTP even without a dashboard, on 8787 by default, so a second local cluster
#: (another power study, a test run beside it, a user's own Dask) would fail to start
QUIET_CLUSTER: dict[str, Any] = {"dashboard_address": None, "scheduler_kwargs": {"dashboard_address": ":0"}}

Task = tuple[Any, ...]
Work = Callable[..., pd.DataFrame]


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def run_tasks(
    work: Work,
    tasks: Iterable[Task],
    *,
    executor: str = "processes",
    workers: int | None = None,
    scheduler: str | None = None,
) -> Iterator[tuple[Task, pd.DataFrame]]:
    """Run ``work(*task)`` for every task and yield each task with its result as it completes."""
    if executor not in EXECUTORS:
        raise PowerError(f"unknown executor {executor!r}: expected one of {', '.join(EXECUTORS)}")
    if scheduler is not None and executor != "dask":
        raise PowerError(f"--scheduler needs --executor dask (not {executor!r})")
    if workers is not None and workers < 1:
        raise PowerError(f"invalid value {workers!r} for workers: expected a positive integer")
    n = workers or default_workers()
    if executor == "inprocess":
        for task in tasks:
            yield task, work(*task)
    elif executor == "processes":
        yield from _processes(work, tasks, n)
    else:
        yield from _dask(work, tasks, n, scheduler)


def _processes(work: Work, tasks: Iterable[Task], workers: int) -> Iterator[tuple[Task, pd.DataFrame]]:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

    # spawn, not fork: the parent runs a progress-bar thread, and forking a threaded process can deadlock
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        pending: dict[Future[pd.DataFrame], Task] = {}
        todo = iter(tasks)
        try:
            while True:
                while len(pending) < workers * IN_FLIGHT_PER_WORKER:
                    task = next(todo, None)
                    if task is None:
                        break
                    pending[pool.submit(work, *task)] = task
                if not pending:
                    return
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield pending.pop(fut), fut.result()
        finally:
            for fut in pending:
                fut.cancel()


def _dask(
    work: Work, tasks: Iterable[Task], workers: int, scheduler: str | None
) -> Iterator[tuple[Task, pd.DataFrame]]:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - distributed is a dependency
        raise PowerError("--executor dask needs the 'distributed' package") from exc

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, **QUIET_CLUSTER)
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise PowerError(f"cannot reach the Dask scheduler at {scheduler!r}: {exc}") from None
    try:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})) or workers)
        todo = iter(tasks)
        index: dict[Any, Task] = {}

        def submit() -> Any:
            task = next(todo, None)
            if task is None:
                return None
            fut = client.submit(work, *task, pure=False)
            index[fut.key] = task
            return fut

        first = [f for f in (submit() for _ in range(n_workers * IN_FLIGHT_PER_WORKER)) if f is not None]
        stream = as_completed(first)
        for fut in stream:
            result = fut.result()
            task = index.pop(fut.key)
            fut.release()
            nxt = submit()
            if nxt is not None:
                stream.add(nxt)
            yield task, result
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
