#!/usr/bin/env python3
"""Publish speed: gallerypipe's own S3 publish path against `rclone copy`, on one server.

For each tool, a first upload into a fresh bucket, then a no-op re-run (everything is already
there), each timed and with its HTTP requests counted:

* gallerypipe: open_store → store.list → read_previous → plan_publish → `publish.upload` on a
  ThreadPoolExecutor(transfers) → publish_manifest, exactly what `pipeline.ingest` does around the
  rendering. Requests are counted with a botocore `before-send.s3` hook (one per HTTP attempt,
  retries included). Timing starts at open_store (client creation included); the one-off
  `import boto3` a CLI process also pays is measured and shown separately.
* rclone: `rclone copy SRC gp:bucket/prefix --transfers N`, the remote defined in RCLONE_CONFIG_GP_*
  variables. Requests are counted from `--dump headers` (one request line per HTTP attempt). By
  default the timed runs are separate from the counted runs (dumping slows rclone down); with
  `--rclone-count inline` the timed runs are the counted ones.

Both tools publish the same N payloads plus a manifest.json (N+1 objects), and each bucket is
checked afterwards to hold exactly those N+1 keys. Buckets are deleted at the end unless
--keep-buckets.

    python bench/publish_speed.py --objects 10000 --size-kb 20
    python bench/publish_speed.py --objects 2000 --size-kb 150
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_ENDPOINT = "http://127.0.0.1:7480"
DEFAULT_ACCESS_KEY = "TESTACCESSKEY123"
DEFAULT_SECRET_KEY = "TESTSECRETKEY1234567890"
PREFIX = "events/bench"
WIDTHS = (2048, 1024, 480)  # gallerypipe's default rendition sizes: three keys per photo
NOOP_GOAL_S = 3.0
NOOP_GOAL_OBJECTS = 10_000

# `--dump headers` logs each request line as "... DEBUG : PUT /bucket/key HTTP/1.1"
_RCLONE_REQUEST = re.compile(r" : (GET|PUT|HEAD|POST|DELETE) (/\S*) HTTP/1\.1$")


@dataclass
class Result:
    tool: str
    phase: str
    seconds: float
    requests: int | None
    objects: int  # objects the run had to consider (N payloads + the manifest)
    uploaded: int | None = None
    by_kind: dict[str, int] = field(default_factory=dict)
    detail: dict[str, float] = field(default_factory=dict)
    note: str = ""
    cpu: float = 0.0  # CPU seconds of the tool's processes (user + system)
    server_cpu: float | None = None  # of the local Ceph processes (RGW, OSD, monitor)

    @property
    def objects_per_s(self) -> float:
        return self.objects / self.seconds if self.seconds else float("inf")


# ------------------------------------------------------------------ CPU time


def own_cpu() -> float:
    """CPU seconds of this process and its waited-for children (rclone, a process pool)."""
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    )


def server_cpu() -> float | None:
    """CPU seconds so far of the Ceph processes on this machine; None when there are none."""
    total, found, tick = 0.0, False, os.sysconf("SC_CLK_TCK")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
            if name == "radosgw" or name.startswith("ceph-"):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
                found = True
        except OSError:
            continue
    return total if found else None


class CpuMeter:
    """CPU seconds spent by us (and our children) and by the S3 server between two points."""

    def __init__(self) -> None:
        self.own, self.server = own_cpu(), server_cpu()

    def read(self) -> tuple[float, float | None]:
        server = server_cpu()
        spent = None if server is None or self.server is None else server - self.server
        return own_cpu() - self.own, spent


# ------------------------------------------------------------------ payloads


@dataclass(frozen=True)
class Payloads:
    keys: list[str]  # in manifest order
    data: dict[str, bytes]
    manifest: bytes


def make_payloads(count: int, size_kb: int, seed: int) -> Payloads:
    """JPEG-looking random bytes (SOI/APP0 … EOI) under gallerypipe-shaped rendition keys.

    Random content is incompressible like real JPEG data; only transfer speed matters here.
    """
    from gallerypipe.manifest import to_bytes

    rng = random.Random(seed)
    size = max(size_kb * 1024, 64)
    head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    tail = b"\xff\xd9"
    digest = hashlib.sha256(f"bench-settings-{seed}".encode()).hexdigest()[:10]
    keys: list[str] = []
    data: dict[str, bytes] = {}
    photos = []
    for n in range((count + len(WIDTHS) - 1) // len(WIDTHS)):
        photo_id = hashlib.sha256(f"bench-photo-{seed}-{n}".encode()).hexdigest()[:16]
        renditions = []
        for width in WIDTHS[: count - len(keys)]:
            key = f"renditions/{photo_id}-{digest}-{width}.jpg"
            body = head + rng.randbytes(size - len(head) - len(tail)) + tail
            keys.append(key)
            data[key] = body
            renditions.append(
                {
                    "key": key,
                    "width": width,
                    "height": width * 2 // 3,
                    "bytes": len(body),
                    "content_type": "image/jpeg",
                    "sha256": hashlib.sha256(body).hexdigest(),
                }
            )
        photos.append({"id": photo_id, "number": n + 1, "renditions": renditions})
    manifest = {
        "schema": 1,
        "generator": "gallerypipe bench/publish_speed.py",
        "event": "Publish speed",
        "header": photos[0]["id"] if photos else None,
        "photos": photos,
        "decisions": [],
        "skipped": [],
    }
    return Payloads(keys, data, to_bytes(manifest))


def write_tree(payloads: Payloads, root: Path) -> None:
    """The same objects as files, for rclone: renditions/… and manifest.json."""
    from gallerypipe.manifest import MANIFEST_KEY

    (root / "renditions").mkdir(parents=True)
    for key in payloads.keys:
        (root / key).write_bytes(payloads.data[key])
    (root / MANIFEST_KEY).write_bytes(payloads.manifest)


# ------------------------------------------------------------------ gallerypipe


class RequestCounter:
    """A botocore `before-send.s3` handler: one call per HTTP attempt, retries included."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def __call__(self, request, event_name: str = "", **kwargs) -> None:
        with self.lock:
            self.counts[event_name.rsplit(".", 1)[-1]] += 1

    def reset(self) -> Counter[str]:
        with self.lock:
            counts, self.counts = self.counts, Counter()
        return counts


