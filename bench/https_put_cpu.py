#!/usr/bin/env python3
"""Client CPU per small PutObject through S3Storage.put, boto3 against the CRT, HTTP and HTTPS.

HTTPS goes through the tests' loopback TLS terminator (tests/tlsproxy.py, a trustme CA given as
AWS_CA_BUNDLE) in front of RGW, run in a child process so that only gallerypipe's own CPU
(resource.getrusage(RUSAGE_SELF): hashing, the thread pool, signing, TLS) is counted. HTTP goes
to RGW directly. Each mode: a fresh S3Storage, 50 warm-up PUTs, then N timed ones on
`--transfers` threads, as publish does.

    flock /tmp/gp-bench.lock python bench/https_put_cpu.py --puts 2000
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]  # this checkout's gallerypipe, the test proxy
import trustme  # noqa: E402
from s3server import ensure_s3_server, fresh_bucket  # noqa: E402
from tlsproxy import TlsProxy  # noqa: E402

from gallerypipe import s3crt  # noqa: E402
from gallerypipe.s3 import S3Storage  # noqa: E402
from gallerypipe.storage import IMMUTABLE, StoreOptions  # noqa: E402

WARM_UP = 50


def serve_tls(port: int, ca: trustme.CA, endpoints: multiprocessing.Queue) -> None:
    with TlsProxy(port, ca) as proxy:
        endpoints.put(proxy.endpoint)
        proxy.thread.join()


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(url: str, endpoint: str, crt: bool, puts: int, size: int, transfers: int) -> tuple:
    store = S3Storage(
        url, StoreOptions(endpoint_url=endpoint, path_style=True, transfers=transfers)
    )
    usable = s3crt.usable
    s3crt.usable = usable if crt else (lambda *_: False)
    data = [os.urandom(size) for _ in range(WARM_UP + puts)]
    try:
        with ThreadPoolExecutor(transfers) as pool:

            def put(n: int) -> str:
                return store.put(f"r/{n}.jpg", data[n], "image/jpeg", IMMUTABLE)

            list(pool.map(put, range(WARM_UP)))
            start, wall = cpu(), time.perf_counter()
            list(pool.map(put, range(WARM_UP, WARM_UP + puts)))
            used, wall = cpu() - start, time.perf_counter() - wall
    finally:
        s3crt.usable = usable
    assert (store._fast is not None and store._fast.puts == WARM_UP + puts) == crt
    return used / puts * 1000, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--puts", type=int, default=2000)
    parser.add_argument("--size-kb", type=int, default=20)
    parser.add_argument("--transfers", type=int, default=16)
    args = parser.parse_args()
    server = ensure_s3_server(Path(tempfile.mkdtemp()))
    os.environ.update(
        AWS_ACCESS_KEY_ID=server.access_key,
        AWS_SECRET_ACCESS_KEY=server.secret_key,
        AWS_DEFAULT_REGION=server.region,
    )
    ca = trustme.CA()
    ca_file = Path(tempfile.mkdtemp()) / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    os.environ["AWS_CA_BUNDLE"] = str(ca_file)
    endpoints: multiprocessing.Queue = multiprocessing.Queue()
    port = urlparse(server.endpoint_url).port
    proxy = multiprocessing.Process(target=serve_tls, args=(port, ca, endpoints), daemon=True)
    proxy.start()
    https = endpoints.get(timeout=30)
    load = os.getloadavg()[0]
    print(f"{args.puts} PUTs of {args.size_kb} KiB, {args.transfers} threads; load {load:.1f}")
    print(f"{'endpoint':8} {'client':7} {'CPU ms/PUT':>10} {'wall s':>7}")
    for scheme, endpoint in (("http", server.endpoint_url), ("https", https)):
        for crt in (False, True):
            url = f"s3://{fresh_bucket(server, 'bench-tls')}/p"
            ms, wall = run(url, endpoint, crt, args.puts, args.size_kb * 1024, args.transfers)
            print(f"{scheme:8} {'CRT' if crt else 'boto3':7} {ms:10.2f} {wall:7.2f}")
    print(f"gallerypipe from {s3crt.__file__}; load at the end {os.getloadavg()[0]:.1f}")
    proxy.terminate()


if __name__ == "__main__":
    main()
