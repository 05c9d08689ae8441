"""prune and verify on the local folder store, through the command line as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from events import put_event

from gallerypipe.publish import archive_key, plan_prune, publish_manifest, read_previous
from gallerypipe.storage import SHORT_LIVED, LocalStorage, StorageError

HOUR_AGO = time.time() - 7200


def cli(*args: str | Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gallerypipe", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def make_event(root: Path, objects: dict[str, bytes]) -> LocalStorage:
    """A published event in a local folder store."""
    store = LocalStorage(root)
    put_event(store, objects)
    return store


def age(root: Path, key: str) -> None:
    os.utime(root / key, (HOUR_AGO, HOUR_AGO))


@pytest.fixture
def events(tmp_path: Path) -> Path:
    """Two events under one parent folder, as sync lays them out, each with an old orphan."""
    parent = tmp_path / "events"
    for name in ("spark", "gala"):
        make_event(parent / name, {"renditions/a.jpg": b"a" * 10, "renditions/b.jpg": b"b" * 20})
        (parent / name / "renditions/orphan.jpg").write_bytes(b"old")
        age(parent / name, "renditions/orphan.jpg")
    return parent


def files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_prune_on_a_parent_prefix_refuses_and_deletes_nothing(events: Path) -> None:
    before = files(events)
    with pytest.raises(StorageError, match=r"no manifest\.json at this prefix"):
        plan_prune(LocalStorage(events), min_age=0)
    result = cli("prune", "--store", events, "--yes", "--min-age", "0")
    assert result.returncode == 1
    assert "nothing was deleted" in result.stderr
    assert f"spark/manifest.json exists: did you mean {events}/spark?" in result.stderr
    assert f"did you mean {events}/gala?" in result.stderr
    assert "Traceback" not in result.stderr
    assert files(events) == before


@pytest.mark.parametrize(
    ("manifest", "reason"),
    [
        (b"<html>502 Bad Gateway</html>", "not valid JSON"),
        (b"{}", "no list of photos"),
        (b"[]", "no list of photos"),
        (b'{"photos": [{"id": "p1"}]}', "a photo without a list of renditions"),
        (b'{"photos": [{"renditions": [{"bytes": 3}]}]}', "a rendition without a key"),
    ],
)
def test_prune_refuses_a_manifest_it_cannot_read(events: Path, manifest, reason) -> None:
    spark = events / "spark"
    (spark / "manifest.json").write_bytes(manifest)
    before = files(spark)
    result = cli("prune", "--store", spark, "--yes", "--min-age", "0")
    assert result.returncode == 1
    assert f"manifest.json is not a gallerypipe manifest ({reason}" in result.stderr
    assert "nothing was deleted" in result.stderr and "Traceback" not in result.stderr
    assert files(spark) == before


def test_prune_refuses_an_unreadable_archived_manifest(events: Path) -> None:
    spark = LocalStorage(events / "spark")
    spark.put("manifests/20240101T000000000000Z.json", b"{", "application/json", SHORT_LIVED)
    with pytest.raises(StorageError, match=r"manifests/20240101T000000000000Z.json .*not valid"):
        plan_prune(spark, min_age=0)
    assert plan_prune(spark, keep_manifests=0, min_age=0).delete == (
        "manifests/20240101T000000000000Z.json",
        "renditions/orphan.jpg",
    )


def test_prune_deletes_only_what_gallerypipe_writes_at_the_prefix(events: Path) -> None:
    """An event nested below, or a Hugo bundle used as the store, is not prune's to delete."""
    spark = events / "spark"
    nested = make_event(spark / "2019", {"renditions/c.jpg": b"c" * 5})
    (spark / "index.md").write_text("---\ntitle: Spark\n---\n")
    for key in ("2019/manifest.json", "2019/renditions/c.jpg", "index.md"):
        age(spark, key)
    plan = plan_prune(LocalStorage(spark), min_age=0)
    assert plan.delete == ("renditions/orphan.jpg",)
    assert plan.foreign == 3
    done = cli("prune", "--store", spark, "--yes", "--min-age", "0")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].endswith(
        ", 3 not written by gallerypipe at this prefix (kept)"
    )
    assert sorted(nested.list()) == ["manifest.json", "renditions/c.jpg"]
    assert (spark / "index.md").exists()


def test_the_newest_archives_are_the_last_written_whatever_their_names(events: Path) -> None:
    spark = LocalStorage(events / "spark")
    manifest = spark.get("manifest.json")
    older_name = "manifests/20990101T000000000000Z.json"  # the old naming, a clock far ahead
    spark.put(older_name, manifest, "application/json", SHORT_LIVED)
    age(events / "spark", older_name)
    spark.put("manifests/20240101T000000Z-0123456789ab.json", manifest, "application/json", "x")
    plan = plan_prune(spark, keep_manifests=1, min_age=0)
    assert plan.manifests_kept == ("manifest.json", "manifests/20240101T000000Z-0123456789ab.json")
    assert older_name in plan.delete


