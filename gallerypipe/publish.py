"""Plan, then act: which objects to upload and which are already in the store; the manifest last."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from .manifest import MANIFEST_KEY
from .storage import IMMUTABLE, SHORT_LIVED, PreconditionFailed, Storage, StorageError, StoredObject


@dataclass(frozen=True)
class PublishPlan:
    upload: tuple[str, ...]  # keys missing from the store
    reuse: tuple[str, ...]  # keys already there (content-addressed: same key, same bytes)


@dataclass(frozen=True)
class PreviousManifest:
    raw: bytes | None
    data: dict | None
    etag: str | None


def plan_publish(wanted: Iterable[str], existing: Mapping[str, StoredObject]) -> PublishPlan:
    keys = list(dict.fromkeys(wanted))
    return PublishPlan(
        upload=tuple(k for k in keys if k not in existing),
        reuse=tuple(k for k in keys if k in existing),
    )


def read_previous(store: Storage, existing: Mapping[str, StoredObject]) -> PreviousManifest:
    """The manifest now in the store, or nothing; an unreadable one counts as none."""
    if MANIFEST_KEY not in existing:
        return PreviousManifest(None, None, None)
    raw = store.get(MANIFEST_KEY)
    etag = existing[MANIFEST_KEY].etag or store.etag(MANIFEST_KEY)
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    return PreviousManifest(raw, data if isinstance(data, dict) else None, etag)


def upload(store: Storage, key: str, data: bytes, content_type: str) -> None:
    store.put(key, data, content_type, IMMUTABLE)


def publish_manifest(store: Storage, payload: bytes, previous: PreviousManifest) -> bool:
    """Write the manifest last, conditionally on the one read at the start; keep the old one.

    Returns False when the content is unchanged (nothing written).
    """
    if previous.raw == payload:
        return False
    if previous.raw is not None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        store.put(f"manifests/{stamp}.json", previous.raw, "application/json", SHORT_LIVED)
    try:
        store.put(
            MANIFEST_KEY,
            payload,
            "application/json",
            SHORT_LIVED,
            if_match=previous.etag,
            if_none_match=previous.etag is None,
        )
    except PreconditionFailed as err:
        raise StorageError(
            f"{MANIFEST_KEY} was changed by another publisher during this run; re-run to merge"
        ) from err
    return True
