"""Shared fixtures: the bundled sample cards and a real S3 server (Ceph RGW) over HTTP."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from s3server import S3Server, ensure_s3_server, fresh_bucket

from gallerypipe.storage import StoreOptions

REPO = Path(__file__).resolve().parent.parent
SAMPLE_PHOTOS = REPO / "sample_photos"


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
