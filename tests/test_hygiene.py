"""Killed, interrupted and terminated runs: no process outlives its run, the exit code says why,
no traceback is printed and no temporary file is left where a reader would see it."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

PHASES = ("analysis", "render", "upload")


def command(cards: Path, bundle: Path, store: Path) -> list[str]:
    return [
        sys.executable, "-m", "gallerypipe", "ingest", str(cards), "--bundle", str(bundle),
        "--store", str(store), "--sizes", "640,320", "--no-cache", "--jobs", "2",
    ]  # fmt: skip


def session_processes(sid: int) -> list[str]:
    """Live processes (not zombies) of the session a run was started in."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[3]) == sid and fields[0] != "Z":  # state, ppid, pgrp, session
            found.append(f"{entry} {stat[: stat.rindex(')') + 1]}")
    return found


def children(pid: int) -> set[int]:
    try:
        return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except OSError:
        return set()


def reached(phase: str, proc: subprocess.Popen, store: Path, seen: list[set[int]]) -> bool:
    """Whether the run is in phase: analysis (the first pool's workers are up), render (a
    second pool's workers are up), upload (renditions are arriving in the store)."""
    if proc.poll() is not None:
        raise AssertionError(f"the run ended before {phase} could be caught")
    workers = children(proc.pid)
    if workers and (not seen or not workers & seen[-1]):
        seen.append(workers)
    if phase == "upload":
        return any((store / "renditions").glob("*.jpg"))
    return len(seen) >= PHASES.index(phase) + 1


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def kill_in(phase: str, delay: float, cards: Path, where: Path) -> tuple[bool, list[str]]:
    """SIGKILL a run delay seconds into phase; (whether it had workers then, what survived 5 s)."""
    store = where / "store"
    proc = subprocess.Popen(
        command(cards, where / "bundle", store),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its session id names every process of the run
    )
    seen: list[set[int]] = []
    try:
        assert wait_for(lambda: reached(phase, proc, store, seen), 60), f"never reached {phase}"
        time.sleep(delay)
        had_workers = bool(children(proc.pid))
    finally:
        proc.kill()
        proc.wait()
    wait_for(lambda: not session_processes(proc.pid), 5)
    return had_workers, session_processes(proc.pid)


def test_a_killed_run_leaves_no_process(cards: Path, tmp_path: Path) -> None:
    shutil.rmtree(cards / "card-b")  # fewer photos, shorter runs: 10 trials in a few seconds
    rng = random.Random(13)
    trials = [(PHASES[n % 3], rng.uniform(0, 0.2), tmp_path / f"t{n}") for n in range(10)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        outcomes = list(pool.map(lambda t: kill_in(t[0], t[1], cards, t[2]), trials))
    survivors = [s for _, left in outcomes for s in left]
    assert not survivors, f"processes outlived their killed run: {survivors}"
    assert sum(had for had, _ in outcomes) >= 5, "most kills must land while workers are running"


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_and_sigterm_stop_promptly_and_cleanly(cards, tmp_path, signum, code) -> None:
    shutil.rmtree(cards / "card-b")
    store, bundle = tmp_path / "store", tmp_path / "bundle"
    proc = subprocess.Popen(
        command(cards, bundle, store),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    seen: list[set[int]] = []
    assert wait_for(lambda: reached("upload", proc, store, seen), 60)
    # Ctrl-C reaches the whole foreground process group, workers included
    os.killpg(proc.pid, signum) if signum == signal.SIGINT else proc.send_signal(signum)
    sent = time.monotonic()
    _, err = proc.communicate(timeout=10)
    assert time.monotonic() - sent < 2.5, "the run took too long to stop"
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert f"stopped by {signal.Signals(signum).name}" in err
    assert wait_for(lambda: not session_processes(proc.pid), 5), session_processes(proc.pid)
    assert not [p for p in tmp_path.rglob(".tmp-*")], "a temporary file was left"
