"""Analysis results kept between runs, so a photo already seen is never decoded again.

A SQLite file maps (path, size, mtime, sidecars) to the analysis of the bytes that were there,
and (sha256, sidecars) to the same analysis: a copy moved, renamed or exported to another folder
is recognised by its content after one cheap hash, without decoding it. "sidecars" is a digest of
the XMP sidecars' bytes, so editing a title in Lightroom is seen on the next run.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from dataclasses import asdict
from datetime import datetime
from functools import cache
from pathlib import Path

from .analyse import (
    HASH_METHOD,
    Analysed,
    analyse_read,
    read_photo,
    read_sidecars,
    sidecar_digest,
)
from .failures import warn
from .model import Analysis, HashMethod, Metadata, Problem, SourceFile
from .names import is_text

ANALYSIS_VERSION = 7  # bump when analyse_bytes computes anything differently
_SQLITE_INT = (-(2**63), 2**63 - 1)  # what an SQLite INTEGER holds


def default_cache_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = Path.home() / ".cache"
        except RuntimeError:  # no HOME and no passwd entry: open_cache then says so
            base = Path("~/.cache")
    return Path(base) / "gallerypipe" / "analysis.sqlite"


def open_cache(path: Path | None) -> AnalysisCache | None:
    """The cache at path, or None (with one warning) when it cannot be opened: the cache only
    saves time, so a missing home, a read-only or full disk or a damaged file never stops a run."""
    if path is None:
        return None
    try:
        return AnalysisCache(path)
    except (OSError, sqlite3.Error) as err:
        warn(f"analysis cache {path}: {_reason(err)}; analysing every photo without it")
        return None


def _reason(err: BaseException) -> str:
    return (err.strerror if isinstance(err, OSError) else None) or str(err)


class AnalysisCache:
    """Opened in the parent; any later failure (a full disk) turns it off for the rest of the
    run, with one warning, instead of failing the run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.broken = False
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS by_path (path TEXT, size INTEGER, mtime_ns INTEGER,"
            " sidecars TEXT, version INTEGER, result TEXT,"
            " PRIMARY KEY (path, size, mtime_ns, sidecars, version))"
        )
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS by_content (sha256 TEXT, sidecars TEXT, version INTEGER,"
            " result TEXT, PRIMARY KEY (sha256, sidecars, version))"
        )
        self.db.commit()  # workers open the file read-only and must find both tables

    def lookup(self, source: SourceFile) -> Analysed | None:
        """By path, size and mtime (and what the sidecars say): no read of the photo at all."""
        if self.broken:
            return None
        sidecars = sidecar_digest(read_sidecars(source)[0])
        try:
            row = self.db.execute(
                "SELECT result FROM by_path WHERE path=? AND size=? AND mtime_ns=? AND sidecars=?"
                " AND version=?",
                (*_identity(source), sidecars, ANALYSIS_VERSION),
            ).fetchone()
        except (OSError, sqlite3.Error) as err:
            return self._failed(err)
        return _decode(source, row[0], sidecars) if row else None

    def store(self, analysed: Analysed) -> None:
        if self.broken:
            return
        result = _encode(analysed)
        sidecars = analysed.sidecar_digest
        try:
            self.db.execute(
                "INSERT OR REPLACE INTO by_path VALUES (?, ?, ?, ?, ?, ?)",
                (*_identity(analysed.source), sidecars, ANALYSIS_VERSION, result),
            )
            self.db.execute(
                "INSERT OR REPLACE INTO by_content VALUES (?, ?, ?, ?)",
                (analysed.analysis.sha256, sidecars, ANALYSIS_VERSION, result),
            )
        except (OSError, sqlite3.Error) as err:
            self._failed(err)

    def close(self) -> None:
        try:
            if not self.broken:
                self.db.commit()
        except (OSError, sqlite3.Error) as err:
            self._failed(err)
        finally:
            self.db.close()

    def _failed(self, err: BaseException) -> None:
        self.broken = True
        warn(f"analysis cache {self.path}: {_reason(err)}; going on without it")


def _identity(source: SourceFile) -> tuple[str | bytes, int, int]:
    """The cache key by path: the path as text, or its bytes when it is not UTF-8 (SQLite text
    cannot hold the surrogates Python keeps such names as). An mtime beyond what SQLite holds
    (after 2262) is clamped, not refused."""
    path = str(source.path.resolve())
    key = path if is_text(path) else os.fsencode(path)
    low, high = _SQLITE_INT
    return key, source.size, min(max(int(source.mtime * 1e9), low), high)


def analyse_cached(source: SourceFile, cache_path: Path | None = None) -> Analysed | Problem:
    """The analysis worker: read and hash the photo; decode it only if the cache does not know
    its content (a renamed or moved copy of a photo analysed before is not decoded again)."""
    read = read_photo(source)
    if isinstance(read, Problem):
        return read
    data, sha256 = read
    known = _by_content(cache_path, sha256, source) if cache_path else None
    return known or analyse_read(source, data, sha256)


def _by_content(cache_path: Path, sha256: str, source: SourceFile) -> Analysed | None:
    sidecars, unreadable = read_sidecars(source)
    if unreadable or not cache_path.exists():
        return None  # analyse, so the problem is reported as it would be the first time
    digest = sidecar_digest(sidecars)
    try:
        row = (
            _reader(str(cache_path))
            .execute(
                "SELECT result FROM by_content WHERE sha256=? AND sidecars=? AND version=?",
                (sha256, digest, ANALYSIS_VERSION),
            )
            .fetchone()
        )
    except sqlite3.Error:
        return None  # the parent warns about a cache that fails; here, just analyse
    return _decode(source, row[0], digest) if row else None


@cache
def _reader(path: str) -> sqlite3.Connection:
    """One read-only connection per worker process."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)


def _encode(analysed: Analysed) -> str:
    analysis = asdict(analysed.analysis)
    analysis["thumb"] = base64.b64encode(analysed.analysis.thumb).decode()
    analysis["detail"] = base64.b64encode(analysed.analysis.detail).decode()
    return json.dumps({"meta": asdict(analysed.meta), "analysis": analysis}, default=str)


def _decode(source: SourceFile, text: str, sidecars: str) -> Analysed | None:
    try:
        data = json.loads(text)
        meta = data["meta"]
        taken = meta["capture_time"]
        meta["capture_time"] = datetime.fromisoformat(taken) if taken else None
        meta["problems"] = tuple(meta["problems"])
        analysis = data["analysis"]
        analysis["thumb"] = base64.b64decode(analysis["thumb"])
        analysis["detail"] = base64.b64decode(analysis["detail"])
        analysis["rotated_phashes"] = tuple(analysis["rotated_phashes"])
        method = analysis["hash_method"]
        method["algorithms"] = tuple(method["algorithms"])
        analysis["hash_method"] = HashMethod(**method)
        if analysis["hash_method"] != HASH_METHOD:
            return None  # hashed by another library version: not comparable, analyse again
        return Analysed(source, Metadata(**meta), Analysis(**analysis), sidecars, decoded=False)
    except (ValueError, KeyError, TypeError):
        return None  # an entry from another layout: analyse again
