"""Group duplicate photos and keep the best of each group, with a reason for every decision.

Hashing lives in analyse and the pair search in hashsearch; this module only decides. Two photos
are linked when their phash (or the phash of one turned by 90°, 180° or 270°) is within the
threshold and the evidence agrees:

- same bytes: "exact";
- same camera body, EXIF times within MOMENT_SECONDS: "burst" (frames of one burst differ);
- otherwise the 32×32 thumbnails kept by analyse are compared region by region, and a photo in
  which one region changed while the rest stayed put is a different moment, never a duplicate;
  a pair in the upper part of the threshold must also be confirmed by its dhash.

Groups are joined most similar link first (so an export joins the moment it was made from), and
never so as to put two different moments of one camera together.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .hashsearch import close_pairs, close_pairs_between
from .model import Duplicate, DuplicateGroup, Photo

DEFAULT_THRESHOLD = 8  # phash Hamming distance (of 64 bits) for a near-duplicate
MOMENT_SECONDS = 5.0  # one camera: closer frames are a burst; further apart and changed, moments
CONFIRM_ABOVE = 0.5  # phash distances above this fraction of the threshold need dhash to agree
DHASH_CONFIRM = 12  # dhash Hamming distance that confirms a borderline pair
# Local change scores (see local_change), calibrated on bench/make_corpus.py's corpora: a region
# of 12-25 % of each side visibly changed scores ≥ 0.31, a re-encode, export, ±0.3 EV or a 2-4 %
# crop ≤ 0.48. One camera minutes apart is judged strictly; a pair without that evidence, less so.
MOMENT_LOCAL = 0.25
LOCAL_CHANGE = 0.5
_WINDOW = 5  # thumbnail pixels on a side of the region compared
_CROPS = (0.02, 0.04)  # crops tried when aligning two thumbnails
_BATCH = 64  # pairs aligned at once (49 crops each way)
_REASONS = ("exact", "near", "burst", "rotated")


@dataclass(frozen=True)
class DedupResult:
    kept: tuple[Photo, ...]
    groups: tuple[DuplicateGroup, ...]

    @property
    def dropped(self) -> int:
        return sum(len(g.duplicates) for g in self.groups)


@dataclass(frozen=True)
class Link:
    left: int
    right: int
    reason: str
    distance: int
    local: float = 0.0  # local change score: lower is more alike


def find_duplicates(photos: Sequence[Photo], threshold: int = DEFAULT_THRESHOLD) -> DedupResult:
    """Exact copies, near and rotated copies and bursts collapse to one keeper each.

    Photos come in gallery order and the kept ones stay in it.
    """
    evidence = _Evidence(photos)
    links = sorted(
        find_links(photos, threshold, evidence),
        key=lambda link: (link.reason != "exact", link.local, link.distance),
    )
    members = {i: [i] for i in range(len(photos))}
    root = list(range(len(photos)))
    accepted: list[Link] = []
    for link in links:
        a, b = root[link.left], root[link.right]
        if a == b:
            accepted.append(link)
            continue
        if evidence.moments_apart(members[a], members[b]):
            continue  # an export close to two moments must not merge them
        members[a] += members.pop(b)
        for k in members[a]:
            root[k] = a
        accepted.append(link)
    groups, kept = [], []
    for indices in members.values():
        keep = min(indices, key=lambda i: keeper_rank(photos[i]))
        kept.append(keep)
        if len(indices) > 1:
            groups.append(_group(photos, keep, indices, accepted))
    return DedupResult(tuple(photos[i] for i in sorted(kept)), tuple(groups))


def find_links(
    photos: Sequence[Photo], threshold: int, evidence: _Evidence | None = None
) -> list[Link]:
    """Every pair of photos that are one photo, with why and how far apart their hashes are."""
    evidence = evidence or _Evidence(photos)
    links = _exact_links(photos)
    phash = np.array([p.analysis.phash for p in photos], dtype=np.uint64)
    near = close_pairs(phash, threshold)
    same = set()
    for i, j, d, local in zip(*near, evidence.local(near.left, near.right), strict=True):
        i, j, d = int(i), int(j), int(d)
        same.add((i, j))
        if photos[i].analysis.sha256 == photos[j].analysis.sha256:
            continue
        reason = _judge(photos[i], photos[j], d, threshold, float(local), "near")
        if reason:
            links.append(Link(i, j, reason, d, float(local)))
    links += _rotated_links(photos, threshold, evidence, same)
    return links


def _exact_links(photos: Sequence[Photo]) -> list[Link]:
    first_by_sha: dict[str, int] = {}
    links = []
    for i, photo in enumerate(photos):
        j = first_by_sha.setdefault(photo.analysis.sha256, i)
        if j != i:
            links.append(Link(j, i, "exact", 0))
    return links


def _rotated_links(
    photos: Sequence[Photo], threshold: int, evidence: _Evidence, near: set[tuple[int, int]]
) -> list[Link]:
    """Photo i turned by 90°·(k+1) within the threshold of photo j (and not near as it is)."""
    turned = np.array([p.analysis.rotated_phashes for p in photos], dtype=np.uint64).reshape(-1)
    phash = np.array([p.analysis.phash for p in photos], dtype=np.uint64)
    found = close_pairs_between(turned, phash, threshold)
    i, turns, j = found.left // 3, found.left % 3 + 1, found.right
    keep = i != j
    i, j, turns, distance = i[keep], j[keep], turns[keep], found.distance[keep]
    best: dict[tuple[int, int], Link] = {}
    locals_ = evidence.local(i, j, turns)
    for a, b, d, local in zip(i.tolist(), j.tolist(), distance.tolist(), locals_, strict=True):
        pair = (min(a, b), max(a, b))
        if pair in near or (pair in best and best[pair].distance <= d):
            continue
        if _judge(photos[a], photos[b], d, threshold, float(local), "rotated", confirm=False):
            best[pair] = Link(*pair, "rotated", d, float(local))
    return list(best.values())


def _judge(
    a: Photo, b: Photo, distance: int, threshold: int, local: float, reason: str, confirm=True
) -> str | None:
    """Why two photos with close hashes are one photo, or None when they are two."""
    seconds = _seconds_apart(a, b)
    if seconds is not None and seconds > MOMENT_SECONDS:
        return None if local > MOMENT_LOCAL else reason
    if seconds:
        return "burst"
    if local > LOCAL_CHANGE:
        return None  # one region changed: another moment, or another photo of the scene
    borderline = confirm and distance > CONFIRM_ABOVE * threshold
    if borderline and (a.analysis.dhash ^ b.analysis.dhash).bit_count() > DHASH_CONFIRM:
        return None
    return reason


def _seconds_apart(a: Photo, b: Photo) -> float | None:
    """Seconds between two frames of one camera body by their EXIF times, else None."""
    if not (a.meta.has_exif and b.meta.has_exif) or _camera(a) != _camera(b):
        return None
    if a.time_from_file or b.time_from_file:
        return None
    return abs((a.taken - b.taken).total_seconds())


def _camera(photo: Photo) -> tuple[str | None, str | None, str | None]:
    return photo.meta.make, photo.meta.model, photo.meta.serial


class _Evidence:
    """Local comparisons of the photos' thumbnails, computed in batches and remembered."""

    def __init__(self, photos: Sequence[Photo]) -> None:
        self.photos = photos
        self.thumbs = _thumbs(photos)
        self.memo: dict[tuple[int, int], bool] = {}

    def local(self, left: np.ndarray, right: np.ndarray, turns: np.ndarray | None = None):
        return local_change(self.thumbs, left, right, turns)

    def moments_apart(self, left: list[int], right: list[int]) -> bool:
        """Whether joining two groups would put two different moments of one camera together."""
        return any(self.different_moments(i, j) for i in left for j in right)

    def different_moments(self, i: int, j: int) -> bool:
        """Same camera, further apart than a burst, and a region changed: two photos."""
        key = (min(i, j), max(i, j))
        if key not in self.memo:
            seconds = _seconds_apart(self.photos[i], self.photos[j])
            self.memo[key] = bool(
                seconds is not None
                and seconds > MOMENT_SECONDS
                and local_change(self.thumbs, np.array([i]), np.array([j]))[0] > MOMENT_LOCAL
            )
        return self.memo[key]


