"""The S3 store (boto3): any S3-compatible endpoint; credentials from the standard AWS chain."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import boto3
import botocore.exceptions
import botocore.session
import botocore.utils
from awscrt.exceptions import AwsCrtError
from botocore.config import Config

from . import __version__, s3crt
from .stores import (
    PreconditionFailed,
    StorageError,
    StoredObject,
    StoreOptions,
    safe_key,
    split_s3_url,
)

MULTIPART_THRESHOLD = 16 * 1024 * 1024
PART_SIZE = 8 * 1024 * 1024
OBJECT_ATTEMPTS = 3  # whole-object retries on top of botocore's per-request retries
_REFUSED = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken"}
_CONFLICT = {"PreconditionFailed", "ConditionalRequestConflict"}
_DELETE_BATCH = 1000  # DeleteObjects takes at most this many keys
# A server that accepts connections and never answers fails a run within about two minutes
# (worst_case_seconds), not after botocore's 8 attempts × 60 s; and once one request has timed
# out after all its attempts, the store's every later request fails at once (S3Storage._silent).
CONNECT_TIMEOUT_S = 5
READ_TIMEOUT_S = 15  # between bytes, not for a whole transfer: a slow upload is not a silent one
MAX_ATTEMPTS = 5  # botocore's standard mode: 5xx, throttling, resets and timeouts are retried


def worst_case_seconds() -> float:
    """The longest one boto3 request takes against a silent endpoint: each attempt waits out a
    timeout, with standard mode's backoff between (jittered, at most 2^n s and 20 s; counted
    here at twice that, as measured: 5 × 20 s read timeouts took 136 s in all)."""
    backoff = sum(min(2 ** (n + 1), 20) for n in range(MAX_ATTEMPTS - 1))
    return MAX_ATTEMPTS * max(CONNECT_TIMEOUT_S, READ_TIMEOUT_S) + backoff


def parse_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` → ("bucket", "some/prefix"), checked (see split_s3_url)."""
    return split_s3_url(url)


def make_session(options: StoreOptions) -> botocore.session.Session:
    """A botocore session for the profile; its credentials serve boto3 and the CRT alike."""
    core = botocore.session.get_session()
    if options.profile:
        core.set_config_variable("profile", options.profile)
    # Listing 10,000 objects spent three quarters of its CPU parsing LastModified with dateutil.
    core.get_component("response_parser_factory").set_parser_defaults(
        timestamp_parser=_parse_timestamp
    )
    return core


def make_client(options: StoreOptions, core: botocore.session.Session):
    """A client for AWS or a compatible server; checksums only when required off AWS.

    Since boto3 1.36 every request carries CRC32 checksums by default, which many
    S3-compatible servers (Ceph RGW, MinIO, R2) reject or mishandle.
    """
    checksums = "when_required" if options.endpoint_url else "when_supported"
    config = Config(
        retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
        max_pool_connections=max(10, options.transfers + 2),
        s3={"addressing_style": "path" if options.path_style else "auto"},
        request_checksum_calculation=checksums,
        response_checksum_validation=checksums,
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        # A fixed string: botocore otherwise rebuilds its telemetry User-Agent twice per request.
        user_agent=f"gallerypipe/{__version__} botocore/{botocore.__version__}",
    )
    session = boto3.session.Session(botocore_session=core, region_name=options.region)
    client = session.client("s3", endpoint_url=options.endpoint_url, config=config)
    client.meta.events.register("before-send.s3.PutObject", _no_expect_continue)
    client.meta.events.register("before-sign.s3.DeleteObjects", _add_content_md5)
    _cache_endpoints(client, core)
    return client


def _cache_endpoints(client, core: botocore.session.Session) -> None:
    """Let botocore's endpoint cache work for object requests.

    botocore evaluates the S3 endpoint ruleset on every request (a quarter of the CPU of a small
    PUT) and caches the result by its parameters, but those include the object's Key, so the cache
    never hits. The ruleset does not look at Key (or Prefix): resolve without them.
    """
    resolver = getattr(client, "_ruleset_resolver", None)
    provider = getattr(resolver, "_provider", None)
    if provider is None:
        return
    ruleset = core.get_component("data_loader").load_service_model("s3", "endpoint-rule-set-1")
    text = json.dumps(ruleset["rules"])
    unused = {name for name in ("Key", "Prefix") if f'"ref": "{name}"' not in text}
    if unused:
        resolver._provider = _EndpointsWithout(provider, unused)


