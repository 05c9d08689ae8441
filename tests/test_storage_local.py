"""storage: safe object keys and the local folder store (atomic, conditional writes)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from photos import encode_jpeg, real_photo

from gallerypipe.s3 import parse_s3_url
from gallerypipe.storage import (
    IMMUTABLE,
    SHORT_LIVED,
    LocalStorage,
    PreconditionFailed,
    StorageError,
    open_store,
    safe_key,
)


@pytest.fixture(scope="module")
def jpeg() -> bytes:
    return encode_jpeg(real_photo("kleiber", 480), quality=80)


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith((".tmp-", ".gp-"))]


@pytest.mark.parametrize(
    "key",
    [
        "../x",
        "..",
        "/abs",
        "/etc/passwd",
        "a/../../b",
        "a/../b",  # stays inside, but is not in its plain form
        "a/./b",
        "./a",
        "a//b",
        "a/",
        "",
        "renditions\\..\\..\\x.jpg",
        "a\\b",
        "a\x00b",
    ],
)
def test_safe_key_refuses_keys_that_could_escape(key):
    with pytest.raises(StorageError, match="refused object key"):
        safe_key(key)


def test_safe_key_refuses_the_prefix_itself():
    with pytest.raises(StorageError):
        safe_key(".")


@pytest.mark.parametrize(
    "key", ["manifest.json", "renditions/0123456789abcdef-a1b2c3d4e5-2048.jpg", "a/b/c.txt", "x..y"]
)
def test_safe_key_accepts_plain_keys(key):
    assert safe_key(key) == key


@pytest.mark.parametrize(
    "url",
    [
        "s3://bucket/a/b/../../..",
        "s3://bucket/events/../other",
        "s3://bucket/..",
        "s3://bucket/./events",
        "s3://bucket/a//b",
        "s3://bucket//events",
        "s3://bucket/events\\spark",
        "s3://bucket/events/sp\x00ark",
    ],
)
def test_s3_url_refuses_a_prefix_that_is_not_plain(url):
    with pytest.raises(StorageError, match="refused prefix"):
        parse_s3_url(url)


@pytest.mark.parametrize(
    ("url", "parsed"),
    [
        ("s3://bucket", ("bucket", "")),
        ("s3://bucket/", ("bucket", "")),
        ("s3://bucket/events/spark-2018/", ("bucket", "events/spark-2018")),
        ("s3://bucket/x..y", ("bucket", "x..y")),
    ],
)
def test_s3_url_accepts_plain_prefixes(url, parsed):
    assert parse_s3_url(url) == parsed


def test_round_trip(tmp_path, jpeg):
    store = LocalStorage(tmp_path / "published")
    key = "renditions/0123456789abcdef-2048.jpg"
    etag = store.put(key, jpeg, "image/jpeg", IMMUTABLE)
    assert store.get(key) == jpeg
    assert (tmp_path / "published" / key).read_bytes() == jpeg
    assert etag == hashlib.md5(jpeg).hexdigest()  # as S3 for a single-part upload
    assert store.etag(key) == etag
    store.put("manifest.json", b'{"photos": []}', "application/json", SHORT_LIVED)
    listed = store.list()
    assert sorted(listed) == ["manifest.json", key]
    assert listed[key].size == len(jpeg)
    assert listed[key].key == key
    store.delete([key])
    assert sorted(store.list()) == ["manifest.json"]
    assert store.etag(key) is None
    with pytest.raises(StorageError, match="not in the store"):
        store.get(key)
    store.delete([key])  # deleting what is gone is fine


def test_overwrite_replaces_the_whole_object(tmp_path, jpeg):
    store = LocalStorage(tmp_path)
    store.put("a.jpg", jpeg, "image/jpeg", IMMUTABLE)
    store.put("a.jpg", jpeg[:100], "image/jpeg", IMMUTABLE)
    assert store.get("a.jpg") == jpeg[:100]


def test_empty_store_lists_nothing(tmp_path):
    assert LocalStorage(tmp_path / "never-written").list() == {}


def test_store_refuses_unsafe_keys_before_touching_disk(tmp_path, jpeg):
    store = LocalStorage(tmp_path / "store")
    for key in ("../outside.jpg", "/tmp/outside.jpg", "a/../../outside.jpg"):
        with pytest.raises(StorageError):
            store.put(key, jpeg, "image/jpeg", IMMUTABLE)
        with pytest.raises(StorageError):
            store.get(key)
        with pytest.raises(StorageError):
            store.delete([key])
    assert not (tmp_path / "outside.jpg").exists()
    assert not (tmp_path / "store").exists()


def test_writes_leave_no_temporary_files(tmp_path, jpeg):
    store = LocalStorage(tmp_path)
    for i in range(5):
        store.put(f"renditions/{i}.jpg", jpeg, "image/jpeg", IMMUTABLE)
    store.put("manifest.json", b"{}", "application/json", SHORT_LIVED, if_none_match=True)
    assert leftovers(tmp_path) == []
    assert len(store.list()) == 6


def test_a_failed_write_keeps_the_old_object_and_no_temporary_file(tmp_path, jpeg):
    store = LocalStorage(tmp_path)
    store.put("a.jpg", jpeg, "image/jpeg", IMMUTABLE)
    with pytest.raises(TypeError):
        store.put("a.jpg", "not bytes", "image/jpeg", IMMUTABLE)  # fails inside the write
    assert store.get("a.jpg") == jpeg
    assert leftovers(tmp_path) == []


def test_unwritable_key_is_a_storage_error(tmp_path, jpeg):
    store = LocalStorage(tmp_path)
    store.put("renditions", b"a file where a folder is needed", "text/plain", SHORT_LIVED)
    with pytest.raises(StorageError, match=r"renditions/x\.jpg"):
        store.put("renditions/x.jpg", jpeg, "image/jpeg", IMMUTABLE)
    assert leftovers(tmp_path) == []


def test_listing_skips_a_crashed_writers_temporary_file(tmp_path, jpeg):
    store = LocalStorage(tmp_path)
    store.put("renditions/a.jpg", jpeg, "image/jpeg", IMMUTABLE)
    (tmp_path / "renditions" / ".tmp-k2j4h_x").write_bytes(jpeg[:1000])
    assert sorted(store.list()) == ["renditions/a.jpg"]


def test_if_match_with_the_current_etag_succeeds(tmp_path):
    store = LocalStorage(tmp_path)
    first = store.put("manifest.json", b'{"v": 1}', "application/json", SHORT_LIVED)
    second = store.put(
        "manifest.json", b'{"v": 2}', "application/json", SHORT_LIVED, if_match=first
    )
    assert store.get("manifest.json") == b'{"v": 2}'
    assert second != first


def test_if_match_with_a_stale_etag_fails_and_keeps_the_object(tmp_path):
    store = LocalStorage(tmp_path)
    read_at_start = store.put("manifest.json", b'{"v": 1}', "application/json", SHORT_LIVED)
    store.put("manifest.json", b'{"v": 2}', "application/json", SHORT_LIVED)  # another run
    with pytest.raises(PreconditionFailed):
        store.put(
            "manifest.json", b'{"v": 3}', "application/json", SHORT_LIVED, if_match=read_at_start
        )
    assert store.get("manifest.json") == b'{"v": 2}'
    assert leftovers(tmp_path) == []


def test_if_match_on_a_missing_object_fails(tmp_path):
    store = LocalStorage(tmp_path)
    with pytest.raises(PreconditionFailed):
        store.put("manifest.json", b"{}", "application/json", SHORT_LIVED, if_match="0" * 32)
    assert store.list() == {}


def test_if_none_match_creates_once(tmp_path):
    store = LocalStorage(tmp_path)
    store.put("manifest.json", b'{"v": 1}', "application/json", SHORT_LIVED, if_none_match=True)
    with pytest.raises(PreconditionFailed):
        store.put("manifest.json", b'{"v": 2}', "application/json", SHORT_LIVED, if_none_match=True)
    assert store.get("manifest.json") == b'{"v": 1}'


def test_precondition_failed_is_a_storage_error():
    assert issubclass(PreconditionFailed, StorageError)


def test_open_store_gives_a_local_folder(tmp_path):
    for url in (str(tmp_path / "site"), f"file://{tmp_path / 'site'}"):
        store = open_store(url)
        assert isinstance(store, LocalStorage)
        assert store.root == tmp_path / "site"
        assert store.url == str(tmp_path / "site")
