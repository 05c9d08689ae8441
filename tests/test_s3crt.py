"""Renditions PUT through the CRT: same headers as boto3, and the server still checks the bytes."""

from __future__ import annotations

import base64
import hashlib
import os
import socket

import botocore.exceptions
import pytest

from gallerypipe import s3 as s3_module
from gallerypipe import s3crt
from gallerypipe.s3 import S3Storage
from gallerypipe.storage import IMMUTABLE, StorageError, StoreOptions


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def putter(store: S3Storage) -> s3crt.CrtPutter:
    return s3crt.CrtPutter(
        store.client,
        store.session.get_credentials(),
        store.bucket,
        store.options.transfers,
        s3crt.ca_file(store.session),
    )


@pytest.mark.parametrize("size", [3000, 12 * 1024 * 1024])  # above the CRT's own 8 MiB parts
def test_a_store_put_goes_through_the_crt_with_boto3s_headers(s3_store, size: int) -> None:
    store = S3Storage(*s3_store)
    data = os.urandom(size)
    etag = store.put("renditions/a b+c.jpg", data, "image/jpeg", IMMUTABLE)
    assert store._fast is not None and store._fast.puts == 1
    assert etag == hashlib.md5(data).hexdigest()  # one PUT, not a multipart upload
    head = store.client.head_object(Bucket=store.bucket, Key=f"{store.prefix}/renditions/a b+c.jpg")
    assert head["ContentType"] == "image/jpeg" and head["CacheControl"] == IMMUTABLE
    assert head["Metadata"] == {"sha256": hashlib.sha256(data).hexdigest()}
    assert store.get("renditions/a b+c.jpg") == data


@pytest.mark.parametrize(
    ("bad_md5", "bad_sha256", "codes"),
    [
        (True, False, {"BadDigest", "InvalidDigest"}),
        (False, True, {"XAmzContentSHA256Mismatch", "BadDigest", "SignatureDoesNotMatch"}),
    ],
)
def test_the_server_refuses_bytes_that_do_not_match_what_was_signed(
    s3_store, bad_md5: bool, bad_sha256: bool, codes: set[str]
) -> None:
    store = S3Storage(*s3_store)
    data, other = os.urandom(2000), os.urandom(2000)
    headers = {"Content-Type": "image/jpeg", "Content-MD5": md5_b64(other if bad_md5 else data)}
    sha256 = hashlib.sha256(other if bad_sha256 else data).hexdigest()
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        putter(store).put(f"{store.prefix}/renditions/x.jpg", data, headers, sha256)
    assert caught.value.response["Error"]["Code"] in codes
    assert store.etag("renditions/x.jpg") is None


def test_a_wrong_secret_is_refused_clearly_through_the_crt(s3_store, monkeypatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret-0123456789")
    store = S3Storage(*s3_store)
    with pytest.raises(StorageError, match="refused our credentials") as caught:
        store.put("renditions/y.jpg", b"\xff\xd8data\xff\xd9", "image/jpeg", IMMUTABLE)
    assert "not-the-secret" not in str(caught.value)
    assert store._fast is not None and store._fast.puts >= 1


def test_aws_or_a_proxy_leave_everything_to_boto3(s3_store, monkeypatch) -> None:
    store = S3Storage(*s3_store)
    endpoint = store.options.endpoint_url
    assert s3crt.usable(endpoint, store.client)
    assert s3crt.usable(endpoint.replace("http://", "https://"), store.client)
    assert not s3crt.usable(None, store.client)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    assert not s3crt.usable(endpoint, store.client)


def test_a_server_that_never_answers_is_a_timeout_not_a_hang(monkeypatch) -> None:
    """The CRT's S3 client has no timeout of its own: a stalled PUT must still end."""
    monkeypatch.setattr(s3crt, "STALL_SECONDS", 0.1)
    monkeypatch.setattr(s3_module, "OBJECT_ATTEMPTS", 1)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDSTALLED")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "never-sent-anywhere-that-answers")
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        store = S3Storage("s3://stalled/p", StoreOptions(endpoint_url=endpoint, path_style=True))
        with pytest.raises(StorageError, match="Read timeout") as stalled:
            store.put("renditions/a.jpg", b"\xff\xd8data\xff\xd9", "image/jpeg", IMMUTABLE)
    assert isinstance(stalled.value.__cause__, botocore.exceptions.ReadTimeoutError)
    assert store._fast is not None and store._fast.puts == 1
