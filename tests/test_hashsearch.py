"""hashsearch: multi-index pair search against a plain Python reference."""

from __future__ import annotations

from itertools import combinations, product

import numpy as np
import pytest

from gallerypipe import hashsearch
from gallerypipe.hashsearch import (
    CHUNKS,
    MAX_CHUNK_RADIUS,
    chunk_radii,
    close_pairs,
    close_pairs_between,
)


def reference_pairs(hashes, threshold):
    return sorted(
        (i, j, (a ^ b).bit_count())
        for (i, a), (j, b) in combinations(enumerate(hashes), 2)
        if (a ^ b).bit_count() <= threshold
    )


def as_list(pairs):
    return sorted(
        zip(pairs.left.tolist(), pairs.right.tolist(), pairs.distance.tolist(), strict=True)
    )


def clustered_hashes(rng, clusters: int, per_cluster: int) -> list[int]:
    """64-bit hashes in clusters (a few bits flipped around a centre), plus exact repeats.

    Uniformly random hashes are almost never within 10 bits of each other, which would leave
    the comparison with nothing to compare.
    """
    hashes = []
    for centre in rng.integers(0, 2**64, size=clusters, dtype=np.uint64):
        for _ in range(per_cluster):
            flips = rng.choice(64, size=int(rng.integers(0, 14)), replace=False)
            value = int(centre)
            for bit in flips:
                value ^= 1 << int(bit)
            hashes.append(value)
    hashes += hashes[:: per_cluster + 1]  # exact repeats, far apart in the list
    order = rng.permutation(len(hashes))
    return [hashes[k] for k in order]


@pytest.mark.parametrize("threshold", [0, 3, 4, 7, 8, 10, 11, 12, 16])
def test_close_pairs_matches_brute_force(threshold):
    rng = np.random.default_rng(20180614 + threshold)
    hashes = clustered_hashes(rng, clusters=40, per_cluster=8)
    hashes.append((1 << 64) - 1)  # the top bit set: must survive the uint64 conversion
    hashes.append((1 << 64) - 1 ^ 0b111)
    expected = reference_pairs(hashes, threshold)
    assert len(expected) > 3  # the case is not trivially empty
    assert as_list(close_pairs(hashes, threshold)) == expected


def test_both_search_methods_are_exercised():
    assert max(chunk_radii(10)) <= MAX_CHUNK_RADIUS  # multi-index
    assert max(chunk_radii(16)) > MAX_CHUNK_RADIUS  # brute force


@pytest.mark.parametrize("threshold", range(0, 20))
def test_chunk_radii_satisfy_the_pigeonhole_bound(threshold):
    radii = chunk_radii(threshold)
    assert len(radii) == CHUNKS
    assert sum(r + 1 for r in radii) > threshold


@pytest.mark.parametrize("batch", [1, 7, 64])
def test_close_pairs_is_the_same_across_batch_boundaries(monkeypatch, batch):
    rng = np.random.default_rng(7)
    hashes = clustered_hashes(rng, clusters=12, per_cluster=6)
    monkeypatch.setattr(hashsearch, "_QUERY_BATCH", batch)
    monkeypatch.setattr(hashsearch, "_BLOCK", batch)
    for threshold in (10, 14):
        assert as_list(close_pairs(hashes, threshold)) == reference_pairs(hashes, threshold)


@pytest.mark.parametrize("threshold", [6, 10, 14])
def test_close_pairs_between_two_sets(threshold):
    rng = np.random.default_rng(11)
    hashes = clustered_hashes(rng, clusters=20, per_cluster=6)
    queries, database = hashes[::2], hashes[1::2]
    expected = sorted(
        (i, j, (a ^ b).bit_count())
        for (i, a), (j, b) in product(enumerate(queries), enumerate(database))
        if (a ^ b).bit_count() <= threshold
    )
    assert len(expected) > 3
    assert as_list(close_pairs_between(queries, database, threshold)) == expected


def test_close_pairs_of_nothing():
    assert as_list(close_pairs([], 10)) == []
    assert as_list(close_pairs([0xFFFF], 64)) == []
    assert as_list(close_pairs_between([], [1, 2], 10)) == []