def _thumbs(photos: Sequence[Photo]) -> np.ndarray:
    """The thumbnails as an (n, edge, edge) array, each scaled to zero mean and unit spread.

    The scaling makes a brighter or darker copy (±EV) compare equal to its original.
    """
    if not photos:
        return np.zeros((0, 1, 1), dtype=np.float32)
    edge = photos[0].analysis.hash_method.thumb
    raw = np.frombuffer(b"".join(p.analysis.thumb for p in photos), dtype=np.uint8)
    thumbs = raw.reshape(len(photos), edge, edge).astype(np.float32)
    thumbs -= thumbs.mean(axis=(1, 2), keepdims=True)
    thumbs /= np.maximum(thumbs.std(axis=(1, 2), keepdims=True), 1.0)
    return thumbs


def local_change(
    thumbs: np.ndarray, left: np.ndarray, right: np.ndarray, turns: np.ndarray | None = None
) -> np.ndarray:
    """How much the most changed region of each pair differs, beyond the pair's average.

    The score is the largest mean difference over a 5×5 window of the thumbnails less the mean
    difference over the whole. A re-encode, resize or exposure change leaves a small difference
    spread everywhere; a person who moved changes one region a lot. A crop shifts every edge, so
    a pair that differs is aligned first: each thumbnail is cropped by 0, 2 and 4 % on each
    side, resampled and compared with the other, and the best alignment counts. turns[k] turns
    the left thumbnail by 90°·turns[k] counter-clockwise first.
    """
    if not len(left):
        return np.zeros(0, dtype=np.float32)
    a = thumbs[left]
    if turns is not None:
        a = _turn(a, turns)
    b = thumbs[right]
    scores = _window_score(a, b)
    differ = np.flatnonzero(scores > MOMENT_LOCAL)
    for start in range(0, len(differ), _BATCH):
        rows = differ[start : start + _BATCH]
        x, y = a[rows], b[rows]
        scores[rows] = np.minimum(_aligned_score(x, y), _aligned_score(y, x))
    return scores


