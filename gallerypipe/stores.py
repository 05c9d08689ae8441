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
    module, _, name = kind_of(url).target.partition(":")
    store_class = getattr(importlib.import_module(module), name)
    return store_class.from_url(url, options or StoreOptions())
