"""All pairs of 64-bit hashes within a Hamming distance, without a Python-level O(n²) loop.

Multi-index hashing (Norouzi et al.) with the general pigeonhole principle (Qin et al.): split each
hash into four 16-bit chunks and give chunk c a radius r_c with Σ (r_c + 1) > T. Two hashes within
T bits then differ in at most r_c bits in some chunk c, so it is enough to look up, for every hash
and chunk, the buckets within r_c bits of its chunk value in a direct-address table of 65,536
buckets, and to check the candidates found there. For T = 10 the radii are 1, 2, 2, 2. For larger
T the number of buckets to probe explodes, and a blockwise brute-force XOR + popcount is used.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import combinations
from typing import NamedTuple

import numpy as np

CHUNKS, CHUNK_BITS = 4, 16
MAX_CHUNK_RADIUS = 2  # 137 probes per chunk; beyond it brute force is cheaper
_QUERY_BATCH = 8192
_BLOCK = 2048


class Pairs(NamedTuple):
    """Index pairs with their Hamming distance, as parallel arrays."""

    left: np.ndarray
    right: np.ndarray
    distance: np.ndarray


def as_uint64(hashes: Sequence[int] | np.ndarray) -> np.ndarray:
    if isinstance(hashes, np.ndarray):
        return hashes.astype(np.uint64, copy=False)
    return np.fromiter((h & 0xFFFFFFFFFFFFFFFF for h in hashes), dtype=np.uint64, count=len(hashes))


def close_pairs(hashes: Sequence[int] | np.ndarray, threshold: int) -> Pairs:
    """Every pair i < j whose hashes differ in at most threshold bits, each pair once."""
    values = as_uint64(hashes)
    return _search(values, values, threshold, self_join=True)


def close_pairs_between(
    queries: Sequence[int] | np.ndarray, database: Sequence[int] | np.ndarray, threshold: int
) -> Pairs:
    """Every (query index, database index) pair within threshold bits, each pair once."""
    return _search(as_uint64(queries), as_uint64(database), threshold, self_join=False)


def _search(queries: np.ndarray, database: np.ndarray, threshold: int, self_join: bool) -> Pairs:
    radii = chunk_radii(threshold)
    if max(radii) > MAX_CHUNK_RADIUS:
        return _brute_force(queries, database, threshold, self_join)
    found = []
    for chunk, radius in enumerate(radii):
        masks = _masks(radius)
        table = _Table(_chunk(database, chunk))
        query_keys = _chunk(queries, chunk)
        for start in range(0, len(queries), _QUERY_BATCH):
            rows = np.arange(start, min(start + _QUERY_BATCH, len(queries)), dtype=np.int32)
            for left, right in table.candidates(rows, query_keys[rows], masks, self_join):
                distance = np.bitwise_count(queries[left] ^ database[right])
                keep = distance <= threshold
                left, right, distance = left[keep], right[keep], distance[keep]
                # A pair close in several chunks is reported by the first of them only.
                first = np.ones(len(left), dtype=bool)
                for earlier in range(chunk):
                    differ = np.bitwise_count(_chunk(queries[left] ^ database[right], earlier))
                    first &= differ > radii[earlier]
                left, right = left[first], right[first]
                if self_join:  # probed from the lower chunk value, not the lower row
                    left, right = np.minimum(left, right), np.maximum(left, right)
                found.append((left, right, distance[first]))
    return _concat(found)


def chunk_radii(threshold: int) -> list[int]:
    """Radii r_c, as equal as can be, with Σ (r_c + 1) = threshold + 1 (the fewest probes)."""
    total = max(threshold + 1 - CHUNKS, 0)
    return [(total + c) // CHUNKS for c in range(CHUNKS)]


class _Table:
    """A direct-address table: for each 16-bit key, the database rows holding it."""

    def __init__(self, keys: np.ndarray) -> None:
        self.rows = np.argsort(keys, kind="stable").astype(np.int32)
        self.counts = np.bincount(keys, minlength=1 << CHUNK_BITS).astype(np.int32)
        self.starts = (np.cumsum(self.counts) - self.counts).astype(np.int32)

    def candidates(
        self, rows: np.ndarray, keys: np.ndarray, masks: np.ndarray, self_join: bool
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(query rows, database rows) sharing a bucket within the masks, in rounds.

        Round k takes the k-th row of every bucket still that long: buckets hold one or two
        rows on average, so this beats np.repeat, which is slow for such short runs. In a
        self-join a pair of different buckets is probed from the lower key only, and a pair
        in one bucket is kept with the lower row on the left.
        """
        probes = keys[:, None] ^ masks[None, :]  # masks[0] is 0: the query's own bucket
        wanted = self.counts[probes] > 0
        if self_join:
            wanted &= probes >= keys[:, None]
        flat = np.flatnonzero(wanted)
        owners, probes = rows[flat // len(masks)], probes.ravel()[flat]
        same = flat % len(masks) == 0
        starts, counts = self.starts[probes], self.counts[probes]
        k = 0
        while len(owners):
            right = self.rows[starts + k]
            if self_join:
                keep = ~same | (right > owners)
                yield owners[keep], right[keep]
            else:
                yield owners, right
            k += 1
            more = counts > k
            owners, starts, counts = owners[more], starts[more], counts[more]
            if self_join:
                same = same[more]


def _chunk(values: np.ndarray, chunk: int) -> np.ndarray:
    return ((values >> np.uint64(chunk * CHUNK_BITS)) & np.uint64(0xFFFF)).astype(np.int32)


def _masks(radius: int) -> np.ndarray:
    masks = [0]
    for k in range(1, radius + 1):
        masks += [sum(1 << b for b in bits) for bits in combinations(range(CHUNK_BITS), k)]
    return np.array(masks, dtype=np.int32)


def _brute_force(queries: np.ndarray, database: np.ndarray, threshold: int, self_join: bool):
    found = []
    for start in range(0, len(queries), _BLOCK):
        block = queries[start : start + _BLOCK]
        distance = np.bitwise_count(block[:, None] ^ database[None, :])
        rows, cols = np.nonzero(distance <= threshold)
        if self_join:
            upper = cols > rows + start
            rows, cols = rows[upper], cols[upper]
        found.append((rows + start, cols, distance[rows, cols]))
    return _concat(found)


def _concat(found: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> Pairs:
    if not found:
        empty = np.zeros(0, dtype=np.int64)
        return Pairs(empty, empty, empty)
    left, right, distance = (np.concatenate(parts) for parts in zip(*found, strict=True))
    return Pairs(left.astype(np.int64), right.astype(np.int64), distance.astype(np.int64))
