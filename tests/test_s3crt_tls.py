"""Renditions through the CRT over HTTPS: boto3's trust rules, boto3's errors.

RGW speaks plain HTTP; a loopback TLS terminator (tlsproxy) with a throwaway CA sits in front.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import botocore.config
import botocore.exceptions
import pytest
import trustme
from test_s3crt import md5_b64, putter
from tlsproxy import TlsProxy

from gallerypipe import s3 as s3_module
from gallerypipe.s3 import S3Storage
from gallerypipe.storage import IMMUTABLE, StorageError, StoreOptions


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "test-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def https(s3_store, ca: trustme.CA) -> Iterator[tuple[str, StoreOptions, TlsProxy]]:
    """The fresh bucket's URL and options to reach it through HTTPS, and the TLS proxy."""
    url, direct = s3_store
    with TlsProxy(urlparse(direct.endpoint_url).port, ca) as proxy:
        yield url, StoreOptions(endpoint_url=proxy.endpoint, path_style=True), proxy


@pytest.fixture
def untrusting(monkeypatch) -> None:
    """No CA given (the machine's AWS_CA_BUNDLE and REQUESTS_CA_BUNDLE removed), and one attempt
    per object: botocore's standard mode retries a refused certificate for about 40 s."""
    for name in ("AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(s3_module, "OBJECT_ATTEMPTS", 1)
    config = botocore.config.Config
    one_attempt = botocore.config.Config(retries={"mode": "standard", "max_attempts": 1})
    monkeypatch.setattr(s3_module, "Config", lambda **kw: config(**kw).merge(one_attempt))


def test_renditions_go_through_the_crt_over_https(https, ca_file, monkeypatch) -> None:
    monkeypatch.setenv("AWS_CA_BUNDLE", ca_file)
    url, options, proxy = https
    store = S3Storage(url, options)
    payloads = {f"renditions/{n}.jpg": os.urandom(3000 + n) for n in range(3)}
    for key, data in payloads.items():
        assert store.put(key, data, "image/jpeg", IMMUTABLE) == hashlib.md5(data).hexdigest()
    assert store._fast is not None and store._fast.puts == 3
    for key, data in payloads.items():  # read back by boto3 over the same HTTPS endpoint
        head = store.client.head_object(Bucket=store.bucket, Key=f"{store.prefix}/{key}")
        assert head["ContentType"] == "image/jpeg" and head["CacheControl"] == IMMUTABLE
        assert head["Metadata"] == {"sha256": hashlib.sha256(data).hexdigest()}
        assert store.get(key) == data
    assert proxy.requests == 9  # 3 PUTs, 3 HEADs, 3 GETs: all of them through TLS


@pytest.mark.parametrize("names", [(), ("localhost",)], ids=["unknown-ca", "wrong-host"])
def test_a_certificate_boto3_would_refuse_fails_the_store_at_once(
    https, ca_file, names, untrusting, monkeypatch, ca
) -> None:
    """Refused when the store opens, in boto3's words, before any request: each client would
    otherwise retry the refusal for tens of seconds per object."""
    url, options, proxy = https
    if names:  # trusted CA, but a certificate for another host than the endpoint's 127.0.0.1
        monkeypatch.setenv("AWS_CA_BUNDLE", ca_file)
        ca.issue_cert(*names).configure_cert(proxy.context)
    with pytest.raises(StorageError, match="SSL validation failed for") as refused:
        S3Storage(url, options)
    message = str(refused.value)
    reason = "certificate is not valid" if names else "unable to get local issuer certificate"
    assert reason in message and "CERTIFICATE_VERIFY_FAILED" in message
    assert message.startswith(f"{url}: (TLS): SSL validation failed for {options.endpoint_url}")
    assert isinstance(refused.value.__cause__, botocore.exceptions.SSLError)
    assert proxy.requests == 0


def test_boto3_refuses_the_certificate_on_its_own_too(
    https, ca_file, untrusting, monkeypatch
) -> None:
    """Past the check at opening (a certificate replaced during a run), boto3's own
    verification refuses it, and the store does not retry the object."""
    monkeypatch.setenv("AWS_CA_BUNDLE", ca_file)
    url, options, proxy = https
    store = S3Storage(url, options)  # the certificate is trusted when the store opens
    trustme.CA().issue_cert("127.0.0.1").configure_cert(proxy.context)  # then replaced
    with pytest.raises(
        StorageError, match=f"SSL validation failed for {options.endpoint_url}"
    ) as refused:
        store.put("manifest.json", b"{}", "application/json", "no-cache", if_none_match=True)
    assert isinstance(refused.value.__cause__, botocore.exceptions.SSLError)
    assert proxy.requests == 0


def test_the_ca_bundle_of_the_profile_is_trusted(https, ca_file, untrusting, monkeypatch) -> None:
    config = Path(ca_file).with_name("config")
    keys = (
        f"{name.lower()} = {os.environ[name]}\n"
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    )
    config.write_text(f"[profile tls]\nca_bundle = {ca_file}\n" + "".join(keys))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    url, options, _ = https
    store = S3Storage(url, StoreOptions(options.endpoint_url, path_style=True, profile="tls"))
    store.put("renditions/b.jpg", b"\xff\xd8bytes\xff\xd9", "image/jpeg", IMMUTABLE)
    assert store._fast is not None and store._fast.puts == 1
    assert store.get("renditions/b.jpg") == b"\xff\xd8bytes\xff\xd9"


def test_a_wrong_content_md5_is_refused_over_https(https, ca_file, monkeypatch) -> None:
    monkeypatch.setenv("AWS_CA_BUNDLE", ca_file)
    url, options, proxy = https
    store = S3Storage(url, options)
    data = os.urandom(2000)
    headers = {"Content-Type": "image/jpeg", "Content-MD5": md5_b64(b"other bytes")}
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        sha256 = hashlib.sha256(data).hexdigest()
        putter(store).put(f"{store.prefix}/renditions/x.jpg", data, headers, sha256)
    assert caught.value.response["Error"]["Code"] in {"BadDigest", "InvalidDigest"}
    assert store.etag("renditions/x.jpg") is None and proxy.requests == 2


def test_an_https_url_to_a_plain_http_server_fails_at_once(s3_store) -> None:
    url, direct = s3_store
    endpoint = direct.endpoint_url.replace("http://", "https://")
    with pytest.raises(StorageError, match="WRONG_VERSION_NUMBER"):
        S3Storage(url, StoreOptions(endpoint_url=endpoint, path_style=True))


def test_a_missing_ca_bundle_is_named(https, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("AWS_CA_BUNDLE", str(tmp_path / "nowhere.pem"))
    url, options, proxy = https
    with pytest.raises(StorageError, match=r"cannot read the CA bundle .*nowhere\.pem"):
        S3Storage(url, options)
    assert proxy.requests == 0


def test_a_ca_file_the_crt_cannot_read_leaves_the_puts_to_boto3(
    https, ca_file, tmp_path, monkeypatch
):
    """OpenSSL's "TRUSTED CERTIFICATE" form: Python's ssl (so boto3) reads it, the CRT's TLS
    library does not. The publish still works, through boto3."""
    trusted = tmp_path / "trusted.pem"
    openssl = ["openssl", "x509", "-in", ca_file, "-addtrust", "serverAuth", "-out", str(trusted)]
    subprocess.run(openssl, check=True)
    assert "BEGIN TRUSTED CERTIFICATE" in trusted.read_text()
    monkeypatch.setenv("AWS_CA_BUNDLE", str(trusted))
    url, options, proxy = https
    store = S3Storage(url, options)
    store.put("renditions/c.jpg", b"\xff\xd8trusted\xff\xd9", "image/jpeg", IMMUTABLE)
    assert store._fast is None  # the CRT could not be set up
    assert store.get("renditions/c.jpg") == b"\xff\xd8trusted\xff\xd9"
    assert proxy.requests == 2
