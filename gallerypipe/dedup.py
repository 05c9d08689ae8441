"""Group duplicate photos and keep the best of each group, with a reason for every decision.

Hashing lives in analyse; this module only searches over hashes and decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .model import Duplicate, DuplicateGroup, Photo

DEFAULT_THRESHOLD = 8  # phash Hamming distance (of 64 bits) for a near-duplicate
BURST_SECONDS = 2.0  # same camera within this many seconds with close hashes: one burst
MOMENT_SECONDS = 5.0  # same camera further apart than this: different moments, kept apart
_BLOCK = 2048


@dataclass(frozen=True)
class DedupResult:
    kept: tuple[Photo, ...]
    groups: tuple[DuplicateGroup, ...]

    @property
    def dropped(self) -> int:
        return sum(len(g.duplicates) for g in self.groups)


def close_pairs(hashes: Sequence[int], threshold: int) -> list[tuple[int, int, int]]:
    """All index pairs (i < j) whose 64-bit hashes differ in at most threshold bits, with it.

    Vectorised XOR + popcount in blocks; memory stays at _BLOCK × n.
    """
    values = np.array([h & 0xFFFFFFFFFFFFFFFF for h in hashes], dtype=np.uint64)
    pairs: list[tuple[int, int, int]] = []
    for start in range(0, len(values), _BLOCK):
        block = values[start : start + _BLOCK]
        distance = np.bitwise_count(block[:, None] ^ values[None, start:])
        rows, cols = np.nonzero(distance <= threshold)
        upper = cols > rows  # cols are offsets from start, like rows
        for i, j in zip(rows[upper], cols[upper], strict=True):
            pairs.append((start + int(i), start + int(j), int(distance[i, j])))
    return pairs


def find_duplicates(photos: Sequence[Photo], threshold: int = DEFAULT_THRESHOLD) -> DedupResult:
    """Exact copies (same bytes), near copies (close phash) and bursts collapse to one keeper.

    Photos come in gallery order and the kept ones stay in it.
    """
    links = sorted(_links(photos, threshold), key=lambda link: link[3])  # closest first
    members = {i: [i] for i in range(len(photos))}
    root = list(range(len(photos)))
    for i, j, _reason, _distance in links:
        a, b = root[i], root[j]
        if a == b or _moments_apart(photos, members[a], members[b]):
            continue  # an export close to two moments must not merge them
        members[a] += members.pop(b)
        for k in members[a]:
            root[k] = a
    best_link = {(i, j): (reason, d) for i, j, reason, d in links}
    groups, kept = [], []
    for indices in members.values():
        keep = min(indices, key=lambda i: keeper_rank(photos[i]))
        kept.append(keep)
        if len(indices) > 1:
            groups.append(_group(photos, keep, indices, best_link))
    return DedupResult(tuple(photos[i] for i in sorted(kept)), tuple(groups))


def _moments_apart(photos: Sequence[Photo], left: list[int], right: list[int]) -> bool:
    """Whether joining two groups would put two different moments of one camera together."""
    return any(different_moments(photos[i], photos[j]) for i in left for j in right)


def different_moments(a: Photo, b: Photo) -> bool:
    """Same camera, both with EXIF times, further apart than a burst: two photos, not one."""
    if not (a.meta.has_exif and b.meta.has_exif) or _camera(a) != _camera(b):
        return False
    if a.time_from_file or b.time_from_file:
        return False
    return abs((a.taken - b.taken).total_seconds()) > MOMENT_SECONDS


def keeper_rank(photo: Photo) -> tuple:
    """Lower is better: camera original over export, more pixels, sharper, earlier."""
    a = photo.analysis
    return (
        not photo.meta.has_exif,
        -(a.width * a.height),
        -a.sharpness,
        photo.taken,
        photo.source.display,
    )


def _links(photos: Sequence[Photo], threshold: int) -> list[tuple[int, int, str, int]]:
    links: list[tuple[int, int, str, int]] = []
    first_by_sha: dict[str, int] = {}
    for i, photo in enumerate(photos):
        j = first_by_sha.setdefault(photo.analysis.sha256, i)
        if j != i:
            links.append((j, i, "exact", 0))
    for i, j, distance in close_pairs([p.analysis.phash for p in photos], threshold):
        if photos[i].analysis.sha256 == photos[j].analysis.sha256:
            continue
        reason = near_reason(photos[i], photos[j])
        if reason:
            links.append((i, j, reason, distance))
    return links


def near_reason(a: Photo, b: Photo) -> str | None:
    """Why two photos with close hashes are one photo, or None when they are different moments."""
    if different_moments(a, b):
        return None
    same_body = a.meta.has_exif and b.meta.has_exif and _camera(a) == _camera(b)
    if same_body and not (a.time_from_file or b.time_from_file) and a.taken != b.taken:
        return "burst"
    return "near"


def _camera(photo: Photo) -> tuple[str | None, str | None, str | None]:
    return photo.meta.make, photo.meta.model, photo.meta.serial


def _group(
    photos: Sequence[Photo],
    keep: int,
    indices: list[int],
    links: dict[tuple[int, int], tuple[str, int]],
) -> DuplicateGroup:
    duplicates = []
    for i in sorted(indices, key=lambda i: photos[i].source.display):
        if i == keep:
            continue
        reason, distance = links.get((min(i, keep), max(i, keep)), _nearest(i, indices, links))
        duplicates.append(Duplicate(photos[i], reason, distance))
    return DuplicateGroup(photos[keep], tuple(duplicates))


def _nearest(i: int, indices: list[int], links: dict[tuple[int, int], tuple[str, int]]):
    """The closest link of i within its group, for a member not linked to the keeper directly."""
    candidates = [links[k] for k in links if i in k and (k[0] in indices and k[1] in indices)]
    return min(candidates, key=lambda link: link[1])
