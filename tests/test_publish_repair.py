"""A re-run repairs a damaged object; a publisher that loses the manifest race changes no bundle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from gallerypipe.manifest import MANIFEST_KEY
from gallerypipe.pipeline import IngestOptions, ingest
from gallerypipe.publish import verify
from gallerypipe.s3 import S3Storage
from gallerypipe.storage import SHORT_LIVED, StorageError


def publish(cards: Path, bundle: Path, s3_store, progress=None):
    url, options = s3_store
    return ingest(IngestOptions((cards,), bundle, url, store_options=options, jobs=2), progress)


def test_a_rerun_uploads_again_an_object_the_store_holds_truncated(cards, tmp_path, s3_store):
    publish(cards, tmp_path / "b", s3_store)
    store = S3Storage(*s3_store)
    rendition = json.loads(store.get(MANIFEST_KEY))["photos"][0]["renditions"][0]
    store.put(rendition["key"], b"truncated", rendition["content_type"], "no-cache")
    assert [p.key for p in verify(store).problems] == [rendition["key"]]
    again = publish(cards, tmp_path / "b", s3_store)
    assert (again.uploaded, again.rendered) == (1, 1)
    assert not verify(store).problems


def test_the_losing_publisher_leaves_its_bundle_as_it_was(cards, tmp_path, s3_store):
    bundle = tmp_path / "b"
    publish(cards, bundle, s3_store)
    before = {p: p.read_bytes() for p in sorted(bundle.rglob("*")) if p.is_file()}
    changed = cards / "card-a/DCIM/100CANON/IMG_5105.JPG"
    with Image.open(changed) as img:
        exif = img.info["exif"]
        img.rotate(2, resample=Image.Resampling.BICUBIC).save(changed, quality=90, exif=exif)
    store = S3Storage(*s3_store)
    theirs = b'{"photos": [], "by": "another publisher"}'

    def another_publisher_writes_first(stage: str, done: int, total: int) -> None:
        if stage == "render" and done == total:
            store.put(MANIFEST_KEY, theirs, "application/json", SHORT_LIVED)

    with pytest.raises(StorageError, match="another publisher"):
        publish(cards, bundle, s3_store, another_publisher_writes_first)
    after = {p: p.read_bytes() for p in sorted(bundle.rglob("*")) if p.is_file()}
    assert after == before
    assert store.get(MANIFEST_KEY) == theirs
    assert len([k for k in store.list() if k.startswith("manifests/")]) == 1


def test_an_object_pruned_during_the_run_stops_the_manifest(cards, tmp_path, s3_store):
    publish(cards, tmp_path / "b", s3_store)
    store = S3Storage(*s3_store)
    old_manifest = store.get(MANIFEST_KEY)
    kept = json.loads(old_manifest)["photos"][0]["renditions"][0]["key"]
    changed = cards / "card-a/DCIM/100CANON/IMG_5105.JPG"
    with Image.open(changed) as img:
        exif = img.info["exif"]
        img.rotate(2, resample=Image.Resampling.BICUBIC).save(changed, quality=90, exif=exif)

    def a_prune_takes_a_reused_object(stage: str, done: int, total: int) -> None:
        if stage == "render" and done == total:
            store.delete([kept])

    with pytest.raises(StorageError, match="1 objects left the store during this run"):
        publish(cards, tmp_path / "b", s3_store, a_prune_takes_a_reused_object)
    assert store.get(MANIFEST_KEY) == old_manifest
    again = publish(cards, tmp_path / "b", s3_store)
    assert again.manifest_changed and not verify(store).problems


def test_a_damaged_copy_no_manifest_vouches_for_is_replaced(cards, tmp_path, s3_store):
    """A young object at a key this run renders (left by someone else) is reused only when it is
    the size of what was rendered."""
    first = publish(cards, tmp_path / "b", s3_store)
    store = S3Storage(*s3_store)
    manifest = json.loads(store.get(MANIFEST_KEY))
    rendition = manifest["photos"][0]["renditions"][0]
    store.put(rendition["key"], b"short", rendition["content_type"], "no-cache")
    store.put(MANIFEST_KEY, b'{"photos": []}', "application/json", SHORT_LIVED)  # vouches for none
    again = publish(cards, tmp_path / "b2", s3_store)
    assert again.rendered == first.rendered
    assert (again.uploaded, again.reused, again.repaired) == (1, 59, 1)
    assert not verify(store).problems
