"""Run per-photo work on every core, a bounded number of tasks in flight."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_all(
    fn: Callable[[T], R], items: Iterable[T], jobs: int = 0, executor: str | None = None
) -> Iterator[tuple[T, R]]:
    """Yield (item, fn(item)) as each finishes: on a Dask cluster when executor is
    `dask://HOST:PORT`, else on a local process pool (in this process when jobs == 1).

    At most 2 × workers tasks are queued, so results (encoded images) never pile up in memory.
    """
    jobs = jobs or default_jobs()
    if jobs == 1 and not executor:
        for item in items:
            yield item, fn(item)
        return
    with _pool(jobs, executor) as (pool, capacity):
        pending: dict[Future, T] = {}
        for item in items:
            pending[pool.submit(fn, item)] = item
            if len(pending) >= 2 * capacity:
                yield from _drain(pending, until=len(pending) - 1)
        yield from _drain(pending, until=0)


@contextmanager
def _pool(jobs: int, executor: str | None) -> Iterator[tuple[Executor, int]]:
    if not executor:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            yield pool, jobs
        return
    if not executor.startswith("dask://"):
        raise ValueError(f"--executor {executor}: expected dask://HOST:PORT")
    from distributed import Client  # optional: only for runs beyond one machine

    with Client(f"tcp://{executor.removeprefix('dask://')}", set_as_default=False) as client:
        capacity = max(1, sum(client.nthreads().values()))
        with client.get_executor(pure=False) as pool:
            yield pool, capacity


def _drain(pending: dict[Future, T], until: int) -> Iterator[tuple[T, R]]:
    while len(pending) > until:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            yield pending.pop(future), future.result()
