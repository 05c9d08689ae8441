"""Where renditions and manifests go: the interface every store implements, and the stores
by URL scheme.

A store is a flat key → bytes space under one prefix (`Storage`): listed once per run, written
with a content type and a cache policy, and conditionally (If-Match / If-None-Match) for the
manifest. `open_store(url)` picks the implementation by the URL's scheme from `STORES`; each
entry names the class (imported only when such a store is opened, so a local run never imports
boto3) and the `StoreOptions` it reads. A new store registers itself here with `register`; its
module imports this one, and this one imports no store: there is no import cycle.
"""

from __future__ import annotations

import importlib
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class StoreKind:
    """A kind of store: the URLs it serves, the class that opens them, the options it reads."""

    scheme: str  # URLs scheme://…; "file" also serves plain paths
    target: str  # "module:Class"; Class.from_url(url, StoreOptions) opens a store
    options: tuple[str, ...]  # the StoreOptions fields it reads
    example: str


STORES: dict[str, StoreKind] = {}


def register(kind: StoreKind) -> None:
    STORES[kind.scheme] = kind


register(StoreKind("file", "gallerypipe.storage:LocalStorage", ("transfers",), "./published"))
register(
    StoreKind(
        "s3",
        "gallerypipe.s3:S3Storage",
        ("endpoint_url", "profile", "region", "path_style", "acl", "transfers"),
        "s3://bucket/prefix",
    )
)


def kind_of(url: str) -> StoreKind:
    """The kind of store a URL names; a path without a scheme is a local folder."""
    scheme, sep, _ = url.partition("://")
    kind = STORES.get(scheme if sep else "file")
    if kind is None:
        known = ", ".join(f"{k.example} ({k.scheme})" for k in STORES.values())
        raise StorageError(f"{url}: no store for {scheme}:// URLs; give one of {known}")
    return kind


def open_store(url: str, options: StoreOptions | None = None) -> Storage:
    """A store from its URL: `s3://bucket/prefix`, or a local folder path (`file://` optional)."""
    check_store_url(url)
    module, _, name = kind_of(url).target.partition(":")
    store_class = getattr(importlib.import_module(module), name)
    return store_class.from_url(url, options or StoreOptions())


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
    """Refuse, before any work, a URL no store serves or one S3Storage would refuse."""
    kind_of(url)
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
