"""Run per-photo work on every core, a bounded number of tasks in flight.

A photo that kills its worker process (a crash in a native decoder, the OOM killer) breaks the
whole pool; the photos that were in flight are then run again one by one, each in a pool of its
own, so the one to blame is reported through on_error and every other photo still gets done.

Workers never outlive the process that started them: on Linux each asks the kernel for SIGKILL
when its parent dies (PR_SET_PDEATHSIG, which holds for a SIGKILL of the parent too), and
everywhere a thread in each worker watches a pipe whose write end only the parent holds, exiting
when it reads end-of-file. Workers ignore SIGINT (Ctrl-C reaches the whole process group): the
parent decides, and a pool left by an exception has its workers killed, not waited for.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
OnError = Callable[[T, BaseException], R]


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_all(
    fn: Callable[[T], R],
    items: Iterable[T],
    jobs: int = 0,
    on_error: OnError | None = None,
    executor: str | None = None,
) -> Iterator[tuple[T, R]]:
    """Yield (item, fn(item)) as each finishes: on a Dask cluster when executor is
    `dask://HOST:PORT`, else on a local process pool (in this process when jobs == 1).

    At most 2 × jobs tasks are queued, so results (encoded images) never pile up in memory. An
    exception or a dead worker becomes on_error(item, error) when given; otherwise it is raised.
    """
    jobs = jobs or default_jobs()
    if jobs == 1 and not executor:
        for item in items:
            yield item, _call(fn, item, on_error)
        return
    todo = iter(items)
    while True:
        suspects: list[T] = []
        yield from _pooled(fn, todo, jobs, on_error, suspects, executor)
        if not suspects:
            return
        for item in suspects:  # alone, so a second crash names the culprit
            crashed: list[T] = []
            yield from _pooled(fn, iter([item]), 1, on_error, crashed)
            if crashed:
                err = BrokenProcessPool("the worker process died on this file")
                yield item, _failed(item, err, on_error)


def _call(fn: Callable[[T], R], item: T, on_error: OnError | None) -> R:
    try:
        return fn(item)
    except Exception as err:
        return _failed(item, err, on_error)


def _failed(item: T, err: BaseException, on_error: OnError | None) -> R:
    if on_error is None:
        raise err
    return on_error(item, err)


def _pooled(
    fn: Callable[[T], R],
    todo: Iterator[T],
    jobs: int,
    on_error: OnError | None,
    suspects: list[T],
    executor: str | None = None,
) -> Iterator[tuple[T, R]]:
    """Run items from todo until it is empty or the pool breaks (then suspects are filled)."""
    pending: dict[Future, T] = {}
    with _pool(jobs, executor) as (pool, capacity):
        for item in todo:
            try:
                pending[pool.submit(fn, item)] = item
            except BrokenProcessPool:  # a worker died before any of its futures was seen
                suspects.append(item)
                break
            if len(pending) >= 2 * capacity:
                yield from _drain(pending, len(pending) - 1, on_error, suspects)
            if suspects:
                break
        yield from _drain(pending, 0, on_error, suspects)


@contextmanager
def _pool(jobs: int, executor: str | None) -> Iterator[tuple[Executor, int]]:
    """A local process pool, or a Dask cluster's executor (Dask reschedules a dead worker's
    tasks itself; one that keeps killing workers comes back as an error)."""
    if not executor:
        with _local_pool(jobs) as pool:
            yield pool, jobs
        return
    if not executor.startswith("dask://"):
        raise ValueError(f"--executor {executor}: expected dask://HOST:PORT")
    from distributed import Client  # optional: only for runs beyond one machine

    with Client(f"tcp://{executor.removeprefix('dask://')}", set_as_default=False) as client:
        capacity = max(1, sum(client.nthreads().values()))
        with client.get_executor(pure=False) as pool:
            yield pool, capacity


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


@contextmanager
def _local_pool(jobs: int) -> Iterator[ProcessPoolExecutor]:
    """A process pool whose workers die with this process; on an exception (Ctrl-C, SIGTERM, an
    error) they are killed at once instead of finishing their queue."""
    watch_read, watch_write = os.pipe()
    pool = ProcessPoolExecutor(
        max_workers=jobs, initializer=_worker_start, initargs=(os.getpid(), watch_read, watch_write)
    )
    try:
        yield pool
    except BaseException:
        _kill_workers(pool)
        raise
    else:
        pool.shutdown(wait=True)
    finally:
        os.close(watch_write)
        os.close(watch_read)


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        process.kill()
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.join(timeout=2)


def _worker_start(parent: int, watch_fd: int, parent_end: int) -> None:
    """Pool initializer: die with the parent, however it dies."""
    os.close(parent_end)  # the copy fork gave us: only the parent may hold the pipe open
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler, inherited by fork
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the pipe below still works
    if os.getppid() != parent:  # the parent died before the death signal was armed
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(watch_fd,), daemon=True).start()


def _watch_parent(watch_fd: int) -> None:
    """Exit when the parent's end of the pipe closes: read() returns b"" only then."""
    try:
        while os.read(watch_fd, 1):
            pass
    except OSError:
        pass
    os._exit(1)


def _drain(
    pending: dict[Future, T], until: int, on_error: OnError | None, suspects: list[T]
) -> Iterator[tuple[T, R]]:
    while len(pending) > until:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            item = pending.pop(future)
            err = future.exception()
            if isinstance(err, BrokenProcessPool):
                suspects.append(item)
            elif err is not None:
                yield item, _failed(item, err, on_error)
            else:
                yield item, future.result()
