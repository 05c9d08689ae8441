"""How long the pair search takes: all pairs within T bits among N 64-bit hashes.

    python bench/dedup_speed.py [--n 100000] [--threshold 10]

The hashes are clustered like a real shoot (duplicate groups of 1-8 around random centres, each
copy a few bits off) rather than uniform, so the search has real pairs to find. Prints the time
and CPU time of the best of three runs (one thread) and the number of pairs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's package

from gallerypipe.hashsearch import close_pairs


def clustered(n: int, seed: int = 20180614) -> np.ndarray:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 9, size=n)
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), n) + 1]
    centres = rng.integers(0, 2**64, size=len(sizes), dtype=np.uint64)
    values = np.repeat(centres, sizes)[:n]
    flips = rng.integers(0, 64, size=(n, 6))
    noise = rng.random((n, 6)) < 0.5  # about three bits flipped per copy
    for k in range(flips.shape[1]):
        values ^= np.where(noise[:, k], np.uint64(1) << flips[:, k].astype(np.uint64), 0).astype(
            np.uint64
        )
    return rng.permutation(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--threshold", type=int, default=10)
    args = parser.parse_args()
    hashes = clustered(args.n)
    wall, cpu, pairs = float("inf"), float("inf"), None
    for _ in range(3):
        start, start_cpu = time.perf_counter(), time.process_time()
        pairs = close_pairs(hashes, args.threshold)
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    print(
        f"close_pairs: {args.n} hashes, threshold {args.threshold}: {len(pairs.left)} pairs in "
        f"{wall:.2f} s wall, {cpu:.2f} s CPU (best of 3; load average {os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