def test_a_replaced_unreadable_manifest_is_kept_but_does_not_block_prune(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "store")
    store.put("manifest.json", b"<html>502</html>", "application/json", SHORT_LIVED)
    previous = read_previous(store, store.list())
    assert publish_manifest(store, b'{"photos": []}', previous)
    archived = archive_key(previous)
    assert archived.endswith(".unreadable")
    assert store.get(archived) == b"<html>502</html>"
    plan = plan_prune(store, min_age=0)  # it does not refuse: the archive is not read
    assert plan.manifests_kept == ("manifest.json",)
    assert plan.delete == (archived,)  # unreferenced, so prune may take it once it is old


def test_prune_summary_separates_what_it_deletes_from_what_it_keeps(events: Path) -> None:
    spark = events / "spark"
    (spark / "renditions/uploading.jpg").write_bytes(b"new")  # young: a publish under way
    dry = cli("prune", "--store", spark, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [
        "would delete renditions/orphan.jpg",
        "prune: 1 to delete, 3 referenced, 1 unreferenced but younger than --min-age (kept); "
        "dry run: add --yes to delete",
    ]
    as_json = json.loads(cli("prune", "--store", spark, "--json").stdout)
    assert as_json["delete"] == ["renditions/orphan.jpg"]
    assert (as_json["keep"], as_json["referenced"], as_json["too_recent"]) == (4, 3, 1)
    assert (as_json["deleted"], as_json["dry_run"]) == ([], True)
    assert (spark / "renditions/orphan.jpg").exists()
    done = cli("prune", "--store", spark, "--yes")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == (
        "prune: deleted 1, 3 referenced, 1 unreferenced but younger than --min-age (kept)"
    )
    assert files(spark) == [
        "manifest.json",
        "renditions/a.jpg",
        "renditions/b.jpg",
        "renditions/uploading.jpg",
    ]


def test_prune_dry_run_and_yes_together_is_a_usage_error(events: Path) -> None:
    before = files(events)
    result = cli("prune", "--store", events / "spark", "--dry-run", "--yes", "--min-age", "0")
    assert result.returncode == 2
    assert "--dry-run and --yes contradict each other" in result.stderr
    assert files(events) == before


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["--store", "s3://"], "s3://: no bucket in the store URL", 2),
        (["--store", "s3://bkt/events/../.."], "s3://bkt/events/../..: refused prefix", 2),
        (["--store", "s3://../victim/events"], "refused bucket '..'", 2),
        (["--store", "s3://Bad_Bucket/x"], "refused bucket 'Bad_Bucket'", 2),
        (["--store", "s3://bkt/x", "--profile", "nosuch"], "(nosuch) could not be found", 1),
    ],
)
@pytest.mark.parametrize("command", ["prune", "verify"])
def test_a_bad_store_is_one_line_not_a_traceback(tmp_path, command, args, message, code) -> None:
    """A store URL S3 would refuse is a usage error (exit 2) before any request."""
    config = tmp_path / "aws-config"
    config.write_text("[default]\nregion = us-east-1\n")
    env = {**os.environ, "AWS_CONFIG_FILE": str(config)}
    env.pop("AWS_PROFILE", None)
    result = cli(command, *args, env=env)
    assert result.returncode == code
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith(("error:", "Error:"))]
    assert len(errors) == 1 and message in errors[0]


def test_verify_says_how_much_it_checked(events: Path) -> None:
    spark = events / "spark"
    ok = cli("verify", "--store", spark)
    assert (ok.returncode, ok.stdout) == (0, "verify: 2 objects checked, all match\n")
    (spark / "renditions/b.jpg").write_bytes(b"c" * 20)
    bad = cli("verify", "--store", spark)
    assert bad.returncode == 1
    assert bad.stdout.splitlines() == [
        "renditions/b.jpg: content differs from the manifest's sha256",
        "verify: 2 objects checked, 1 problem",
    ]
    as_json = json.loads(cli("verify", "--store", spark, "--json").stdout)
    assert (as_json["ok"], as_json["checked"], len(as_json["problems"])) == (False, 2, 1)


@pytest.mark.parametrize(
    ("manifest", "reason"),
    [
        ({"photos": {"p1": []}}, "manifest.json: not a gallerypipe manifest: no list of photos"),
        ({"photos": [{"renditions": [{"key": "renditions/a.jpg"}]}]}, "gives no size or sha256"),
    ],
)
def test_verify_names_a_manifest_it_cannot_use(tmp_path: Path, manifest, reason) -> None:
    store = LocalStorage(tmp_path / "store")
    store.put("renditions/a.jpg", b"", "image/jpeg", SHORT_LIVED)
    store.put("manifest.json", json.dumps(manifest).encode(), "application/json", SHORT_LIVED)
    result = cli("verify", "--store", tmp_path / "store")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert reason in result.stdout
