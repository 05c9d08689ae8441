"""Single-part PutObject through the AWS Common Runtime (awscrt), for the renditions.

Why: on a machine where the S3 server shares the CPU, client CPU per request decides how fast a
first publish of thousands of small renditions goes. A 20 KiB S3Storage.put costs about 1.5 ms
of client CPU through botocore + urllib3, spread over signing, hooks, serializing and the HTTP
stack, and about 0.7 ms through the CRT's S3 client, which builds, signs and sends the same
request in C (see bench/README.md; over HTTPS 1.55 against 0.73 ms). Everything else
(listing, reads, conditional manifest writes, multipart) stays on boto3.

Over HTTPS the CRT verifies certificates against the CA bundle botocore would use (`ca_file`)
and the endpoint's host name; peer verification is never turned off. A certificate is first
checked once with Python's ssl, as urllib3 checks it for boto3, so that a refused one fails at
once with boto3's SSLError rather than after the CRT's slow, retried "negotiation failed".

The requests are the ones boto3 would send: SigV4 with the payload's sha256 signed (we know it,
it also goes in the metadata), Content-MD5 (signed, so the server checks the bytes), no
checksum trailers, the same headers; the CRT retries 5xx, throttling and connection errors
with exponential backoff and jitter, and S3Storage retries a whole failed object on top.
"""

from __future__ import annotations

import concurrent.futures
import io
import os
import socket
import ssl
import threading
import urllib.parse
import urllib.request
from collections.abc import Mapping
from xml.etree import ElementTree

import awscrt
import botocore.exceptions
import botocore.httpsession
from awscrt import auth, http, s3
from awscrt import io as crt_io

from . import __version__

USER_AGENT = f"gallerypipe/{__version__} awscrt/{awscrt.__version__}"
CRT_RETRIES = 4  # as botocore's standard mode with max_attempts=5; backoff 0.5 s × 2^n, jitter
# The CRT's S3 client has no read timeout of its own: a PUT, its retries included, that has not
# ended after this (plus its size at SLOWEST_BYTES_PER_SECOND) counts as a read timeout.
STALL_SECONDS = 90.0
SLOWEST_BYTES_PER_SECOND = 64 * 1024  # a poor uplink still gets its time for a big object
_SENTINEL = "gallerypipe-key-sentinel"
_MIN_PART = 5 * 1024 * 1024  # S3's smallest part
_UNREACHABLE = {
    "AWS_IO_SOCKET_CONNECTION_REFUSED",
    "AWS_IO_SOCKET_NO_ROUTE_TO_HOST",
    "AWS_IO_SOCKET_NETWORK_DOWN",
}


