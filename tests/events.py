"""A published event laid out by hand in any store, for the prune and verify tests."""

from __future__ import annotations

import hashlib
import json

from gallerypipe.manifest import MANIFEST_KEY
from gallerypipe.storage import SHORT_LIVED, Storage


def put_event(store: Storage, objects: dict[str, bytes]) -> None:
    """The objects, and a manifest naming each with its size and sha256, as a publish leaves."""
    renditions = [
        {"key": key, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        for key, data in objects.items()
    ]
    for key, data in objects.items():
        store.put(key, data, "image/jpeg", SHORT_LIVED)
    manifest = json.dumps({"photos": [{"id": "p1", "renditions": renditions}]}).encode()
    store.put(MANIFEST_KEY, manifest, "application/json", SHORT_LIVED)
