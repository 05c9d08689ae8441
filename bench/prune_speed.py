#!/usr/bin/env python3
"""Prune speed: `gallerypipe prune --yes` deleting N unreferenced objects from an S3 server.

Fills a fresh bucket with a manifest that references nothing and N small objects under the same
prefix, then times the whole CLI process (`--min-age 0`) and checks that only the manifest is
left. For comparison it also times the same N deletes as one DeleteObject request each on
`--transfers` threads, which is how prune worked before it used DeleteObjects batches.

    python bench/prune_speed.py --objects 10000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

DEFAULT_ENDPOINT = "http://127.0.0.1:7480"
PREFIX = "events/bench"


def fill(client, bucket: str, count: int) -> list[str]:
    keys = [f"{PREFIX}/renditions/{n:06d}.jpg" for n in range(count)]
    client.put_object(Bucket=bucket, Key=f"{PREFIX}/manifest.json", Body=b'{"photos": []}')
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda key: client.put_object(Bucket=bucket, Key=key, Body=b"x" * 100), keys))
    return keys


def left_in(client, bucket: str) -> int:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sum(page.get("KeyCount", 0) for page in pages)


def time_prune(endpoint: str, bucket: str, transfers: int) -> float:
    started = time.perf_counter()
    store = ["--store", f"s3://{bucket}/{PREFIX}", "--endpoint-url", endpoint, "--path-style"]
    act = ["--yes", "--min-age", "0", "--transfers", str(transfers), "--json"]
    subprocess.run(
        [sys.executable, "-m", "gallerypipe", "prune", *store, *act],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def time_one_by_one(client, bucket: str, keys: list[str], transfers: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(transfers) as pool:
        list(pool.map(lambda key: client.delete_object(Bucket=bucket, Key=key), keys))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--transfers", type=int, default=8)
    parser.add_argument("--endpoint", default=os.environ.get("GALLERYPIPE_BENCH_ENDPOINT"))
    args = parser.parse_args()
    endpoint = args.endpoint or DEFAULT_ENDPOINT
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "TESTACCESSKEY123")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "TESTSECRETKEY1234567890")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    config = Config(s3={"addressing_style": "path"}, max_pool_connections=32)
    client = boto3.client("s3", endpoint_url=endpoint, config=config)
    bucket = f"prune-bench-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)

    keys = fill(client, bucket, args.objects)
    prune_s = time_prune(endpoint, bucket, args.transfers)
    assert left_in(client, bucket) == 1, "prune left unreferenced objects behind"
    keys = fill(client, bucket, args.objects)
    single_s = time_one_by_one(client, bucket, keys, args.transfers)
    client.delete_object(Bucket=bucket, Key=f"{PREFIX}/manifest.json")
    client.delete_bucket(Bucket=bucket)

    n = args.objects
    for name, seconds in (("gallerypipe prune --yes", prune_s), ("DeleteObject each", single_s)):
        print(f"{name:24} {n} objects: {seconds:6.2f} s ({n / seconds:,.0f} objects/s)")
    print(f"ratio: {prune_s / single_s:.2f} (transfers {args.transfers}; the CLI's start included)")


if __name__ == "__main__":
    main()