class CrtPutter:
    """Unconditional single-part PUTs of one bucket, signed with the boto3 client's credentials."""

    def __init__(self, client, credentials, bucket: str, transfers: int, ca_file: str) -> None:
        """ca_file: the CA certificates to trust over HTTPS, as boto3 does (see `ca_file`)."""
        self.scheme, self.base, self.host = _object_url_base(client, bucket)
        self.region = client.meta.region_name or "us-east-1"
        self.credentials = _crt_credentials(credentials)
        https = self.scheme == "https"
        self.client = s3.S3Client(
            bootstrap=_bootstrap(),
            region=self.region,
            tls_mode=s3.S3RequestTlsMode.ENABLED if https else s3.S3RequestTlsMode.DISABLED,
            tls_connection_options=_tls(self.host, ca_file) if https else None,
            signing_config=self._signing(None),
            max_active_connections_override=max(1, transfers),
            retry_config=s3.S3RetryConfig(max_retries=CRT_RETRIES),
            connect_timeout_ms=10_000,
        )
        self.puts = 0  # objects sent, for reports (the CRT's own retries are not seen)
        self._count_lock = threading.Lock()

    def put(self, key: str, data: bytes, headers: Mapping[str, str], sha256: str) -> str:
        """PUT data at key (already prefixed, not yet URL-quoted); returns the ETag.

        Failures raise botocore's exceptions (ClientError with the server's code, or
        HTTPClientError), so that S3Storage reports and retries them as it does boto3's.
        """
        path = self.base + urllib.parse.quote(key, safe="/~")
        request = http.HttpRequest(
            "PUT",
            path,
            http.HttpHeaders(
                [
                    ("Host", self.host),
                    ("Content-Length", str(len(data))),
                    ("User-Agent", USER_AGENT),
                    *headers.items(),
                ]
            ),
            io.BytesIO(data),
        )
        response: dict[str, str] = {}
        with self._count_lock:
            self.puts += 1
        sent = self.client.make_request(
            type=s3.S3RequestType.PUT_OBJECT,
            request=request,
            signing_config=self._signing(sha256),
            # one request whatever the size: the CRT would go multipart above 8 MiB on its own
            part_size=max(len(data), _MIN_PART),
            multipart_upload_threshold=max(len(data), _MIN_PART),
            on_headers=lambda status_code, headers, **_: response.update(headers),
        )
        url = f"{self.scheme}://{self.host}{path}"
        try:
            error = sent.finished_future.exception(timeout=deadline(len(data)))
        except concurrent.futures.TimeoutError:
            sent.cancel()
            sent.finished_future.exception()  # the CRT lets go of the request
            raise botocore.exceptions.ReadTimeoutError(endpoint_url=url) from None
        if error is not None:
            raise _botocore_error(error, url) from error
        return next((v for k, v in response.items() if k.lower() == "etag"), "").strip('"')

    def _signing(self, sha256: str | None) -> auth.AwsSigningConfig:
        """SigV4 as botocore signs S3 over any scheme: the payload hash in x-amz-content-sha256."""
        return auth.AwsSigningConfig(
            algorithm=auth.AwsSigningAlgorithm.V4,
            signature_type=auth.AwsSignatureType.HTTP_REQUEST_HEADERS,
            credentials_provider=self.credentials,
            region=self.region,
            service="s3",
            signed_body_value=sha256,
            signed_body_header_type=auth.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256,
            use_double_uri_encode=False,
            should_normalize_uri_path=False,
        )


def deadline(size: int) -> float:
    """Seconds a PUT of size bytes may take, the CRT's own retries included, before it counts as
    stalled (a server that accepts and never answers would otherwise hold the publish forever);
    S3Storage then reports it like a boto3 read timeout, and stops using the store."""
    return STALL_SECONDS + size / SLOWEST_BYTES_PER_SECOND


def usable(endpoint_url: str | None, client) -> bool:
    """For a custom endpoint, HTTP or HTTPS (a server nearby or an S3-compatible service, where
    client CPU is what limits a first publish), reached without a proxy: that is what is tested.
    Over HTTPS the CRT verifies the certificate and host name against the CA bundle boto3 uses
    (`ca_file`). With AWS itself, boto3 keeps following S3's region redirects; the CRT is not
    given botocore's proxy settings, so with a proxy everything stays on boto3."""
    return (
        urllib.parse.urlsplit(endpoint_url or "").scheme in ("http", "https")
        and not client.meta.config.proxies
        and not urllib.request.getproxies()
    )


def _object_url_base(client, bucket: str) -> tuple[str, str, str]:
    """(scheme, path prefix, Host) of the bucket's objects, as the boto3 client addresses them.

    A presigned URL is botocore's public way to get the resolved endpoint, addressing style
    (path or virtual host) included, without sending anything.
    """
    url = client.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": _SENTINEL})
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, parts.path[: parts.path.rindex(_SENTINEL)], parts.netloc


def ca_file(session) -> str:
    """The CA bundle botocore verifies servers with, resolved as botocore resolves it.

    `ca_bundle` of the profile or AWS_CA_BUNDLE, else REQUESTS_CA_BUNDLE, else botocore's
    default (certifi's bundle): the CRT then trusts exactly the certificates boto3 trusts.
    """
    verify = session.get_config_variable("ca_bundle")
    if verify is None:
        verify = os.environ.get("REQUESTS_CA_BUNDLE", True)
    return botocore.httpsession.get_cert_path(verify)


