"""Waiting for an exclusive advisory lock (flock): the one loop the bundle and sync locks share.

flock, not a lock file's existence: the kernel frees the lock when its holder dies, so a killed
run never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import time


def wait_for_lock(fd: int, timeout: float, poll: float = 0.1) -> bool:
    """Take an exclusive flock on fd, trying every poll seconds for up to timeout seconds.

    True once held; False when another holder kept it past the timeout (a timeout of 0 is one
    try). The lock lasts until fd is closed or unlocked."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll)
