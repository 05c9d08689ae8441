"""A real S3 server (Ceph RADOS Gateway) for the tests.

``ensure_s3_server`` either uses an endpoint given in the environment or
installs and starts a single-node RGW on 127.0.0.1 with
``scripts/s3-server.sh``; the server keeps running after the tests so that
the next run reuses it (its data dir defaults to /tmp/gallerypipe-rgw).

Environment:
  GALLERYPIPE_TEST_S3_ENDPOINT    use this S3 endpoint, start nothing
  GALLERYPIPE_TEST_S3_ACCESS_KEY  access key (default TESTACCESSKEY123)
  GALLERYPIPE_TEST_S3_SECRET_KEY  secret key (default TESTSECRETKEY1234567890)
  GALLERYPIPE_TEST_S3_DIR         data dir of the local RGW
  GALLERYPIPE_TEST_S3_PORT        port of the local RGW (default 7480)
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

DEFAULT_ACCESS_KEY = "TESTACCESSKEY123"
DEFAULT_SECRET_KEY = "TESTSECRETKEY1234567890"
DEFAULT_DATA_DIR = Path("/tmp/gallerypipe-rgw")
DEFAULT_PORT = 7480

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVER_SCRIPT = REPO_ROOT / "scripts" / "s3-server.sh"

# apt-get install (first time on a machine) + cluster creation take well
# under this; it only bounds a hang.
INSTALL_TIMEOUT_S = 900
START_TIMEOUT_S = 300
READY_TIMEOUT_S = 60


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"

    def client(self) -> BaseClient:
        """A boto3 S3 client for this server (path-style, SigV4)."""
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            connect_timeout=5,
            read_timeout=60,
            retries={"max_attempts": 3, "mode": "standard"},
        )
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=config,
        )


# errors that waiting will not cure: wrong keys, not an S3 server of ours
_FATAL_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"}


def _wait_until_ready(server: S3Server, timeout_s: float | None = None) -> None:
    """Wait until ListBuckets succeeds; fail at once on bad credentials."""
    timeout_s = READY_TIMEOUT_S if timeout_s is None else timeout_s
    deadline = time.monotonic() + timeout_s
    client = server.client()
    while True:
        try:
            client.list_buckets()
            return
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _FATAL_CODES or time.monotonic() >= deadline:
                raise RuntimeError(
                    f"S3 server at {server.endpoint_url} refused ListBuckets: {exc}"
                ) from exc
        except BotoCoreError as exc:
            if time.monotonic() >= deadline:
                raise RuntimeError(
                    f"S3 server at {server.endpoint_url} not ready after {timeout_s:.0f}s: {exc}"
                ) from exc
        time.sleep(0.5)


def _run_script(args: list[str], env: dict[str, str], timeout_s: float, log: Path) -> str:
    """Run scripts/s3-server.sh; append its output to ``log``; return stdout."""
    proc = subprocess.run(
        ["bash", str(SERVER_SCRIPT), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    with log.open("a") as f:
        f.write(f"$ s3-server.sh {' '.join(args)}  (exit {proc.returncode})\n")
        f.write(proc.stdout)
        f.write(proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(
            f"s3-server.sh {' '.join(args)} failed (exit {proc.returncode}):\n"
            f"{proc.stdout}{proc.stderr}"
        )
    return proc.stdout


def ensure_s3_server(workdir: Path) -> S3Server:
    """Return a running S3 server, starting a local RGW if none is configured.

    ``workdir`` receives ``s3-server.log`` with the setup script's output.
    """
    access_key = os.environ.get("GALLERYPIPE_TEST_S3_ACCESS_KEY", DEFAULT_ACCESS_KEY)
    secret_key = os.environ.get("GALLERYPIPE_TEST_S3_SECRET_KEY", DEFAULT_SECRET_KEY)

    endpoint = os.environ.get("GALLERYPIPE_TEST_S3_ENDPOINT")
    if endpoint:
        server = S3Server(endpoint.rstrip("/"), access_key, secret_key)
        _wait_until_ready(server)
        return server

    data_dir = Path(os.environ.get("GALLERYPIPE_TEST_S3_DIR", str(DEFAULT_DATA_DIR)))
    port = int(os.environ.get("GALLERYPIPE_TEST_S3_PORT", str(DEFAULT_PORT)))
    env = {
        **os.environ,
        "RGW_PORT": str(port),
        "S3_ACCESS_KEY": access_key,
        "S3_SECRET_KEY": secret_key,
    }
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "s3-server.log"
    _run_script(["install"], env, INSTALL_TIMEOUT_S, log)
    out = _run_script(["start", str(data_dir)], env, START_TIMEOUT_S, log)

    match = re.search(r"S3 endpoint (http://\S+)", out)
    endpoint_url = match.group(1) if match else f"http://127.0.0.1:{port}"
    server = S3Server(endpoint_url, access_key, secret_key)
    _wait_until_ready(server)
    return server


def fresh_bucket(server: S3Server, name_prefix: str) -> str:
    """Create a new, uniquely named, empty bucket and return its name."""
    prefix = re.sub(r"[^a-z0-9-]+", "-", name_prefix.lower()).strip("-") or "test"
    name = f"{prefix[:40].rstrip('-')}-{uuid.uuid4().hex[:16]}"
    server.client().create_bucket(Bucket=name)
    return name
