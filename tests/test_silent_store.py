"""An S3 endpoint that accepts connections and never answers: the run fails within minutes, in
one line, instead of waiting out botocore's retries once per object."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from gallerypipe import s3, s3crt
from gallerypipe.cli import main
from gallerypipe.s3 import S3Storage
from gallerypipe.storage import StorageError, StoreOptions


@pytest.fixture
def silent() -> Iterator[str]:
    """The endpoint URL of a socket the kernel accepts connections on, and nobody reads."""
    with socket.create_server(("127.0.0.1", 0), backlog=64) as server:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


@pytest.fixture
def quick_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real figures scaled down (the real ones: see test_the_real_figures_...)."""
    monkeypatch.setattr(s3, "READ_TIMEOUT_S", 0.3)
    monkeypatch.setattr(s3, "CONNECT_TIMEOUT_S", 0.3)
    monkeypatch.setattr(s3, "MAX_ATTEMPTS", 2)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDSILENT")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "never-answered")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def test_the_real_figures_give_up_within_two_minutes() -> None:
    assert s3.worst_case_seconds() <= 120
    assert s3crt.deadline(1024 * 1024) <= 120  # a 2048 px rendition through the CRT


def test_verify_against_a_silent_endpoint_is_one_line(silent, quick_timeouts) -> None:
    started = time.monotonic()
    result = CliRunner().invoke(
        main, ["verify", "--store", "s3://silent-bucket/events", "--endpoint-url", silent,
               "--path-style"],
    )  # fmt: skip
    assert time.monotonic() - started < 10
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "did not answer" in result.stderr and silent in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_after_one_timeout_every_request_fails_at_once(silent, quick_timeouts) -> None:
    store = S3Storage("s3://silent-bucket/p", StoreOptions(endpoint_url=silent, path_style=True))
    with pytest.raises(StorageError, match="did not answer"):
        store.list()
    started = time.monotonic()
    for call in (lambda: store.get("renditions/a.jpg"), lambda: store.etag("manifest.json")):
        with pytest.raises(StorageError, match="did not answer"):
            call()
    assert time.monotonic() - started < 0.5
