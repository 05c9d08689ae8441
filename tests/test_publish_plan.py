"""What a publish uploads or reuses, and how the manifest it replaces is kept."""

from __future__ import annotations

import pytest

from gallerypipe.manifest import MANIFEST_KEY
from gallerypipe.publish import (
    PublishPlan,
    archive_key,
    plan_publish,
    publish_manifest,
    read_previous,
)
from gallerypipe.storage import LocalStorage, StorageError, StoredObject

NOW = 1_800_000_000.0


def listed(key: str, size: int, age_s: float) -> StoredObject:
    return StoredObject(key, size, "e" * 32, NOW - age_s)


def test_a_listed_object_is_reused_only_when_the_manifest_vouches_for_it() -> None:
    existing = {
        "named.jpg": listed("named.jpg", 100, age_s=86_400),
        "truncated.jpg": listed("truncated.jpg", 9, age_s=86_400),
        "left-by-a-crash.jpg": listed("left-by-a-crash.jpg", 50, age_s=60),
        "old-orphan.jpg": listed("old-orphan.jpg", 50, age_s=86_400),
    }
    claimed = {"named.jpg": 100, "truncated.jpg": 30_180, "gone.jpg": 10}
    wanted = [*existing, "missing.jpg", "gone.jpg", "named.jpg"]
    plan = plan_publish(wanted, existing, claimed)
    assert plan.reuse == ("named.jpg",)
    assert plan.upload == (
        "truncated.jpg", "left-by-a-crash.jpg", "old-orphan.jpg", "missing.jpg", "gone.jpg",
    )  # fmt: skip
    assert plan.only({"named.jpg", "missing.jpg"}) == PublishPlan(("missing.jpg",), ("named.jpg",))


def test_two_publishers_replacing_one_manifest_keep_one_archive(tmp_path) -> None:
    store = LocalStorage(tmp_path / "store")
    store.put(MANIFEST_KEY, b'{"photos": []}', "application/json", "no-cache")
    previous = read_previous(store, store.list())
    assert publish_manifest(store, b'{"photos": [], "by": "a"}', previous)
    with pytest.raises(StorageError, match="another publisher"):
        publish_manifest(store, b'{"photos": [], "by": "b"}', previous)
    archives = [k for k in store.list() if k.startswith("manifests/")]
    assert archives == [archive_key(previous)]
    assert store.get(archives[0]) == b'{"photos": []}'
    assert store.get(MANIFEST_KEY) == b'{"photos": [], "by": "a"}'