def gallerypipe_publish(url: str, options, payloads: Payloads, phase: str) -> Result:
    from gallerypipe.manifest import known_renditions
    from gallerypipe.publish import plan_publish, publish_manifest, read_previous, upload
    from gallerypipe.storage import open_store

    counter = RequestCounter()
    marks = {}
    meter = CpuMeter()
    start = time.perf_counter()
    store = open_store(url, options)  # a fresh client, as a new CLI run would have
    store.client.meta.events.register("before-send.s3", counter)
    marks["client"] = time.perf_counter()
    existing = store.list()
    marks["list"] = time.perf_counter()
    previous = read_previous(store, existing)
    marks["read manifest"] = time.perf_counter()
    claimed = {key: r.bytes for key, r in known_renditions(previous.data).items()}
    plan = plan_publish(payloads.keys, existing, claimed)
    marks["plan"] = time.perf_counter()
    with ThreadPoolExecutor(max_workers=options.transfers) as pool:
        futures = [
            pool.submit(upload, store, key, payloads.data[key], "image/jpeg") for key in plan.upload
        ]
        for future in futures:
            future.result()
    marks["upload"] = time.perf_counter()
    changed = publish_manifest(store, payloads.manifest, previous)
    marks["manifest"] = time.perf_counter()
    seconds = marks["manifest"] - start
    cpu, server = meter.read()
    counts = counter.reset()
    fast = getattr(store, "_fast", None)  # PUTs sent through the CRT, not through botocore
    if fast is not None and fast.puts:
        counts["PutObject(CRT)"] = fast.puts
    detail, last = {}, start
    for name, at in marks.items():
        detail[name] = at - last
        last = at
    note = f"{len(plan.upload)} uploaded, {len(plan.reuse)} reused, manifest "
    note += "written" if changed else "unchanged"
    return Result(
        "gallerypipe",
        phase,
        seconds,
        sum(counts.values()),
        len(payloads.keys) + 1,
        len(plan.upload) + int(changed),
        dict(counts),
        detail,
        note,
        cpu,
        server,
    )