class _EndpointsWithout:
    """An endpoint provider that drops parameters its ruleset never reads before resolving."""

    def __init__(self, provider, unused: set[str]) -> None:
        self.provider = provider
        self.unused = unused

    def resolve_endpoint(self, **params):
        for name in self.unused:
            params.pop(name, None)
        return self.provider.resolve_endpoint(**params)


def _parse_timestamp(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (TypeError, ValueError, AttributeError):
        return botocore.utils.parse_timestamp(value)


def _no_expect_continue(request, **_) -> None:
    """`Expect: 100-continue` costs a round trip per PUT; our bodies are small and the header is
    not signed, so it can go."""
    request.headers.pop("Expect", None)


def _add_content_md5(request, **_) -> None:
    """DeleteObjects must carry a checksum: botocore sends CRC32 alone, and servers that predate
    the new checksums (older MinIO, Ceph and others) ask for Content-MD5 instead."""
    body = request.body or b""
    request.headers["Content-MD5"] = content_md5(body.encode() if isinstance(body, str) else body)


def content_md5(data: bytes) -> str:
    """The Content-MD5 header's value: the server refuses the request if the bytes differ."""
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


class S3Storage:
    @classmethod
    def from_url(cls, url: str, options: StoreOptions) -> S3Storage:
        return cls(url, options)

    def __init__(self, url: str, options: StoreOptions | None = None) -> None:
        self.options = options or StoreOptions()
        self._silent: str | None = None  # set when the endpoint stopped answering
        self.bucket, self.prefix = parse_s3_url(url)
        self.url = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        try:
            self.session = make_session(self.options)
            self.client = make_client(self.options, self.session)
        except botocore.exceptions.BotoCoreError as err:
            raise StorageError(f"{self.url}: {err}") from err
        self._fast_usable = s3crt.usable(self.options.endpoint_url, self.client)
        if self._fast_usable and self.options.endpoint_url.startswith("https://"):
            with self._errors("(TLS)"):
                s3crt.check_certificate(self.client, self.bucket, s3crt.ca_file(self.session))
        self._fast: s3crt.CrtPutter | None = None
        self._fast_lock = threading.Lock()

    def _key(self, key: str) -> str:
        safe_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def list(self) -> dict[str, StoredObject]:
        """One paginated listing of the prefix: sizes and ETags, no request per object."""
        start = f"{self.prefix}/" if self.prefix else ""
        found = {}
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=start
        )
        with self._errors("(listing)"):
            for page in pages:
                for item in page.get("Contents", []):
                    key = item["Key"][len(start) :]
                    found[key] = StoredObject(
                        key, item["Size"], item["ETag"].strip('"'), item["LastModified"].timestamp()
                    )
        return found

    def get(self, key: str) -> bytes:
        with self._errors(key):
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()

    def etag(self, key: str) -> str | None:
        try:
            with self._errors(key):
                head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except StorageError as err:
            if isinstance(err.__cause__, botocore.exceptions.ClientError) and _code(
                err.__cause__
            ) in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
        return head["ETag"].strip('"')

    def delete(self, keys: Sequence[str]) -> None:
        """DeleteObjects in batches (up to 1,000 keys each), `transfers` batches at a time."""
        full = [self._key(key) for key in keys]
        size = max(1, min(_DELETE_BATCH, -(-len(full) // self.options.transfers)))
        batches = [full[i : i + size] for i in range(0, len(full), size)]
        with ThreadPoolExecutor(max_workers=self.options.transfers) as pool:
            failed = [error for errors in pool.map(self._delete_batch, batches) for error in errors]
        if failed:
            raise StorageError(
                f"{self.url}: {len(failed)} of {len(full)} objects were not deleted: "
                + "; ".join(failed[:5])
            )

    def _delete_batch(self, keys: list[str]) -> list[str]:
        """The keys this batch failed to delete, each with the reason; the other batches go on
        when a whole request fails, so the error can say how much is left."""
        try:
            with self._errors("(delete)"):
                answer = self.client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True},
                )
        except StorageError as err:
            return [f"{key}: {err}" for key in keys]
        return [f"{e.get('Key')}: {e.get('Code')}" for e in answer.get("Errors", [])]

    def put(
        self,
        key: str,
        data: bytes,
        content_type: str,
        cache_control: str,
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> str:
        args = {
            "Bucket": self.bucket,
            "Key": self._key(key),
            "ContentType": content_type,
            "CacheControl": cache_control,
            "Metadata": {"sha256": hashlib.sha256(data).hexdigest()},
        }
        if self.options.acl:
            args["ACL"] = self.options.acl
        conditional = if_match is not None or if_none_match
        if len(data) > MULTIPART_THRESHOLD and not conditional:
            head = self._retrying(key, functools.partial(self._put_multipart, args, data))
            return head["ETag"].strip('"')
        md5 = content_md5(data)
        if not conditional and (putter := self._crt_putter()):
            put = functools.partial(self._put_crt, putter, args, data, md5)
            return self._retrying(key, put)["ETag"]
        if if_none_match:
            args["IfNoneMatch"] = "*"
        put = functools.partial(self.client.put_object, Body=data, ContentMD5=md5, **args)
        if if_match is not None:
            return self._put_if_match(key, put, if_match)
        # A conditional write is not retried blindly: the retry could mask a lost race.
        response = self._once(key, put) if conditional else self._retrying(key, put)
        return response["ETag"].strip('"')

    def _put_crt(self, putter: s3crt.CrtPutter, args: dict, data: bytes, md5: str) -> dict:
        """An unconditional single-part PUT through the CRT (s3crt says why), same headers."""
        headers = {
            "Content-Type": args["ContentType"],
            "Cache-Control": args["CacheControl"],
            "Content-MD5": md5,
            "x-amz-meta-sha256": args["Metadata"]["sha256"],
        }
        if "ACL" in args:
            headers["x-amz-acl"] = args["ACL"]
        return {"ETag": putter.put(args["Key"], data, headers, args["Metadata"]["sha256"])}

    def _crt_putter(self) -> s3crt.CrtPutter | None:
        """The CRT client for this store, made on first use; None where boto3 must do the PUT:
        no custom endpoint, a proxy, or a CRT that cannot be set up here (a CA file its TLS
        library cannot read, say), for which boto3, slower, still works."""
        with self._fast_lock:
            if self._fast is None and self._fast_usable:
                try:
                    self._fast = s3crt.CrtPutter(
                        self.client,
                        self.session.get_credentials(),
                        self.bucket,
                        self.options.transfers,
                        s3crt.ca_file(self.session),
                    )
                except (RuntimeError, AwsCrtError, botocore.exceptions.BotoCoreError):
                    self._fast_usable = False
            return self._fast

    def _put_if_match(self, key: str, put: Callable[..., dict], etag: str) -> str:
        """If-Match with the ETag quoted, as RFC 9110 and AWS have it, or bare, as Ceph RGW
        matches it: bare first on a custom endpoint (MinIO takes either), quoted first on AWS,
        then the other (a changed object fails both, so the retry cannot hide a lost race)."""
        forms = [f'"{etag}"', etag]
        if self.options.endpoint_url:
            forms.reverse()
        try:
            return self._once(key, functools.partial(put, IfMatch=forms[0]))["ETag"].strip('"')
        except PreconditionFailed:
            return self._once(key, functools.partial(put, IfMatch=forms[1]))["ETag"].strip('"')

    def _once(self, key: str, call: Callable[[], dict]) -> dict:
        with self._errors(key):
            return call()

    def _retrying(self, key: str, call: Callable[[], dict]) -> dict:
        for attempt in range(1, OBJECT_ATTEMPTS + 1):
            try:
                with self._errors(key):
                    return call()
            except StorageError as err:
                if attempt == OBJECT_ATTEMPTS or not _transient(err.__cause__):
                    raise
                time.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")

    def _put_multipart(self, args: dict, data: bytes) -> dict:
        upload = self.client.create_multipart_upload(**args)
        upload_id, key = upload["UploadId"], args["Key"]
        try:
            parts = []
            for number, start in enumerate(range(0, len(data), PART_SIZE), 1):
                chunk = data[start : start + PART_SIZE]
                part = self.client.upload_part(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=chunk,
                    ContentMD5=content_md5(chunk),
                )
                parts.append({"PartNumber": number, "ETag": part["ETag"]})
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except Exception:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            raise
        # RGW answers CompleteMultipartUpload with an empty ETag: ask for it.
        return self.client.head_object(Bucket=self.bucket, Key=key)

    def _errors(self, key: str):
        return _translate_errors(self, key)


class _translate_errors:
    """Turn botocore's exceptions into StorageError with a message fit for a user (no secrets).

    A request that timed out after all its attempts marks the store silent: later requests
    fail at once with the same message, so a run ends in minutes, not one timeout per object.
    """

    def __init__(self, store: S3Storage, key: str) -> None:
        self.store = store
        self.where = f"{store.url}: {key}"

    def __enter__(self) -> None:
        if self.store._silent:
            raise StorageError(self.store._silent)

    def __exit__(self, kind, err, tb) -> bool:
        if err is None or isinstance(err, StorageError):
            return False
        translated = self._translated(err)
        if translated is None:
            return False
        raise translated from err

    def _translated(self, err: BaseException) -> StorageError | None:
        """The StorageError for one of botocore's exceptions; None for any other exception."""
        if isinstance(
            err, botocore.exceptions.ReadTimeoutError | botocore.exceptions.ConnectTimeoutError
        ):
            return self._timed_out(err)
        if isinstance(err, botocore.exceptions.ClientError):
            return self._refused(err)
        if isinstance(err, botocore.exceptions.NoCredentialsError):
            return StorageError(
                f"{self.where}: no credentials found (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                "~/.aws/credentials or --profile)"
            )
        if isinstance(err, botocore.exceptions.BotoCoreError):
            return StorageError(f"{self.where}: {err}")
        return None

    def _timed_out(self, err: BaseException) -> StorageError:
        """A request that got no answer: the store is marked silent for the rest of the run."""
        endpoint = self.store.options.endpoint_url or "S3"
        why = (
            f"{endpoint} did not answer ({err}; tried {MAX_ATTEMPTS} times, "
            f"{READ_TIMEOUT_S} s each): is the endpoint up, and is it an S3 server?"
        )
        self.store._silent = f"{self.store.url}: {why}"
        return StorageError(f"{self.where}: {why}")

    def _refused(self, err: botocore.exceptions.ClientError) -> StorageError:
        """The server's error response, in words that say what to do where there is something."""
        code = _code(err)
        if code in _CONFLICT or code == "412":
            return PreconditionFailed(f"{self.where}: changed by someone else")
        if code in _REFUSED:
            return StorageError(
                f"{self.where}: the store refused our credentials ({code}); check the access "
                "key, secret key and profile"
            )
        if code == "NoSuchBucket":
            return StorageError(
                f"{self.where}: the bucket does not exist (NoSuchBucket); create it, or check "
                "the store URL and the endpoint"
            )
        return StorageError(f"{self.where}: {code}: {_message(err)}")


def _code(err: botocore.exceptions.ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _message(err: botocore.exceptions.ClientError) -> str:
    return str(err.response.get("Error", {}).get("Message") or "request failed")


def _transient(err: BaseException | None) -> bool:
    if isinstance(err, botocore.exceptions.SSLError) and s3crt.refused(err):
        return False
    if isinstance(err, botocore.exceptions.ClientError):
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return status >= 500 or _code(err) in {"SlowDown", "Throttling", "RequestTimeout"}
    return isinstance(
        err,
        botocore.exceptions.ConnectionError
        | botocore.exceptions.HTTPClientError
        | botocore.exceptions.ReadTimeoutError,
    )