def check_certificate(client, bucket: str, ca_file: str) -> None:
    """Refuse the endpoint's certificate at once, in boto3's words, if boto3 would refuse it.

    Both clients verify every connection, but slowly when refused: botocore's standard mode
    retries an SSL error like any connection error (about 40 s), and the CRT's TLS library (s2n)
    says only "negotiation failed", after a deliberate delay of 10 s or more (its blinding
    against timing attacks), then retries: minutes, for each object, before the user learns why.
    One handshake with Python's ssl and the same CA file and host name (what urllib3 does for
    boto3) answers at once, with OpenSSL's reason; so does an endpoint that does not speak TLS.
    A server that cannot be reached is left to the clients' own retries.
    """
    scheme, base, host = _object_url_base(client, bucket)
    if scheme != "https":
        return
    url, parts = f"https://{host}{base}", urllib.parse.urlsplit(f"//{host}")
    try:
        context = ssl.create_default_context(cafile=ca_file)
    except OSError as err:
        error = f"cannot read the CA bundle {ca_file}: {err.strerror or err}"
        raise botocore.exceptions.SSLError(endpoint_url=url, error=error) from err
    try:
        with socket.create_connection((parts.hostname, parts.port or 443), timeout=10) as raw:
            context.wrap_socket(raw, server_hostname=parts.hostname).close()
    except ssl.SSLError as err:
        if refused(err):
            raise botocore.exceptions.SSLError(endpoint_url=url, error=err) from err
    except OSError:
        return


def refused(err: BaseException) -> bool:
    """A certificate refused, or a server that does not speak TLS at all: retrying cannot help."""
    text = str(err)
    return "CERTIFICATE_VERIFY_FAILED" in text or "WRONG_VERSION_NUMBER" in text


def _tls(host: str, ca_file: str) -> crt_io.TlsConnectionOptions:
    """Peer verification on (the CRT's default, never turned off) against ca_file only, and the
    endpoint's host name for SNI and for checking the certificate (an IP is checked too)."""
    options = crt_io.TlsContextOptions()
    options.override_default_trust_store_from_path(ca_filepath=ca_file)
    connection = crt_io.ClientTlsContext(options).new_connection_options()
    connection.set_server_name(urllib.parse.urlsplit(f"//{host}").hostname or host)
    return connection


def _crt_credentials(credentials) -> auth.AwsCredentialsProvider:
    """The boto3 session's credentials (the standard AWS chain, refreshed by botocore)."""
    if credentials is None:
        raise botocore.exceptions.NoCredentialsError()

    def current() -> auth.AwsCredentials:
        frozen = credentials.get_frozen_credentials()
        return auth.AwsCredentials(frozen.access_key, frozen.secret_key, frozen.token)

    return auth.AwsCredentialsProvider.new_delegate(current)


_BOOTSTRAP: crt_io.ClientBootstrap | None = None
_BOOTSTRAP_LOCK = threading.Lock()


def _bootstrap() -> crt_io.ClientBootstrap:
    """One event loop thread for the process: it only moves bytes, the work is signing."""
    global _BOOTSTRAP
    with _BOOTSTRAP_LOCK:
        if _BOOTSTRAP is None:
            loops = crt_io.EventLoopGroup(1)
            _BOOTSTRAP = crt_io.ClientBootstrap(loops, crt_io.DefaultHostResolver(loops))
        return _BOOTSTRAP


def _botocore_error(
    error: BaseException, url: str
) -> botocore.exceptions.BotoCoreError | Exception:
    """The CRT's failure as the botocore exception boto3 would have raised for it."""
    if isinstance(error, s3.S3ResponseError) and error.status_code:
        code, message = _error_code(error.body or b"")
        response = {
            "Error": {"Code": code or str(error.status_code), "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": error.status_code},
        }
        return botocore.exceptions.ClientError(response, "PutObject")
    name = getattr(error, "name", "")
    if name.startswith("AWS_IO_TLS"):  # a certificate refused, or the handshake failed
        return botocore.exceptions.SSLError(endpoint_url=url, error=f"{name}: {error}")
    if name.startswith("AWS_IO_DNS") or name in _UNREACHABLE:
        return botocore.exceptions.EndpointConnectionError(endpoint_url=url, error=error)
    return botocore.exceptions.HTTPClientError(error=f"{name} {error}")


def _error_code(body: bytes) -> tuple[str, str]:
    """Code and Message of an S3 error document."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return "", ""
    return root.findtext("Code") or "", root.findtext("Message") or ""
