"""The flock wait both the bundle lock and sync's locks use: held, waited for, given up on."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from gallerypipe.locks import wait_for_lock
from gallerypipe.ownership import BundleLocked, bundle_lock


def test_a_lock_held_elsewhere_is_waited_for_then_given_up(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    holder = os.open(path, os.O_RDWR | os.O_CREAT)
    waiter = os.open(path, os.O_RDWR)  # another open file: flock treats it as another holder
    try:
        assert wait_for_lock(holder, 0)
        started = time.monotonic()
        assert not wait_for_lock(waiter, 0.3, poll=0.05)
        assert time.monotonic() - started >= 0.3
        os.close(holder)  # the holder goes away: the lock is free at once
        holder = -1
        assert wait_for_lock(waiter, 0)
    finally:
        for fd in (holder, waiter):
            if fd >= 0:
                os.close(fd)


def test_a_held_bundle_is_named_when_the_wait_runs_out(tmp_path: Path) -> None:
    bundle = tmp_path / "site/content/stories/spark"
    held = pytest.raises(BundleLocked, match=re.escape(f"{bundle}: another gallerypipe run"))
    with bundle_lock(bundle), held, bundle_lock(bundle, timeout=0.2):
        pass
    with bundle_lock(bundle, timeout=0):  # released: taken at once
        pass
    assert not bundle.exists()  # made for the run and left empty: removed again
