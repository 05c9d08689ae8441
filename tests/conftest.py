"""Shared fixtures: the bundled sample cards and a real S3 server (Ceph RGW) over HTTP."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path

import pytest
from s3server import S3Server, ensure_s3_server, fresh_bucket

from gallerypipe.storage import StoreOptions

REPO = Path(__file__).resolve().parent.parent
SAMPLE_PHOTOS = REPO / "sample_photos"
# The S3 server scripts/test.sh (or ensure_s3_server) starts outlives the tests on purpose.
SERVERS = {"radosgw", "ceph-mon", "ceph-osd"}
# multiprocessing's own helpers, which exit with the pytest process that started them
STDLIB_HELPERS = (b"multiprocessing.resource_tracker", b"multiprocessing.forkserver")
SESSION_MARK = f"GALLERYPIPE_TEST_SESSION={uuid.uuid4().hex}"


@pytest.fixture(scope="session", autouse=True)
def no_process_left_behind():
    """Fail the session if a process a test started is still alive at the end: a subprocess
    (it inherits SESSION_MARK in its environment) or a fork of pytest (a pool worker)."""
    name, _, value = SESSION_MARK.partition("=")
    os.environ[name] = value
    before = set(_pids())
    yield
    deadline = time.monotonic() + 5  # a process killed just now may take a moment to go
    while (left := _ours(before)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, "processes started by the tests are still running:\n" + "\n".join(left)


def _pids() -> list[int]:
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def _ours(before: set[int]) -> list[str]:
    """Live processes (not zombies) started during the session by it: marked, or forked."""
    me = os.getpid()
    own = (_read(me, "cmdline"), os.getcwd())
    found = []
    for pid in set(_pids()) - before - {me}:
        try:
            stat = _read(pid, "stat").decode()
            comm = stat[stat.index("(") + 1 : stat.rindex(")")]
            if stat[stat.rindex(")") + 2] == "Z" or comm in SERVERS:
                continue
            marked = SESSION_MARK.encode() in _read(pid, "environ").split(b"\0")
            cmdline = _read(pid, "cmdline")
            forked = (cmdline, os.readlink(f"/proc/{pid}/cwd")) == own
        except (OSError, ValueError):
            continue  # gone meanwhile, or not ours to read
        if (marked or forked) and not any(h in cmdline for h in STDLIB_HELPERS):
            found.append(f"  {pid} {cmdline.replace(bytes(1), b' ').decode(errors='replace')}")
    return found


def _read(pid: int, name: str) -> bytes:
    return Path(f"/proc/{pid}/{name}").read_bytes()


@pytest.fixture
def cards(tmp_path: Path) -> Path:
    """A private copy of the sample cards, so a test may add or break files."""
    copy = tmp_path / "cards"
    shutil.copytree(SAMPLE_PHOTOS, copy)
    return copy


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> S3Server:
    return ensure_s3_server(tmp_path_factory.mktemp("s3"))


@pytest.fixture
def s3_store(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> tuple[str, StoreOptions]:
    """A fresh bucket's URL and the options to reach it; credentials via the AWS chain (env)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.secret_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", s3.region)
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    bucket = fresh_bucket(s3, "gp")
    return f"s3://{bucket}/events/spark", StoreOptions(
        endpoint_url=s3.endpoint_url, path_style=True
    )