def _window_score(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Largest 5×5 window mean of |a - b| less the overall mean, over the last two axes."""
    diff = np.abs(a - b)
    total = np.cumsum(np.cumsum(diff, axis=-1), axis=-2)
    total = np.pad(total, [(0, 0)] * (diff.ndim - 2) + [(1, 0), (1, 0)])
    w = _WINDOW
    windows = total[..., w:, w:] - total[..., :-w, w:] - total[..., w:, :-w] + total[..., :-w, :-w]
    flat = windows.reshape(*diff.shape[:-2], -1)
    return flat.max(axis=-1) / (w * w) - diff.reshape(*diff.shape[:-2], -1).mean(axis=-1)


def _aligned_score(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The best window score of b against crops of a, each resampled to a's size."""
    resample = _crop_matrices(a.shape[-1])
    cropped = np.einsum("kij,pjl,mnl->kmpin", resample, a, resample, optimize=True)
    cropped -= cropped.mean(axis=(-1, -2), keepdims=True)
    cropped /= np.maximum(cropped.std(axis=(-1, -2), keepdims=True), 1e-3)
    return _window_score(cropped, b[None, None]).min(axis=(0, 1))


@functools.cache
def _crop_matrices(edge: int) -> np.ndarray:
    """Linear-interpolation matrices that crop one axis (none, or each of _CROPS at its start,
    centre or end) and resample it back to edge pixels."""
    spans = [(0.0, float(edge))]
    for crop in _CROPS:
        cut = crop * edge
        spans += [(cut * at, edge - cut * (1 - at)) for at in (0.0, 0.5, 1.0)]
    matrices = np.zeros((len(spans), edge, edge), dtype=np.float32)
    for k, (low, high) in enumerate(spans):
        centres = low + (np.arange(edge) + 0.5) * (high - low) / edge - 0.5
        below = np.floor(centres)
        weight = (centres - below).astype(np.float32)
        first = np.clip(below.astype(int), 0, edge - 1)
        second = np.clip(first + 1, 0, edge - 1)
        np.add.at(matrices[k], (np.arange(edge), first), 1 - weight)
        np.add.at(matrices[k], (np.arange(edge), second), weight)
    return matrices


def _turn(thumbs: np.ndarray, turns: np.ndarray) -> np.ndarray:
    out = thumbs.copy()
    for k in (1, 2, 3):
        out[turns == k] = np.rot90(thumbs[turns == k], k, axes=(1, 2))
    return out


# The keeper


def keeper_rank(photo: Photo) -> tuple:
    """Lower is better: intact data, higher rating, camera original over export, more pixels,
    sharper, first. Corrupt data goes first: its smeared blocks can even look sharper."""
    a = photo.analysis
    return (
        bool(a.damage),
        -(photo.meta.rating or 0),
        not photo.meta.has_exif,
        -(a.width * a.height),
        -a.sharpness,
        photo.taken,
        photo.source.display,
    )


def why_kept(keep: Photo, others: Sequence[Photo]) -> str:
    """The rule that chose the keeper over the best of the others, in words."""
    runner = min(others, key=keeper_rank)
    ours, theirs = keeper_rank(keep), keeper_rank(runner)
    k, r = keep.analysis, runner.analysis
    reasons = (
        "intact (the JPEG data of the others is corrupt)",
        f"higher rating ({keep.meta.rating or 0} over {runner.meta.rating or 0})",
        "camera original (the others have no EXIF)",
        f"more pixels ({k.width}×{k.height} over {r.width}×{r.height})",
        f"sharper (Laplacian variance {k.sharpness:.0f} over {r.sharpness:.0f})",
        "taken first",
        "first by path (otherwise equal)",
    )
    rule = next(n for n, (x, y) in enumerate(zip(ours, theirs, strict=True)) if x != y)
    return reasons[rule]


def _group(
    photos: Sequence[Photo], keep: int, indices: list[int], links: list[Link]
) -> DuplicateGroup:
    """Each member is reported by its link to the keeper, else by its closest link in the group
    (the plainest reason first: a copy of the original and of its turned copy is "near")."""
    inside = set(indices)
    best: dict[int, tuple[tuple[bool, int, int], Link]] = {}
    for link in links:
        if link.left not in inside or link.right not in inside:
            continue
        for member, other in ((link.left, link.right), (link.right, link.left)):
            rank = (other != keep, link.distance, _REASONS.index(link.reason))
            if member not in best or rank < best[member][0]:
                best[member] = (rank, link)
    duplicates = tuple(
        Duplicate(photos[i], best[i][1].reason, best[i][1].distance)
        for i in sorted(inside - {keep}, key=lambda i: photos[i].source.display)
    )
    others = [photos[i] for i in indices if i != keep]
    return DuplicateGroup(photos[keep], duplicates, why_kept(photos[keep], others))