# ------------------------------------------------------------------ rclone


def rclone_env(endpoint: str, access_key: str, secret_key: str, config: Path) -> dict[str, str]:
    env = dict(os.environ)
    # rclone 1.60's AWS SDK fails on AWS_CA_BUNDLE ("unable to load custom CA bundle, HTTPClient's
    # transport unsupported type"); the endpoint is plain HTTP, so it is not needed.
    env.pop("AWS_CA_BUNDLE", None)
    env.update(
        RCLONE_CONFIG=str(config),
        RCLONE_CONFIG_GP_TYPE="s3",
        RCLONE_CONFIG_GP_PROVIDER="Ceph",
        RCLONE_CONFIG_GP_ENDPOINT=endpoint,
        RCLONE_CONFIG_GP_ACCESS_KEY_ID=access_key,
        RCLONE_CONFIG_GP_SECRET_ACCESS_KEY=secret_key,
        RCLONE_CONFIG_GP_FORCE_PATH_STYLE="true",
    )
    return env


def rclone_copy(
    rclone: str,
    env: dict[str, str],
    source: Path,
    bucket: str,
    transfers: int,
    phase: str,
    objects: int,
    log: Path,
    *,
    count: bool,
    extra: tuple[str, ...] = (),
) -> Result:
    cmd = [
        rclone,
        "copy",
        str(source),
        f"gp:{bucket}/{PREFIX}",
        "--transfers",
        str(transfers),
        "--stats",
        "0",
        "--log-file",
        str(log),
        *extra,
    ]
    # --dump implies -vv (and refuses --log-level); INFO is enough to see "Copied"
    cmd += ["--dump", "headers"] if count else ["--log-level", "INFO"]
    log.unlink(missing_ok=True)
    meter = CpuMeter()
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    cpu, server = meter.read()
    text = log.read_text(errors="replace") if log.exists() else ""
    if done.returncode != 0:
        tail = "\n".join((done.stderr + text).splitlines()[-15:])
        raise SystemExit(f"rclone failed ({done.returncode}): {' '.join(cmd)}\n{tail}")
    by_kind: Counter[str] = Counter()
    for line in text.splitlines():
        match = _RCLONE_REQUEST.search(line)
        if match:
            method, path = match.groups()
            by_kind["LIST" if method == "GET" and "?" in path else method] += 1
    copied = len(re.findall(r": Copied \(", text))
    name = "rclone " + " ".join(extra) if extra else "rclone"
    return Result(
        name.strip(),
        phase,
        seconds,
        sum(by_kind.values()) if count else None,
        objects,
        copied,
        dict(by_kind),
        note=f"{copied} copied",
        cpu=cpu,
        server_cpu=server,
    )


# ------------------------------------------------------------------ buckets


def admin_client(endpoint: str, access_key: str, secret_key: str):
    import boto3
    from botocore.config import Config

    config = Config(
        s3={"addressing_style": "path"},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        retries={"mode": "standard", "max_attempts": 5},
    )
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name="us-east-1",
        config=config,
    )


def bucket_keys(client, bucket: str) -> set[str]:
    keys = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys |= {item["Key"] for item in page.get("Contents", [])}
    return keys


def delete_bucket(client, bucket: str) -> None:
    keys = sorted(bucket_keys(client, bucket))
    for start in range(0, len(keys), 1000):
        batch = [{"Key": k} for k in keys[start : start + 1000]]
        client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
    client.delete_bucket(Bucket=bucket)


def check_bucket(client, bucket: str, payloads: Payloads) -> str:
    from gallerypipe.manifest import MANIFEST_KEY

    want = {f"{PREFIX}/{k}" for k in [*payloads.keys, MANIFEST_KEY]}
    have = bucket_keys(client, bucket)
    if have == want:
        return f"{bucket}: {len(have)} objects, as expected"
    return f"{bucket}: MISMATCH, {len(want - have)} missing, {len(have - want)} unexpected"


# ------------------------------------------------------------------ report


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or not b:
        return "-"
    return f"{a / b:.2f}"


