"""How a run ends when the machine or the user stops it: one line, the exit code, no traceback.

SIGINT and SIGTERM become exceptions in the main thread, so `finally` blocks run (temporary files
are removed, pool workers killed); should that cleanup take longer than GRACE_S, the process
exits anyway. A second signal exits at once.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager

EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130, the shell's convention
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143
GRACE_S = 2.0


class Terminated(BaseException):
    """SIGTERM (or SIGHUP) arrived: stop like Ctrl-C does, with the signal's exit code."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def exit_code(err: BaseException) -> int:
    return 128 + err.signum if isinstance(err, Terminated) else EXIT_INTERRUPTED


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """While inside, SIGINT raises KeyboardInterrupt and SIGTERM/SIGHUP raise Terminated; a
    watchdog then ends the process after GRACE_S whatever the cleanup is doing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    wanted = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {s: signal.getsignal(s) for s in wanted}
    for signum in wanted:
        signal.signal(signum, _on_signal)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


_stopping = threading.Event()


def _on_signal(signum: int, _frame: object) -> None:
    code = 128 + signum
    if _stopping.is_set():
        os._exit(code)  # a second signal: the user means it
    _stopping.set()
    threading.Thread(target=_exit_after, args=(GRACE_S, code), daemon=True).start()
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum)


def _exit_after(seconds: float, code: int) -> None:
    threading.Event().wait(seconds)
    sys.stderr.flush()
    os._exit(code)


def stop_message(err: BaseException) -> str:
    name = "SIGINT" if isinstance(err, KeyboardInterrupt) else str(err)
    return (
        f"stopped by {name}; what was published so far is kept and consistent: run again to finish"
    )


def os_error_line(err: OSError) -> str:
    """`PATH: reason` for an OSError, as a user reads it (no errno numbers, no repr); a
    temporary file's folder rather than its passing name."""
    reason = err.strerror or str(err) or type(err).__name__
    if err.errno == errno.ENAMETOOLONG:
        reason = "file name too long"
    paths = [_shown(p) for p in (err.filename, err.filename2) if p is not None]
    return f"{' → '.join(paths)}: {reason}" if paths else reason


def _shown(path: object) -> str:
    text = os.fsdecode(path) if isinstance(path, bytes | str | os.PathLike) else str(path)
    name = os.path.basename(text)
    if name.startswith(".tmp-") and os.path.dirname(text):
        return f"{os.path.dirname(text)} (writing {name})"
    return text


@contextmanager
def naming(path: object) -> Iterator[None]:
    """Give an OSError that names no file (a write failing with ENOSPC, say) this path."""
    try:
        yield
    except OSError as err:
        if err.filename is not None:
            raise
        raise OSError(err.errno, err.strerror or str(err), os.fspath(path)) from err


def terminal_safe(text: str) -> str:
    """Control characters (an ANSI escape in a file name, say) written as \\uXXXX, so they
    cannot move the cursor or recolour the terminal; line breaks are kept. The escapes are
    also valid inside JSON strings, where they mean the same character again."""
    if text.isprintable():
        return text
    return "".join(
        f"\\u{ord(c):04x}"
        if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")
        else c
        for c in text
    )


def warn(message: str) -> None:
    """A one-line warning on stderr, for what the run works around and the user should know."""
    print(terminal_safe(f"warning: {message}"), file=sys.stderr, flush=True)
