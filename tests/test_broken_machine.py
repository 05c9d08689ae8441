"""A machine that says no: unwritable folders, full disks, read-only mounts, no home, names too
long, clocks at the end of the calendar. Each ends in one line naming the path and the reason,
exit 1, no traceback and no temporary file; the analysis cache only warns."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gallerypipe.clock import parse_offsets
from gallerypipe.metadata import ordering_time, parse_exif_time
from gallerypipe.pipeline import IngestOptions, ingest
from gallerypipe.renditions import RenderSettings

# Root without the capabilities that bypass file permissions: a file's mode applies to it as to
# any user (a non-root user could not run the interpreter, which lives under /root here).
NO_CAPS = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner"]


def gallerypipe(*args: str, env: dict | None = None, prefix: list[str] | None = None):
    return subprocess.run(
        [*(prefix or []), sys.executable, "-m", "gallerypipe", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


@pytest.fixture
def phone(cards: Path) -> Path:
    """Three photos: small and quick."""
    return cards / "phone"


def ingest_args(source: Path, bundle: Path, store: Path, *extra: str) -> list[str]:
    return [
        "ingest", str(source), "--bundle", str(bundle), "--store", str(store), "--sizes", "320",
        "--jobs", "1", "--no-cache", *extra,
    ]  # fmt: skip


def assert_one_line_error(result, *wanted: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    for text in wanted:
        assert text in errors[0], errors[0]


def no_temporary_files(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in root.rglob(".tmp-*")]


@pytest.fixture
def drop_caps() -> list[str]:
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to run without the permission-bypassing capabilities")
    return NO_CAPS


def test_an_unwritable_bundle_folder_is_one_line(phone, tmp_path, drop_caps) -> None:
    bundle = tmp_path / "bundle"
    (bundle / "gallery").mkdir(parents=True)
    (bundle / "gallery").chmod(0o555)
    result = gallerypipe(*ingest_args(phone, bundle, tmp_path / "store"), prefix=drop_caps)
    assert_one_line_error(result, f"{bundle / 'gallery'}", "Permission denied")
    assert not no_temporary_files(bundle, tmp_path / "store")


def test_a_home_that_cannot_hold_the_cache_only_warns(phone, tmp_path, drop_caps) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o555)
    args = ingest_args(phone, tmp_path / "b", tmp_path / "s")
    args.remove("--no-cache")
    result = gallerypipe(*args, env={"HOME": str(home), "XDG_CACHE_HOME": ""}, prefix=drop_caps)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "analysis cache" in line]
    assert len(warnings) == 1 and str(home) in warnings[0] and "without it" in warnings[0]
    assert "published 3" in result.stdout


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 32 KiB tmpfs: room for a few small files, not a gallery."""
    where = tmp_path / "disk"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=32k", "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


def test_a_full_disk_under_the_bundle_is_one_line(phone, tmp_path, small_disk) -> None:
    bundle = small_disk / "bundle"
    result = gallerypipe(*ingest_args(phone, bundle, tmp_path / "store"))
    assert_one_line_error(result, str(bundle), "No space left on device")
    assert not no_temporary_files(small_disk)


def test_a_full_disk_under_a_local_store_is_one_line(phone, tmp_path, small_disk) -> None:
    store = small_disk / "store"
    result = gallerypipe(*ingest_args(phone, tmp_path / "bundle", store))
    assert_one_line_error(result, str(store), "No space left on device")
    assert not no_temporary_files(small_disk)
    assert not (small_disk / "store/manifest.json").exists(), "no manifest for a partial publish"


def test_a_full_tmpdir_is_one_line(phone, tmp_path, small_disk) -> None:
    result = gallerypipe(
        *ingest_args(phone, tmp_path / "b", tmp_path / "s"), env={"TMPDIR": str(small_disk)}
    )
    assert_one_line_error(result, str(small_disk), "No space left on device")
    assert not list(small_disk.iterdir()), "the staging folder was left behind"


def test_a_read_only_bundle_is_one_line(phone, tmp_path) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    bound = subprocess.run(["mount", "--bind", "-o", "ro", str(bundle), str(bundle)])
    if bound.returncode != 0:
        pytest.skip("cannot bind-mount read-only here")
    try:
        result = gallerypipe(*ingest_args(phone, bundle, tmp_path / "store"))
    finally:
        subprocess.run(["umount", str(bundle)], check=True)
    assert_one_line_error(result, str(bundle), "Read-only file system")


def test_a_bundle_name_too_long_is_one_line(phone, tmp_path) -> None:
    bundle = tmp_path / ("x" * 300)
    result = gallerypipe(*ingest_args(phone, bundle, tmp_path / "store"))
    assert_one_line_error(result, "x" * 300, "file name too long")


def test_a_store_folder_name_too_long_is_one_line(phone, tmp_path) -> None:
    result = gallerypipe(*ingest_args(phone, tmp_path / "b", tmp_path / ("s" * 300)))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "s" * 300 in result.stderr


def test_year_9999_with_a_clock_offset_and_an_mtime_after_2262(phone, tmp_path) -> None:
    """The calendar's end is held, not overflowed; the cache stores the far-future mtime."""
    import piexif

    photo = next(phone.glob("*.jpg"))
    exif = piexif.load(str(photo))
    exif["Exif"][piexif.ExifIFD.DateTimeOriginal] = b"9999:12:31 23:59:59"
    piexif.insert(piexif.dump(exif), str(photo))
    late = next(p for p in phone.glob("*.jpg") if p != photo)
    os.utime(late, ns=(2**63 + 10**18, 2**63 + 10**18))  # about 2324
    options = IngestOptions(
        (phone,),
        tmp_path / "b",
        str(tmp_path / "s"),
        jobs=1,
        cache=tmp_path / "cache.sqlite",
        render=RenderSettings(sizes=(320,)),
        clock_offsets=parse_offsets(["phone=+3600"]),
    )
    report = ingest(options)
    again = ingest(options)
    assert report.photos == 3 and again.analysed == 0, "the second run found every photo cached"


def test_an_impossible_offset_drops_only_the_offset() -> None:
    taken = parse_exif_time("2018:06:14 09:30:05", None, "+99:99")
    assert taken == datetime(2018, 6, 14, 9, 30, 5) and taken.tzinfo is None


def test_an_mtime_past_the_calendar_orders_last() -> None:
    taken, from_file = ordering_time(None, 1e13, UTC)
    assert from_file and taken.year == 9999
