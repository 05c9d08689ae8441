"""A local folder as an object store (the default); the interface is in stores.py."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

# The interface, re-exported: callers may import these from here as before.
from .stores import (  # noqa: F401
    IMMUTABLE,
    SHORT_LIVED,
    PreconditionFailed,
    Storage,
    StorageError,
    StoredObject,
    StoreOptions,
    open_store,
    safe_key,
)


def etag_of(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


class LocalStorage:
    """A folder as an object store; every write lands under a temporary name, then is renamed."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.url = str(self.root)

    @classmethod
    def from_url(cls, url: str, options: StoreOptions) -> LocalStorage:
        """A folder path, `file://` optional; a folder needs no options (transfers aside)."""
        return cls(Path(url.removeprefix("file://")))

    def _path(self, key: str) -> Path:
        return self.root / safe_key(key)

    def list(self) -> dict[str, StoredObject]:
        if not self.root.exists():
            return {}
        found = {}
        for path in self.root.rglob("*"):
            if path.is_file() and not path.name.startswith(".tmp-"):
                key = path.relative_to(self.root).as_posix()
                stat = path.stat()
                found[key] = StoredObject(key, stat.st_size, "", stat.st_mtime)
        return found

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as err:
            raise StorageError(f"{key}: not in the store") from err

    def put(
        self,
        key: str,
        data: bytes,
        content_type: str,
        cache_control: str,
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> str:
        path = self._path(key)
        if if_match is not None or if_none_match:
            self._check_match(key, path, if_match)
        try:
            atomic_write(path, data)
        except OSError as err:
            raise StorageError(f"{key}: cannot write to {self.root}: {err.strerror}") from err
        return etag_of(data)

    def _check_match(self, key: str, path: Path, if_match: str | None) -> None:
        if self.etag(key) != if_match:
            raise PreconditionFailed(f"{key}: changed by someone else since it was read")

    def etag(self, key: str) -> str | None:
        path = self._path(key)
        return etag_of(path.read_bytes()) if path.exists() else None

    def delete(self, keys: Sequence[str]) -> None:
        for path in [self._path(key) for key in keys]:
            path.unlink(missing_ok=True)


def atomic_write(path: Path, data: bytes) -> None:
    """Write data so that readers see the old file or the whole new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
