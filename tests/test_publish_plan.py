"""What a publish uploads or reuses, and how the manifest it replaces is kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gallerypipe.cli import main
from gallerypipe.manifest import MANIFEST_KEY
from gallerypipe.pipeline import IngestOptions, ingest
from gallerypipe.publish import (
    PublishPlan,
    archive_key,
    plan_publish,
    publish_manifest,
    read_previous,
    verify,
)
from gallerypipe.renditions import RenderSettings
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


def test_a_store_object_of_the_wrong_size_is_in_the_plan_and_the_dry_run_lists_it(
    cards: Path, tmp_path: Path
) -> None:
    """The plan is the truth: an object the manifest names but the store holds at another size
    is planned as an upload (not found out after rendering); --dry-run lists exactly that plan,
    and the real run carries it out as planned."""
    store = tmp_path / "s"
    args = [
        "ingest", str(cards), "--bundle", str(tmp_path / "b"), "--store", str(store),
        "--sizes", "320", "--no-cache", "--jobs", "2",
    ]  # fmt: skip
    assert CliRunner().invoke(main, args).exit_code == 0
    manifest = json.loads((store / MANIFEST_KEY).read_text())
    damaged = manifest["photos"][3]["renditions"][1]["key"]
    (store / damaged).write_bytes(b"short")

    dry = CliRunner().invoke(main, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    listed = [line for line in dry.stdout.splitlines() if "would upload" in line]
    assert listed == [f"  would upload {damaged}"]
    assert "renditions: 1 to upload, 19 already in the store" in dry.stdout
    assert (store / damaged).read_bytes() == b"short", "a dry run writes nothing"

    options = IngestOptions(
        (cards,), tmp_path / "b", str(store), jobs=2, cache=None,
        render=RenderSettings(sizes=(320,)),
    )  # fmt: skip
    report = ingest(options)
    assert (report.plan.upload, len(report.plan.reuse)) == ((damaged,), 19)
    assert (report.uploaded, report.reused, report.rendered) == (1, 19, 1)
    assert not verify(LocalStorage(store)).problems

    # As a run killed before its manifest leaves them: objects no manifest vouches for, one
    # damaged. Nothing can check them before rendering, so every one is planned as an upload.
    (store / damaged).write_bytes(b"short")
    (store / MANIFEST_KEY).unlink()
    dry = CliRunner().invoke(main, [*args, "--dry-run"])
    listed = [line.removeprefix("  would upload ") for line in dry.stdout.splitlines()]
    assert damaged in listed and "renditions: 20 to upload, 0 already in the store" in dry.stdout
    report = ingest(options)
    assert (report.uploaded, report.reused, report.plan.reuse) == (20, 0, ())
    assert not verify(LocalStorage(store)).problems
