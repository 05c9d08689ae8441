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