def summarize(rounds: list[list[Result]]) -> list[Result]:
    """One row per tool and phase: medians over the rounds (requests of round one)."""
    rows: dict[tuple[str, str], Result] = {}
    runs: dict[tuple[str, str], list[Result]] = {}
    for results in rounds:
        for r in results:
            rows.setdefault((r.tool, r.phase), r)
            runs.setdefault((r.tool, r.phase), []).append(r)
    summary = []
    for key, first in rows.items():
        times = [r.seconds for r in runs[key]]
        servers = [r.server_cpu for r in runs[key] if r.server_cpu is not None]
        row = Result(
            **{
                **vars(first),
                "seconds": statistics.median(times),
                "cpu": statistics.median(r.cpu for r in runs[key]),
                "server_cpu": statistics.median(servers) if servers else None,
            }
        )
        if len(times) > 1:
            row.note = "runs: " + " ".join(f"{t:.2f}" for t in times)
        summary.append(row)
    return summary


def print_table(results: list[Result]) -> None:
    header = (
        f"{'tool':<22} {'phase':<6} {'seconds':>8} {'CPU s':>6} {'server':>6} {'requests':>9} "
        f"{'objects/s':>10}  requests by kind"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        kinds = " ".join(f"{k}={v}" for k, v in sorted(r.by_kind.items()))
        requests = "-" if r.requests is None else str(r.requests)
        server = "-" if r.server_cpu is None else f"{r.server_cpu:.1f}"
        print(
            f"{r.tool:<22} {r.phase:<6} {r.seconds:>8.2f} {r.cpu:>6.1f} {server:>6} {requests:>9} "
            f"{r.objects_per_s:>10.0f}  {kinds}"
        )
    for r in results:
        if r.note.startswith("runs:"):
            print(f"  {r.tool} {r.phase} {r.note}")


def print_ratios(results: list[Result]) -> None:
    gp = {r.phase: r for r in results if r.tool == "gallerypipe"}
    others = [r for r in results if r.tool != "gallerypipe"]
    if not others:
        return
    print("\ngallerypipe / rclone (below 1: gallerypipe takes less)")
    for other in others:
        mine = gp.get(other.phase)
        if mine is not None:
            print(
                f"  {other.phase:<6} vs {other.tool:<22} seconds "
                f"{ratio(mine.seconds, other.seconds):>5}   CPU {ratio(mine.cpu, other.cpu):>5}   "
                f"server CPU {ratio(mine.server_cpu, other.server_cpu):>5}   requests "
                f"{ratio(mine.requests, other.requests):>5}"
            )


def print_goals(results: list[Result], objects: int, import_s: float) -> None:
    gp = {r.phase: r for r in results if r.tool == "gallerypipe"}
    print("\ngoals")
    noop = gp.get("no-op")
    if noop is not None:
        cold = noop.seconds + import_s
        verdict = "PASS" if cold < NOOP_GOAL_S else "FAIL"
        if objects < NOOP_GOAL_OBJECTS:
            verdict += f" (only {objects} objects; the goal is about {NOOP_GOAL_OBJECTS})"
        print(
            f"  no-op re-run under {NOOP_GOAL_S:.0f} s: {noop.seconds:.2f} s "
            f"(+{import_s:.2f} s boto3 import = {cold:.2f} s) → {verdict}"
        )
    first = gp.get("first")
    theirs = next((r for r in results if r.tool == "rclone" and r.phase == "first"), None)
    if first is not None and theirs is not None:
        verdict = "PASS" if first.seconds <= theirs.seconds else "FAIL"
        print(
            f"  first upload at least as fast as rclone: {first.seconds:.2f} s vs "
            f"{theirs.seconds:.2f} s → {verdict}"
        )


def print_details(rounds: list[list[Result]]) -> None:
    print("\ngallerypipe time by step (s):")
    for n, results in enumerate(rounds, 1):
        for r in results:
            if r.tool == "gallerypipe":
                steps = ", ".join(f"{k} {v:.3f}" for k, v in r.detail.items())
                print(f"  round {n} {r.phase:<6} {steps}")
    for n, results in enumerate(rounds, 1):
        for r in results:
            if "seconds with --dump headers" in r.detail:
                print(
                    f"  round {n} {r.tool} {r.phase}: "
                    f"{r.detail['seconds with --dump headers']:.2f} s in the counting run"
                )


# ------------------------------------------------------------------ main


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--objects", type=int, default=2000, help="payloads to publish (2000)")
    parser.add_argument("--size-kb", type=int, default=100, help="size of each payload (100)")
    parser.add_argument(
        "--endpoint",
        default=os.environ.get("GALLERYPIPE_BENCH_ENDPOINT", DEFAULT_ENDPOINT),
        help=f"S3 endpoint (GALLERYPIPE_BENCH_ENDPOINT, default {DEFAULT_ENDPOINT})",
    )
    parser.add_argument("--transfers", type=int, default=8, help="concurrent uploads (8)")
    parser.add_argument("--access-key", default=os.environ.get("S3_ACCESS_KEY", DEFAULT_ACCESS_KEY))
    parser.add_argument("--secret-key", default=os.environ.get("S3_SECRET_KEY", DEFAULT_SECRET_KEY))
    parser.add_argument("--seed", type=int, default=1, help="for the payloads")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="repeat everything with fresh buckets, alternating which tool goes first; "
        "the table shows medians (1)",
    )
    parser.add_argument("--rclone", default="rclone", help="rclone binary")
    parser.add_argument("--no-rclone", action="store_true", help="benchmark gallerypipe only")
    parser.add_argument(
        "--rclone-count",
        choices=("separate", "inline"),
        default="separate",
        help="count rclone's requests in extra runs with --dump headers into another bucket "
        "(separate, the default) or in the timed runs themselves (inline: quicker, but "
        "dumping may slow rclone down)",
    )
    parser.add_argument(
        "--rclone-variants",
        action="store_true",
        help="also time rclone --s3-no-head (first upload) and --size-only (no-op)",
    )
    parser.add_argument("--keep-buckets", action="store_true", help="do not delete the buckets")
    parser.add_argument("--json", type=Path, help="also write every result here")
    return parser.parse_args(argv)


