"""A local folder as an object store (the default); the interface is in stores.py."""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
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
            if path.is_file() and not is_temp_name(path.name):
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


TEMP_PREFIX = ".gp-"  # + 8 random hex digits: 12 bytes, however long the final name is


def is_temp_name(name: str) -> bool:
    """A temporary file of a run (this version's `.gp-…`, or an older version's `.tmp-…`)."""
    return name.startswith((TEMP_PREFIX, ".tmp-"))


def temp_file(folder: Path) -> tuple[Path, int]:
    """A new file with a random name of this run's own (`.gp-` and 8 hex digits), opened for
    writing; created 0666 less the umask, as any program's new file is."""
    for _ in range(100):
        path = folder / f"{TEMP_PREFIX}{secrets.token_hex(4)}"
        try:
            return path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        except FileExistsError:
            continue
    raise FileExistsError(f"{folder}: no free temporary name")


def atomic_write(path: Path, data: bytes, staging: Path | None = None) -> None:
    """Write data so that readers see the old file or the whole new one, never a part.

    The data goes to a temporary file in `staging` (default: the same folder; it must be on the
    same filesystem), then is renamed over `path`. A new file gets the user's umask (0644 with
    022); a replaced one keeps its mode.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp, fd = temp_file(staging or path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        keep_mode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def keep_mode(path: Path, tmp: Path) -> None:
    """Give tmp the mode of the file it will replace, if there is one."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return
    os.chmod(tmp, mode)


def write_if_changed(path: Path, data: bytes, staging: Path | None = None) -> bool:
    """atomic_write, unless the file already holds exactly these bytes (its mtime then stays).

    Returns whether anything was written."""
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    atomic_write(path, data, staging)
    return True
