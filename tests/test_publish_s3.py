"""Publishing to a real S3 server (Ceph RGW on 127.0.0.1): incremental, atomic, prune, verify,
repairs, and races with another publisher or a prune."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from events import put_event
from photos import change_a_photo

from gallerypipe.manifest import MANIFEST_KEY
from gallerypipe.pipeline import IngestOptions, ingest
from gallerypipe.publish import (
    PreviousManifest,
    plan_prune,
    publish_manifest,
    read_previous,
    verify,
)
from gallerypipe.renditions import RenderSettings
from gallerypipe.s3 import MULTIPART_THRESHOLD, S3Storage
from gallerypipe.storage import SHORT_LIVED, PreconditionFailed, StorageError

# Two sizes in both formats: 4 objects a photo, 40 for the 10 photos (the default makes 100).
SMALL = RenderSettings(sizes=(640, 320), formats=("jpeg", "webp"))
SMALL_ARGS = ("--sizes", "640,320", "--formats", "jpeg,webp")


def publish(cards: Path, bundle: Path, s3_store, progress=None):
    url, options = s3_store
    return ingest(
        IngestOptions((cards,), bundle, url, store_options=options, jobs=2, render=SMALL), progress
    )


def store_cli(command: str, s3_store, *extra: str) -> subprocess.CompletedProcess:
    url, options = s3_store
    args = ["--store", url, "--endpoint-url", options.endpoint_url, "--path-style", *extra]
    return subprocess.run(
        [sys.executable, "-m", "gallerypipe", command, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_first_publish_then_a_noop_rerun(cards: Path, tmp_path: Path, s3_store) -> None:
    first = publish(cards, tmp_path / "b", s3_store)
    assert (first.uploaded, first.reused, first.manifest_changed) == (40, 0, True)
    store = S3Storage(*s3_store)
    assert not verify(store).problems
    again = publish(cards, tmp_path / "b", s3_store)
    assert (again.uploaded, again.reused, again.rendered) == (0, 40, 0)
    assert again.manifest_changed is False
    assert store_cli("verify", s3_store).returncode == 0


def test_objects_carry_type_cache_and_sha256_and_stay_private(cards, tmp_path, s3_store) -> None:
    publish(cards, tmp_path / "b", s3_store)
    store = S3Storage(*s3_store)
    manifest = json.loads(store.get(MANIFEST_KEY))
    rendition = manifest["photos"][0]["renditions"][0]
    head = store.client.head_object(Bucket=store.bucket, Key=f"{store.prefix}/{rendition['key']}")
    assert head["ContentType"] == "image/jpeg"
    assert head["CacheControl"] == "public, max-age=31536000, immutable"
    assert head["Metadata"]["sha256"] == rendition["sha256"]
    acl = store.client.get_object_acl(Bucket=store.bucket, Key=f"{store.prefix}/{rendition['key']}")
    assert all("AllUsers" not in str(g["Grantee"]) for g in acl["Grants"])
    head = store.client.head_object(Bucket=store.bucket, Key=f"{store.prefix}/{MANIFEST_KEY}")
    assert head["CacheControl"] == "public, max-age=60"
    assert "SECRET" not in json.dumps(manifest).upper()


def test_one_changed_photo_uploads_only_its_objects(cards, tmp_path, s3_store) -> None:
    publish(cards, tmp_path / "b", s3_store)
    change_a_photo(cards)
    report = publish(cards, tmp_path / "b", s3_store)
    assert (report.uploaded, report.reused, report.rendered) == (4, 36, 1)
    assert report.manifest_changed
    store = S3Storage(*s3_store)
    assert not verify(store).problems
    archived = [k for k in store.list() if k.startswith("manifests/")]
    assert len(archived) == 1  # the previous manifest, kept for rollback


def test_wrong_secret_key_is_refused_clearly(cards, tmp_path, s3_store, monkeypatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret-0123456789")
    result = store_cli("verify", s3_store)
    assert result.returncode == 1
    assert "refused our credentials" in result.stderr
    assert "not-the-secret" not in result.stderr + result.stdout
    with pytest.raises(StorageError, match=r"SignatureDoesNotMatch|InvalidAccessKeyId"):
        publish(cards, tmp_path / "b", s3_store)


def test_a_missing_bucket_is_named_before_any_work(cards, tmp_path, s3_store) -> None:
    url, options = s3_store
    missing = url.replace("s3://", "s3://no-such-", 1)
    result = store_cli("ingest", (missing, options), str(cards), "--bundle", str(tmp_path / "b"))
    assert result.returncode == 1
    assert "the bucket does not exist" in result.stderr
    assert not (tmp_path / "b").exists()


def test_a_stale_manifest_write_is_refused(cards, tmp_path, s3_store) -> None:
    publish(cards, tmp_path / "b", s3_store)
    store = S3Storage(*s3_store)
    current = store.get(MANIFEST_KEY)
    stale = PreviousManifest(current, json.loads(current), etag="0" * 32)
    with pytest.raises(StorageError, match="another publisher"):
        publish_manifest(store, current + b" ", stale)
    as_if_first = PreviousManifest(None, None, None)
    with pytest.raises(StorageError, match="another publisher"):
        publish_manifest(store, current + b" ", as_if_first)
    with pytest.raises(PreconditionFailed):
        store.put(MANIFEST_KEY, b"{}", "application/json", "no-cache", if_none_match=True)
    assert store.get(MANIFEST_KEY) == current


def test_a_manifest_update_is_one_conditional_put(cards, tmp_path, s3_store) -> None:
    publish(cards, tmp_path / "b", s3_store)
    store = S3Storage(*s3_store)
    previous = read_previous(store, store.list())
    sent = []
    store.client.meta.events.register(
        "before-send.s3.PutObject", lambda request, **_: sent.append(request)
    )
    assert publish_manifest(store, previous.raw + b" ", previous)
    manifest_puts = [r for r in sent if r.url.endswith(f"/{MANIFEST_KEY}")]
    assert [r.headers["If-Match"] for r in manifest_puts] == [previous.etag.encode()]


def test_prune_respects_dry_run_and_max_delete(cards, tmp_path, s3_store) -> None:
    publish(cards, tmp_path / "b", s3_store)
    store = S3Storage(*s3_store)
    for n in range(3):
        store.put(f"renditions/orphan-{n}.jpg", b"x" * (n + 1), "image/jpeg", "no-cache")
    dry = store_cli("prune", s3_store, "--min-age", "0", "--json")
    assert dry.returncode == 0
    plan = json.loads(dry.stdout)
    assert plan["delete"] == [f"renditions/orphan-{n}.jpg" for n in range(3)]
    assert plan["deleted"] == [] and len(store.list()) == 44
    capped = store_cli("prune", s3_store, "--min-age", "0", "--yes", "--max-delete", "2")
    assert capped.returncode == 1 and "max-delete" in capped.stderr
    assert len(store.list()) == 44
    fresh = plan_prune(store, min_age=3600)
    assert fresh.delete == () and fresh.too_recent == 3
    done = store_cli("prune", s3_store, "--min-age", "0", "--yes", "--max-delete", "3")
    assert done.returncode == 0 and len(store.list()) == 41
    assert not verify(store).problems


def test_delete_batches_carry_content_md5_and_name_what_failed(s3_store) -> None:
    store = S3Storage(s3_store[0], replace(s3_store[1], transfers=4))
    keys = [f"renditions/old-{n:02d}.jpg" for n in range(30)]
    for key in keys:
        store.put(key, key.encode(), "image/jpeg", "no-cache")
    sent = []
    store.client.meta.events.register(
        "before-send.s3.DeleteObjects", lambda request, **_: sent.append(request)
    )
    store.delete([*keys, "renditions/never-there.jpg"])  # deleting what is gone is fine
    assert store.list() == {}
    assert len(sent) == 4  # 31 keys, 4 transfers: batches of 8
    for request in sent:
        md5 = base64.b64encode(hashlib.md5(request.body).digest()).decode()
        assert request.headers["Content-MD5"].decode() == md5

    store.put("renditions/held.jpg", b"x", "image/jpeg", "no-cache")
    store.put("renditions/free.jpg", b"x", "image/jpeg", "no-cache")
    held = f"arn:aws:s3:::{store.bucket}/{store.prefix}/renditions/held.jpg"
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": held}
    store.client.put_bucket_policy(
        Bucket=store.bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny]})
    )
    refused = r"1 of 2 objects were not deleted: .*held.jpg: AccessDenied"
    with pytest.raises(StorageError, match=refused):
        store.delete(["renditions/held.jpg", "renditions/free.jpg"])
    assert sorted(store.list()) == ["renditions/held.jpg"]


def test_verify_catches_a_deleted_and_a_corrupted_object(cards, tmp_path, s3_store) -> None:
    publish(cards, tmp_path / "b", s3_store)
    store = S3Storage(*s3_store)
    keys = [
        r["key"] for p in json.loads(store.get(MANIFEST_KEY))["photos"] for r in p["renditions"]
    ]
    store.delete([keys[0]])
    original = store.get(keys[1])
    corrupted = bytearray(original)
    corrupted[len(corrupted) // 2] ^= 0xFF
    store.put(keys[1], bytes(corrupted), "image/jpeg", "no-cache")
    problems = {p.key: p.reason for p in verify(store).problems}
    assert problems == {
        keys[0]: "missing from the store",
        keys[1]: "content differs from the manifest's sha256",
    }
    assert hashlib.sha256(corrupted).hexdigest() != hashlib.sha256(original).hexdigest()
    result = store_cli("verify", s3_store)
    assert result.returncode == 1 and keys[0] in result.stdout and keys[1] in result.stdout


def test_prune_on_a_parent_prefix_refuses_and_deletes_nothing(s3_store) -> None:
    url, options = s3_store  # s3://gp-…/events/spark
    for name in ("spark", "gala"):
        event = S3Storage(url.replace("/spark", f"/{name}"), options)
        put_event(event, {"renditions/a.jpg": b"a", "renditions/b.jpg": b"b"})
        event.put("renditions/orphan.jpg", b"o", "image/jpeg", "no-cache")
    parent_url = url.removesuffix("/spark")
    parent = S3Storage(parent_url, options)
    before = parent.list()
    assert len(before) == 8
    result = store_cli("prune", (parent_url, options), "--yes", "--min-age", "0")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{parent_url}: no manifest.json at this prefix" in result.stderr
    assert "nothing was deleted" in result.stderr
    assert f"spark/manifest.json exists: did you mean {parent_url}/spark?" in result.stderr
    assert parent.list() == before


def test_prune_refuses_a_manifest_that_is_not_json(s3_store) -> None:
    store = S3Storage(*s3_store)
    put_event(store, {"renditions/a.jpg": b"a"})
    store.put("renditions/orphan.jpg", b"o", "image/jpeg", "no-cache")
    store.put(MANIFEST_KEY, b"<html>502 Bad Gateway</html>", "text/html", "no-cache")
    before = store.list()
    with pytest.raises(StorageError, match=r"not a gallerypipe manifest \(not valid JSON"):
        plan_prune(store, min_age=0)
    result = store_cli("prune", s3_store, "--yes", "--min-age", "0")
    assert result.returncode == 1 and "nothing was deleted" in result.stderr
    assert store.list() == before


def test_a_multipart_upload_round_trips(s3_store) -> None:
    store = S3Storage(*s3_store)
    part = 8 * 1024 * 1024
    data = hashlib.shake_256(b"gallerypipe").digest(17 * 1024 * 1024)
    assert len(data) > MULTIPART_THRESHOLD
    put_event(store, {"renditions/big.jpg": data})
    head = store.client.head_object(Bucket=store.bucket, Key=f"{store.prefix}/renditions/big.jpg")
    chunks = [data[i : i + part] for i in range(0, len(data), part)]
    md5s = b"".join(hashlib.md5(chunk).digest() for chunk in chunks)
    assert head["ETag"].strip('"') == f"{hashlib.md5(md5s).hexdigest()}-3"  # three parts
    assert head["Metadata"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert store.list()["renditions/big.jpg"].size == len(data)
    assert store.get("renditions/big.jpg") == data
    assert not verify(store).problems


def test_store_settings_come_from_the_environment_and_the_config_file(cards, tmp_path, s3_store):
    url, options = s3_store
    env = {
        **os.environ,
        "GALLERYPIPE_STORE": url,
        "GALLERYPIPE_ENDPOINT_URL": options.endpoint_url,
        "GALLERYPIPE_PATH_STYLE": "1",
    }
    bundle = str(tmp_path / "b")
    ingest_run = subprocess.run(
        [
            sys.executable,
            "-m",
            "gallerypipe",
            "ingest",
            str(cards),
            "--bundle",
            bundle,
            *SMALL_ARGS,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert ingest_run.returncode == 0, ingest_run.stderr
    assert f"40 uploaded, 0 already in the store ({url})" in ingest_run.stdout
    config = tmp_path / "site"
    config.mkdir()
    (config / "gallerypipe.toml").write_text(
        f'[store]\nurl = "{url}"\nendpoint_url = "{options.endpoint_url}"\npath_style = true\n'
    )
    plain = {k: v for k, v in env.items() if not k.startswith("GALLERYPIPE_")}
    checked = subprocess.run(
        [sys.executable, "-m", "gallerypipe", "verify"],
        capture_output=True,
        text=True,
        timeout=120,
        env=plain,
        cwd=config,
    )
    assert (checked.returncode, checked.stdout) == (0, "verify: 40 objects checked, all match\n")


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
    change_a_photo(cards)
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
    change_a_photo(cards)

    def a_prune_takes_a_reused_object(stage: str, done: int, total: int) -> None:
        if stage == "render" and done == total:
            store.delete([kept])

    with pytest.raises(StorageError, match="1 objects left the store during this run"):
        publish(cards, tmp_path / "b", s3_store, a_prune_takes_a_reused_object)
    assert store.get(MANIFEST_KEY) == old_manifest
    again = publish(cards, tmp_path / "b", s3_store)
    assert again.manifest_changed and not verify(store).problems


def test_a_copy_no_manifest_vouches_for_is_uploaded_again(cards, tmp_path, s3_store):
    """An object at a key this run renders that no manifest names (left by a killed run, or by
    someone else, here damaged) is in the plan's uploads: written again, whatever its size."""
    first = publish(cards, tmp_path / "b", s3_store)
    store = S3Storage(*s3_store)
    manifest = json.loads(store.get(MANIFEST_KEY))
    rendition = manifest["photos"][0]["renditions"][0]
    store.put(rendition["key"], b"short", rendition["content_type"], "no-cache")
    store.put(MANIFEST_KEY, b'{"photos": []}', "application/json", SHORT_LIVED)  # vouches for none
    again = publish(cards, tmp_path / "b2", s3_store)
    assert again.rendered == first.rendered
    assert (again.uploaded, again.reused) == (40, 0)
    assert rendition["key"] in again.plan.upload and not again.plan.reuse
    assert not verify(store).problems
