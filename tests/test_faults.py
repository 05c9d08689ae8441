"""Publishing through a network that resets, delays and answers 503, and across an RGW restart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from faultproxy import FaultProxy, Faults

from gallerypipe.manifest import MANIFEST_KEY
from gallerypipe.pipeline import IngestOptions, ingest
from gallerypipe.publish import verify
from gallerypipe.s3 import S3Storage
from gallerypipe.storage import StoreOptions

REPO = Path(__file__).resolve().parent.parent


def test_publish_completes_through_resets_delays_and_503s(cards, tmp_path, s3_store) -> None:
    url, direct = s3_store
    faults = Faults(reset=0.1, slow_down=0.1, delay=0.1, seed=7)
    with FaultProxy(urlparse(direct.endpoint_url).port, faults) as proxy:
        through = StoreOptions(endpoint_url=proxy.endpoint, path_style=True, transfers=4)
        first = ingest(IngestOptions((cards,), tmp_path / "b", url, store_options=through))
        again = ingest(IngestOptions((cards,), tmp_path / "b", url, store_options=through))
    assert first.uploaded == 100 and first.manifest_changed  # 10 photos × 5 sizes × JPEG, WebP
    assert again.uploaded == 0 and not again.manifest_changed
    assert faults.counts["reset"] >= 3 and faults.counts["503"] >= 3 and faults.counts["delay"] >= 3
    assert not verify(S3Storage(url, direct)).problems, "every manifest key is in the store, intact"


def rgw(command: str) -> None:
    data = os.environ.get("GALLERYPIPE_TEST_S3_DIR", "/tmp/gallerypipe-rgw")
    subprocess.run(
        ["bash", str(REPO / "scripts/s3-server.sh"), command, data],
        check=True,
        capture_output=True,
        timeout=300,
    )


@pytest.mark.skipif(
    bool(os.environ.get("GALLERYPIPE_TEST_S3_ENDPOINT")), reason="an external S3 server is used"
)
def test_an_rgw_restart_mid_publish_is_finished_by_the_next_run(cards, tmp_path, s3_store) -> None:
    url, options = s3_store
    args = [
        sys.executable, "-m", "gallerypipe", "ingest", str(cards), "--bundle", str(tmp_path / "b"),
        "--store", url, "--endpoint-url", options.endpoint_url, "--path-style", "--json",
        "--no-cache",
    ]  # fmt: skip
    store = S3Storage(url, options)
    run = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until_uploading(store, run)
    rgw("stop")
    rgw("start")
    run.communicate(timeout=300)  # it may have finished through retries, or failed: both fine
    finish = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert finish.returncode == 0, finish.stderr
    summary = json.loads(finish.stdout)
    assert summary["photos"] == 10
    assert not verify(store).problems


def wait_until_uploading(store: S3Storage, run: subprocess.Popen, timeout_s: float = 120) -> None:
    """Until the publish is half-way: some renditions in the store, no manifest yet."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and run.poll() is None:
        listed = store.list()
        if MANIFEST_KEY not in listed and any(k.startswith("renditions/") for k in listed):
            return
        time.sleep(0.05)
    pytest.fail("the publish ended, or never began uploading, before RGW could be stopped")
