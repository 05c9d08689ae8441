"""`gallerypipe sync`: bring every event of a library up to date, one locked run at a time.

Each event is an ordinary ingest; what makes a nightly re-run cheap is shared with ingest: the
analysis cache (no decode for unchanged files), content-addressed keys checked against one listing
and the previous manifest (no render, no upload), and a manifest written only when it changes.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from .failures import os_error_line
from .locks import wait_for_lock
from .pipeline import IngestError, IngestOptions, IngestReport, Progress, ingest
from .storage import StorageError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 3


class LockHeld(Exception):
    """Another sync holds the lock for this state file or store."""


@dataclass(frozen=True)
class Event:
    name: str
    sources: tuple[Path, ...]
    bundle: Path
    store: str  # the event's own store URL (the shared store plus the event's prefix)


@dataclass(frozen=True)
class SyncPlan:
    events: tuple[Event, ...]
    defaults: IngestOptions  # everything but sources, bundle and store
    state: Path  # the analysis cache shared by every event
    lock_dir: Path


@dataclass(frozen=True)
class EventResult:
    event: Event
    report: IngestReport | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not (self.report and self.report.skipped)

    def to_json(self) -> dict:
        base = {"event": self.event.name, "store": self.event.store, "ok": self.ok}
        if self.report is None:
            return {**base, "error": self.error}
        r = self.report
        return {
            **base,
            "photos": r.photos,
            "decoded": r.analysed + r.rendered,
            "analysed": r.analysed,
            "rendered": r.rendered,
            "uploaded": r.uploaded,
            "reused": r.reused,
            "duplicates": r.duplicates.dropped,
            "skipped": [{"path": p.path, "reason": p.reason} for p in r.skipped],
            "warnings": [{"path": p.path, "reason": p.reason} for p in r.warnings],
            "manifest_changed": r.manifest_changed,
        }


@dataclass(frozen=True)
class SyncReport:
    results: tuple[EventResult, ...] = field(default_factory=tuple)

    @property
    def exit_code(self) -> int:
        return EXIT_OK if all(r.ok for r in self.results) else EXIT_FAILED

    def to_json(self) -> dict:
        return {"ok": self.exit_code == EXIT_OK, "events": [r.to_json() for r in self.results]}


def sync(plan: SyncPlan, lock_timeout: float = 0.0, progress: Progress | None = None) -> SyncReport:
    """Ingest every event in turn under the state file's lock and each store's lock.

    An event that fails is reported and the others still run.
    """
    with hold_lock(
        plan.lock_dir / f"state-{_digest(str(plan.state.resolve()))}.lock", lock_timeout
    ):
        results = []
        for event in plan.events:
            with hold_lock(plan.lock_dir / f"store-{_digest(event.store)}.lock", lock_timeout):
                results.append(_run_event(plan, event, progress))
    return SyncReport(tuple(results))


def _run_event(plan: SyncPlan, event: Event, progress: Progress | None) -> EventResult:
    options = replace(
        plan.defaults,
        sources=event.sources,
        bundle=event.bundle,
        store=event.store,
        cache=plan.state,
    )
    try:
        return EventResult(event, report=ingest(options, progress))
    except OSError as err:  # as ingest says it: `PATH: reason`, no errno, no repr
        return EventResult(event, error=os_error_line(err))
    except (IngestError, StorageError, ValueError) as err:
        return EventResult(event, error=str(err))


@contextmanager
def hold_lock(path: Path, timeout: float) -> Iterator[None]:
    """An exclusive advisory lock (flock), waited for up to timeout seconds.

    The kernel drops it when the holder dies, so a killed sync never leaves a stale lock.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not wait_for_lock(fd, timeout, poll=0.2):
            raise LockHeld(f"another gallerypipe sync holds {path}")
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