class Bench:
    def __init__(self, args: argparse.Namespace, payloads: Payloads, work: Path) -> None:
        from gallerypipe.storage import StoreOptions

        self.args = args
        self.payloads = payloads
        self.objects = len(payloads.keys) + 1
        self.options = StoreOptions(
            endpoint_url=args.endpoint, path_style=True, transfers=args.transfers
        )
        self.admin = admin_client(args.endpoint, args.access_key, args.secret_key)
        self.run_id = f"{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
        self.buckets: list[str] = []
        self.checks: list[str] = []
        self.rclone = None if args.no_rclone else shutil.which(args.rclone)
        if not args.no_rclone and self.rclone is None:
            raise SystemExit(f"{args.rclone}: not found; apt-get install -y rclone, or --no-rclone")
        self.work = work
        if self.rclone:
            write_tree(payloads, work / "src")
            (work / "rclone.conf").touch()

    def fresh_bucket(self, tag: str) -> str:
        name = f"gpbench-{self.run_id}-{tag}"
        self.admin.create_bucket(Bucket=name)
        self.buckets.append(name)
        return name

    def gallerypipe(self, round_: int) -> list[Result]:
        bucket = self.fresh_bucket(f"{round_}-gp")
        url = f"s3://{bucket}/{PREFIX}"
        results = []
        for phase in ("first", "no-op"):
            result = gallerypipe_publish(url, self.options, self.payloads, phase)
            print(f"  gallerypipe {phase}: {result.seconds:.2f} s, {result.note}", flush=True)
            results.append(result)
        self.checks.append(check_bucket(self.admin, bucket, self.payloads))
        return results

    def rclone_runs(self, round_: int) -> list[Result]:
        args = self.args
        env = rclone_env(args.endpoint, args.access_key, args.secret_key, self.work / "rclone.conf")
        copy = dict(
            rclone=self.rclone,
            env=env,
            source=self.work / "src",
            transfers=args.transfers,
            objects=self.objects,
            log=self.work / "rclone.log",
        )
        inline = args.rclone_count == "inline"
        runs = [("rc", (("first", ()), ("no-op", ())))]
        if args.rclone_variants:
            runs.append(("rct", (("first", ("--s3-no-head",)), ("no-op", ("--size-only",)))))
        results = []
        for tag, phases in runs:
            bucket = self.fresh_bucket(f"{round_}-{tag}")
            timed = [
                rclone_copy(**copy, bucket=bucket, phase=phase, count=inline, extra=extra)
                for phase, extra in phases
            ]
            self.checks.append(check_bucket(self.admin, bucket, self.payloads))
            if not inline:  # the same runs again, with --dump headers, for the counts
                counted_bucket = self.fresh_bucket(f"{round_}-{tag}c")
                for (phase, extra), result in zip(phases, timed, strict=True):
                    counted = rclone_copy(
                        **copy, bucket=counted_bucket, phase=phase, count=True, extra=extra
                    )
                    result.requests, result.by_kind = counted.requests, counted.by_kind
                    result.detail["seconds with --dump headers"] = counted.seconds
            for r in timed:
                print(f"  {r.tool} {r.phase}: {r.seconds:.2f} s, {r.note}", flush=True)
            results += timed
        return results

    def round(self, n: int) -> list[Result]:
        print(f"round {n}", flush=True)
        if not self.rclone:
            return self.gallerypipe(n)
        if n % 2:
            return self.gallerypipe(n) + self.rclone_runs(n)
        theirs = self.rclone_runs(n)
        return self.gallerypipe(n) + theirs

    def clean_up(self) -> None:
        """Delete the buckets made so far: after each round, since three rounds of 10,000
        objects per tool filled the test server's 6 GB OSD (writes then hang)."""
        if self.args.keep_buckets:
            if self.buckets:
                print(f"kept buckets: {' '.join(self.buckets)}")
            self.buckets.clear()
            return
        for name in self.buckets:
            delete_bucket(self.admin, name)
        self.buckets.clear()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    # gallerypipe takes its credentials from the standard AWS chain
    os.environ["AWS_ACCESS_KEY_ID"] = args.access_key
    os.environ["AWS_SECRET_ACCESS_KEY"] = args.secret_key
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)

    import_start = time.perf_counter()
    import gallerypipe.s3  # noqa: F401  (boto3: an import every CLI run pays once)

    import_s = time.perf_counter() - import_start

    t = time.perf_counter()
    payloads = make_payloads(args.objects, args.size_kb, args.seed)
    total_mb = sum(len(d) for d in payloads.data.values()) / 1e6
    print(
        f"{args.objects} objects × {args.size_kb} KiB = {total_mb:.0f} MB + manifest "
        f"{len(payloads.manifest) / 1e6:.2f} MB, generated in {time.perf_counter() - t:.1f} s; "
        f"endpoint {args.endpoint}, transfers {args.transfers}, {os.cpu_count()} CPUs, "
        f"load average {load_average()}",
        flush=True,
    )
    rounds: list[list[Result]] = []
    with tempfile.TemporaryDirectory(prefix="gpbench-") as work:
        bench = Bench(args, payloads, Path(work))
        try:
            for n in range(1, args.rounds + 1):
                rounds.append(bench.round(n))
                bench.clean_up()
        finally:
            bench.clean_up()

    print()
    for line in bench.checks:
        print(f"check: {line}")
    print()
    summary = summarize(rounds)
    print_table(summary)
    print_ratios(summary)
    print_goals(summary, args.objects, import_s)
    print_details(rounds)
    print(
        f"\nboto3 import {import_s:.2f} s (not in the seconds above); "
        f"whole run {time.perf_counter() - started:.0f} s; load average now {load_average()} "
        "(the S3 server shares this machine: other load skews every figure)"
    )
    if args.json:
        record = {
            "args": {k: str(v) for k, v in vars(args).items() if k != "secret_key"},
            "boto3_import_s": import_s,
            "load_average_end": os.getloadavg(),
            "summary": [{**vars(r), "objects_per_s": r.objects_per_s} for r in summary],
            "rounds": [[vars(r) for r in results] for results in rounds],
        }
        args.json.write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
