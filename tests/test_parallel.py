"""The process pool: results as they finish, and one item that kills its worker stops nothing."""

from __future__ import annotations

import os

from gallerypipe.parallel import run_all


def square_or_die(n: int) -> int:
    if n == 13:
        os._exit(3)  # as a segfault in a native decoder would: no exception, the process is gone
    if n == 7:
        raise ValueError("seven is unreadable")
    return n * n


def failed(n: int, err: BaseException) -> str:
    return f"{n}: {type(err).__name__}: {err}"


def test_every_item_comes_back_once():
    results = dict(run_all(square_or_die, [1, 2, 3, 4, 5, 6, 8, 9, 10], jobs=2))
    assert results == {n: n * n for n in [1, 2, 3, 4, 5, 6, 8, 9, 10]}


def test_an_exception_is_that_items_error():
    results = dict(run_all(square_or_die, range(1, 11), jobs=2, on_error=failed))
    assert results[7] == "7: ValueError: seven is unreadable"
    assert {n: r for n, r in results.items() if n != 7} == {
        n: n * n for n in range(1, 11) if n != 7
    }


def test_a_worker_crash_names_its_item_and_the_rest_are_done():
    items = list(range(1, 31))
    results = list(run_all(square_or_die, items, jobs=2, on_error=failed))
    assert sorted(n for n, _ in results) == items  # each once, none lost
    by_item = dict(results)
    assert by_item[13].startswith("13: BrokenProcessPool")
    assert by_item[7] == "7: ValueError: seven is unreadable"
    assert {n: r for n, r in by_item.items() if n not in (7, 13)} == {
        n: n * n for n in items if n not in (7, 13)
    }


def test_in_process_when_one_job():
    results = dict(run_all(square_or_die, [2, 7, 3], jobs=1, on_error=failed))
    assert results == {2: 4, 7: "7: ValueError: seven is unreadable", 3: 9}
