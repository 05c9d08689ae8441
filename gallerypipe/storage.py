"""Object stores behind one interface: a local folder (the default) and S3."""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT_LIVED = "public, max-age=60"


class StorageError(Exception):
    """A store operation failed; the message names the key and never carries credentials."""


class PreconditionFailed(StorageError):
    """A conditional write lost: someone else changed the object since it was read."""


@dataclass(frozen=True)
class StoreOptions:
    """How to reach a store; only transfers matters for a local folder."""

    endpoint_url: str | None = None
    profile: str | None = None
    region: str | None = None
    path_style: bool = False
    acl: str | None = None  # e.g. "public-read"; none unless asked
    transfers: int = 8  # concurrent uploads


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    etag: str
    modified: float = 0.0  # seconds since the epoch


class Storage(Protocol):
    url: str  # for reports; never contains credentials

    def list(self) -> dict[str, StoredObject]: ...

    def get(self, key: str) -> bytes: ...

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
        """Store data and return its ETag; conditional when if_match or if_none_match is set."""
        ...

    def etag(self, key: str) -> str | None: ...

    def delete(self, keys: Sequence[str]) -> None:
        """Delete these keys (what is gone already is fine); raise naming any that failed."""
        ...


def safe_key(key: str) -> str:
    """Refuse keys that could escape the store's prefix."""
    normal = posixpath.normpath(key)
    if (
        not key
        or key != normal
        or normal.startswith(("/", "../"))
        or normal in ("..", ".")
        or "\\" in key
        or "\x00" in key
    ):
        raise StorageError(f"refused object key {key!r}: it would leave the store's prefix")
    return key


def etag_of(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


class LocalStorage:
    """A folder as an object store; every write lands under a temporary name, then is renamed."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.url = str(self.root)

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


_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IPV4 = re.compile(r"\d+\.\d+\.\d+\.\d+")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_problem(name: str) -> str | None:
    """Why name breaks the S3 bucket naming rules (3-63 characters: lowercase letters, digits,
    dots and hyphens, a letter or digit at each end, no '..', not an IP address, none of S3's
    reserved prefixes and suffixes), or None. Checked before any request: a name like '..'
    would otherwise become a path a proxy normalises into another bucket."""
    if not _BUCKET.fullmatch(name):
        return (
            "a bucket name has 3 to 63 lowercase letters, digits, dots and hyphens, "
            "beginning and ending with a letter or digit"
        )
    if ".." in name or _IPV4.fullmatch(name):
        return "a bucket name has no '..' and is not an IP address"
    if name.startswith(_RESERVED_PREFIXES) or name.endswith(_RESERVED_SUFFIXES):
        return "that prefix or suffix is reserved by S3"
    return None


def check_store_url(url: str) -> None:
    """Refuse, before any work, an s3:// URL S3Storage would refuse."""
    if url.startswith("s3://"):
        split_s3_url(url)


def split_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` → ("bucket", "some/prefix"); refuses a bucket name S3's rules
    refuse, and a prefix like `a/../b`."""
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    if not bucket:
        raise StorageError(f"{url}: no bucket in the store URL (expected s3://bucket/prefix)")
    if problem := bucket_problem(bucket):
        raise StorageError(f"{url}: refused bucket {bucket!r}: {problem}")
    prefix = prefix.removesuffix("/")
    if prefix:
        try:
            safe_key(prefix)
        except StorageError as err:
            raise StorageError(
                f"{url}: refused prefix {prefix!r}: use plain segments such as events/spark "
                "(no '.', '..' or empty segment, backslash or NUL)"
            ) from err
    return bucket, prefix


def open_store(url: str, options: StoreOptions | None = None) -> Storage:
    """A store from its URL: `s3://bucket/prefix`, or a local folder path (`file://` optional)."""
    check_store_url(url)
    if url.startswith("s3://"):
        from .s3 import S3Storage  # boto3 is slow to import; local runs skip it

        return S3Storage(url, options)
    return LocalStorage(Path(url.removeprefix("file://")))
