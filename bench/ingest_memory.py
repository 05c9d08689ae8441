"""Peak memory of a default ingest (JPEG + WebP) as the number of 24 MP photos grows.

    python bench/ingest_memory.py --counts 40 200 1000 [--jobs 0]

The goal (issue #8): peak RSS under 500 MB for 1,000 photos of 24 MP, flat in the count. The
photos are ingest_speed.py's 40 (cached in --cache-dir), each copied with a JPEG comment
segment saying which copy it is: new bytes, so gallerypipe analyses and renders every copy as a
photo of its own (the analysis cache is per run), while making 1,000 costs 40 photos' work.
Prints, per count: wall seconds, img/s, the main process's peak RSS, the largest worker's, and
main + jobs × worker, the most the run can have held at once.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
import tempfile
import time
from pathlib import Path

from ingest_speed import ingest_in_child, make_photos


def with_comment(jpeg: bytes, text: str) -> bytes:
    """The same JPEG with a COM segment right after SOI: other bytes, the same pixels."""
    body = text.encode()
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(body) + 2) + body + jpeg[2:]


def make_copies(sources: list[Path], count: int, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        path = folder / f"IMG_{i:04d}.JPG"
        if not path.exists():
            source = sources[i % len(sources)]
            path.write_bytes(with_comment(source.read_bytes(), f"copy {i}"))
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[40, 200, 1000])
    parser.add_argument("--jobs", type=int, default=0, help="processes (0: every core)")
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "gp-24mp")
    args = parser.parse_args()
    jobs = args.jobs or len(os.sched_getaffinity(0))
    sources = make_photos(40, args.cache_dir / "all", jobs)
    heads = ("photos", "wall s", "img/s", "main MB", "worker MB", "bound MB")
    print(" ".join(f"{h:>{w}}" for h, w in zip(heads, (7, 8, 7, 8, 10, 9), strict=True)))
    for count in args.counts:
        photos = make_copies(sources, count, args.cache_dir / f"copies{count}")
        with tempfile.TemporaryDirectory(prefix="gp-cache-") as tmp:
            start = time.perf_counter()
            run = ingest_in_child(photos, "jpeg,webp", Path(tmp) / "analysis.sqlite", jobs)
            seconds = time.perf_counter() - start
        assert run["rendered"] == count, run
        main_mb, worker_mb = run["rss_main_mb"], run["rss_worker_mb"]
        print(
            f"{count:7d} {seconds:8.1f} {count / seconds:7.2f} {main_mb:8.0f} {worker_mb:10.0f} "
            f"{main_mb + jobs * worker_mb:9.0f}",
            flush=True,
        )


if __name__ == "__main__":
    sys.exit(main())
