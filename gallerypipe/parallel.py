"""Run per-photo work on every core, a bounded number of tasks in flight."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_all(fn: Callable[[T], R], items: Iterable[T], jobs: int = 0) -> Iterator[tuple[T, R]]:
    """Yield (item, fn(item)) as each finishes; in this process when jobs == 1.

    At most 2 × jobs tasks are queued, so results (encoded images) never pile up in memory.
    """
    jobs = jobs or default_jobs()
    if jobs == 1:
        for item in items:
            yield item, fn(item)
        return
    pending: dict[Future, T] = {}
    todo = iter(items)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for item in todo:
            pending[pool.submit(fn, item)] = item
            if len(pending) >= 2 * jobs:
                yield from _drain(pending, until=len(pending) - 1)
        yield from _drain(pending, until=0)


def _drain(pending: dict[Future, T], until: int) -> Iterator[tuple[T, R]]:
    while len(pending) > until:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            yield pending.pop(future), future.result()
