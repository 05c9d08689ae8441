"""Analysis results kept between runs, so an unchanged photo is never decoded again.

A SQLite file maps (path, size, mtime) to the analysis of the bytes that were there. The
analysis carries the file's sha256, so identity stays content-based downstream.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from .analyse import HASH_METHOD, Analysed
from .model import Analysis, HashMethod, Metadata, SourceFile

ANALYSIS_VERSION = 2  # bump when analyse_bytes computes anything differently


def default_cache_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gallerypipe" / "analysis.sqlite"


class AnalysisCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS analysis (path TEXT, size INTEGER, mtime_ns INTEGER,"
            " version INTEGER, result TEXT, PRIMARY KEY (path, size, mtime_ns, version))"
        )

    def lookup(self, source: SourceFile) -> Analysed | None:
        row = self.db.execute(
            "SELECT result FROM analysis WHERE path=? AND size=? AND mtime_ns=? AND version=?",
            (*_identity(source), ANALYSIS_VERSION),
        ).fetchone()
        return _decode(source, row[0]) if row else None

    def store(self, analysed: Analysed) -> None:
        analysis = asdict(analysed.analysis)
        analysis["thumb"] = base64.b64encode(analysed.analysis.thumb).decode()
        result = json.dumps({"meta": asdict(analysed.meta), "analysis": analysis}, default=str)
        self.db.execute(
            "INSERT OR REPLACE INTO analysis VALUES (?, ?, ?, ?, ?)",
            (*_identity(analysed.source), ANALYSIS_VERSION, result),
        )

    def close(self) -> None:
        self.db.commit()
        self.db.close()


def _identity(source: SourceFile) -> tuple[str, int, int]:
    return str(source.path.resolve()), source.size, int(source.mtime * 1e9)


def _decode(source: SourceFile, text: str) -> Analysed | None:
    try:
        data = json.loads(text)
        meta = data["meta"]
        taken = meta["capture_time"]
        meta["capture_time"] = datetime.fromisoformat(taken) if taken else None
        meta["problems"] = tuple(meta["problems"])
        analysis = data["analysis"]
        analysis["thumb"] = base64.b64decode(analysis["thumb"])
        analysis["rotated_phashes"] = tuple(analysis["rotated_phashes"])
        method = analysis["hash_method"]
        method["algorithms"] = tuple(method["algorithms"])
        analysis["hash_method"] = HashMethod(**method)
        if analysis["hash_method"] != HASH_METHOD:
            return None  # hashed by another library version: not comparable, analyse again
        return Analysed(source, Metadata(**meta), Analysis(**analysis))
    except (ValueError, KeyError, TypeError):
        return None  # an entry from another layout: analyse again
