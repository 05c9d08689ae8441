"""Group duplicate photos and keep the best of each group, with a reason for every decision.

Hashing lives in analyse and the pair search in hashsearch; this module only decides. Two photos
are linked when their phash (or the phash of one turned by 90°, 180° or 270°) is within the
threshold and the evidence agrees. What the camera says comes first:

- same bytes: "exact";
- camera originals of one body (EXIF make, model, serial and capture time): the same capture time
  is one exposure (a copy that kept its EXIF: "near" or "rotated"); times up to BURST_SECONDS
  apart are a "burst"; further apart they are two exposures, one photo only if their pixels are
  identical (the same image data under other metadata);
- a copy without that evidence (an export without EXIF, another body) is compared region by
  region with the thumbnails analyse keeps (see likeness): a photo in which one region changed
  while the rest stayed put is another moment, never a duplicate; a pair in the upper part of
  the threshold must also be confirmed by its dhash.

Groups are built from what the camera says first (exact copies, one exposure's copies, bursts,
never two exposures of one body); then each copy without EXIF joins the one group of its
best-matching original, so a copy that resembles two moments never joins them; a copy that matches
no dated photo joins the one group of its best-matching copy that did, or else groups with other
such copies. Pairs that were close but kept apart are returned as
"similar, kept" with the reason, for a photographer to check.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .analyse import DETAIL
from .hashsearch import close_pairs, close_pairs_between
from .likeness import details, local_change
from .model import Duplicate, DuplicateGroup, Photo

DEFAULT_THRESHOLD = 8  # phash Hamming distance (of 64 bits) for a near-duplicate
BURST_SECONDS = 5.0  # one body: frames closer than this are a burst, further apart two exposures
BURST_SPREAD = 2  # a burst's frames may be this many times the threshold apart
CONFIRM_ABOVE = 0.5  # phash distances above this fraction of the threshold need dhash to agree
DHASH_CONFIRM = 12  # dhash Hamming distance that confirms a borderline pair
# Local change score (see likeness) above which a copy is not of that photo: one region of it
# changed. On bench/make_corpus.py's corpora (seeds 20180614 and 90210) a re-encode, a 1600-px
# export, ±0.3 EV or a 2-4 % crop of a frame scores at most 0.254 against it, and another
# moment of the scene (a region of 8-25 % of the frame changed) at least 0.306.
LOCAL_CHANGE = 0.28
_REASONS = ("exact", "near", "burst", "rotated")


@dataclass(frozen=True)
class Similar:
    """Two photos close by their hashes that were kept apart, and why (for a human to check)."""

    left: Photo
    right: Photo
    distance: int
    reason: str


@dataclass(frozen=True)
class DedupResult:
    kept: tuple[Photo, ...]
    groups: tuple[DuplicateGroup, ...]
    similar: tuple[Similar, ...] = ()

    @property
    def dropped(self) -> int:
        return sum(len(g.duplicates) for g in self.groups)


@dataclass(frozen=True)
class Link:
    left: int
    right: int
    reason: str  # why the two are one photo; "" when they are two (see why)
    distance: int
    local: float = 0.0  # local change score: lower is more alike
    why: str = ""  # why two close photos are two


def find_duplicates(photos: Sequence[Photo], threshold: int = DEFAULT_THRESHOLD) -> DedupResult:
    """Exact copies, near and rotated copies and bursts collapse to one keeper each.

    Photos come in gallery order and the kept ones stay in it.
    """
    evidence = _Evidence(photos)
    links = find_links(photos, threshold, evidence)
    joined = _Join(photos)
    ranked = sorted(
        (link for link in links if link.reason),
        key=lambda link: (link.reason != "exact", link.local, link.distance),
    )
    dated = [_dated(p) for p in photos]
    # what the cameras say: exact copies, copies of one exposure, bursts
    joined.join_each(_camera_links(ranked, dated), evidence)
    # each copy to its one original
    joined.join_each(_best_originals(ranked, dated, joined), evidence)
    # a copy far from any original: via a copy
    apart = {(link.left, link.right) for link in links if not link.reason}
    joined.join_each(_best_attached(ranked, joined, apart), evidence)
    # copies that match no dated photo: among themselves
    joined.join_each(_unattached(ranked, joined), evidence)
    return joined.result(links)


def _camera_links(links: Sequence[Link], dated: list[bool]) -> Iterator[Link]:
    """The links the cameras vouch for: exact copies, and links between two dated photos."""
    return (
        link for link in links if link.reason == "exact" or (dated[link.left] and dated[link.right])
    )


def _unattached(links: Sequence[Link], joined: _Join) -> Iterator[Link]:
    """The links between two photos in no group holding a dated photo, judged as they come."""
    return (
        link for link in links if not joined.attached(link.left) and not joined.attached(link.right)
    )


def _best_originals(links: Sequence[Link], dated: list[bool], joined: _Join) -> list[Link]:
    """For each copy without EXIF, its best link to a dated photo (links come best first)."""
    best: dict[int, Link] = {}
    for link in links:
        if dated[link.left] == dated[link.right]:
            continue
        copy = link.right if dated[link.left] else link.left
        root = joined.root(copy)
        if root not in best and not joined.has_dated(root):
            best[root] = link
    return list(best.values())


def _best_attached(links: Sequence[Link], joined: _Join, apart: set[tuple[int, int]]) -> list[Link]:
    """For each group of copies that matched no dated photo, its best link to a copy that did
    (a 4 % crop can be further from the original than from its 1600-px export), unless a photo
    of the one group was judged another photo than one of the other. One link per group, so it
    joins one original's group only."""
    best: dict[int, Link] = {}
    for link in links:
        left, right = joined.attached(link.left), joined.attached(link.right)
        if left == right:
            continue
        root = joined.root(link.right if left else link.left)
        target = joined.members[joined.root(link.left if left else link.right)]
        if root in best or any(
            (min(i, j), max(i, j)) in apart for i in joined.members[root] for j in target
        ):
            continue
        best[root] = link
    return list(best.values())


class _Join:
    """Union-find over the photos that never puts two exposures of one camera body together."""

    def __init__(self, photos: Sequence[Photo]) -> None:
        self.photos = photos
        self.members = {i: [i] for i in range(len(photos))}
        self.roots = list(range(len(photos)))
        self.dated = {i: _dated(p) for i, p in enumerate(photos)}
        self.accepted: list[Link] = []
        self.refused: list[Link] = []

    def root(self, i: int) -> int:
        return self.roots[i]

    def has_dated(self, root: int) -> bool:
        return any(self.dated[k] for k in self.members[root])

    def attached(self, i: int) -> bool:
        """Whether i is in a group holding a dated photo."""
        return self.has_dated(self.roots[i])

    def join_each(self, links: Iterable[Link], evidence: _Evidence) -> None:
        """Join each link in turn (a lazy iterable sees the joins made before it)."""
        for link in links:
            self.join(link, evidence)

    def join(self, link: Link, evidence: _Evidence) -> None:
        a, b = self.roots[link.left], self.roots[link.right]
        if a == b:
            self.accepted.append(link)
            return
        why = evidence.exposures_apart(self.members[a], self.members[b])
        if why:  # a copy close to two exposures must not merge them
            self.refused.append(Link(link.left, link.right, "", link.distance, link.local, why))
            return
        self.members[a] += self.members.pop(b)
        for k in self.members[a]:
            self.roots[k] = a
        self.accepted.append(link)

    def result(self, links: Sequence[Link]) -> DedupResult:
        photos = self.photos
        groups, kept = [], []
        for indices in self.members.values():
            keep = min(indices, key=lambda i: keeper_rank(photos[i]))
            kept.append(keep)
            if len(indices) > 1:
                groups.append(_group(photos, keep, indices, self.accepted))
        return DedupResult(
            tuple(photos[i] for i in sorted(kept)), tuple(groups), self._similar(links)
        )

    def _similar(self, links: Sequence[Link]) -> tuple[Similar, ...]:
        """Close pairs that ended in two groups, each once, with the reason they were kept apart."""
        found: dict[tuple[int, int], Similar] = {}
        for link in [*self.refused, *links]:
            pair = (min(link.left, link.right), max(link.left, link.right))
            if pair in found or self.roots[pair[0]] == self.roots[pair[1]]:
                continue
            why = link.why or self._elsewhere(link)
            found[pair] = Similar(self.photos[pair[0]], self.photos[pair[1]], link.distance, why)
        return tuple(found[pair] for pair in sorted(found))

    def _elsewhere(self, link: Link) -> str:
        """Why a pair judged one photo still ended apart: a copy joined another original."""
        for copy, other in ((link.left, link.right), (link.right, link.left)):
            if not self.dated[copy] and self.dated[other]:
                return "a copy that matches another original better"
        return "each is closer to another photo"


def _dated(photo: Photo) -> bool:
    """A camera original's evidence: a camera body and a capture time from the camera."""
    meta = photo.meta
    return bool(meta.has_exif and (meta.make or meta.model) and time_source(photo) == "exif")


# Where a capture time came from, most trusted first. metadata may say so itself (a time_source
# field); until it does, a time is the camera's EXIF one unless it fell back to the file's time.
TIME_SOURCES = ("exif", "xmp", "iptc", "file")


def time_source(photo: Photo) -> str:
    """Where the photo's capture time came from: one of TIME_SOURCES."""
    source = getattr(photo.meta, "time_source", None)  # a finer source, where metadata has one
    if source in TIME_SOURCES:
        return source
    return "file" if photo.time_from_file else "exif"


def time_rank(photo: Photo) -> int:
    """Lower is better dated."""
    return TIME_SOURCES.index(time_source(photo))


def find_links(
    photos: Sequence[Photo], threshold: int, evidence: _Evidence | None = None
) -> list[Link]:
    """Every pair of photos with close hashes: why they are one photo, or why they are two."""
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
        reason, why = _judge(photos[i], photos[j], d, threshold, float(local), "near")
        links.append(Link(i, j, reason, d, float(local), why))
    links += _rotated_links(photos, threshold, evidence, same)
    links += _burst_links(photos, threshold, same)
    return links


def _burst_links(photos: Sequence[Photo], threshold: int, near: set[tuple[int, int]]) -> list[Link]:
    """Frames of one body within BURST_SECONDS that the phash search left out: a burst's frames
    shift and blur, so within a burst phashes up to BURST_SPREAD times the threshold apart count."""
    by_body: dict[tuple, list[int]] = {}
    for i, photo in enumerate(photos):
        if _dated(photo):
            by_body.setdefault(_camera(photo), []).append(i)
    links = []
    for frames in by_body.values():
        frames.sort(key=lambda i: photos[i].taken)
        for n, i in enumerate(frames):
            for j in frames[n + 1 :]:
                seconds = _seconds_apart(photos[i], photos[j])
                if seconds > BURST_SECONDS:
                    break
                pair = (min(i, j), max(i, j))
                d = (photos[i].analysis.phash ^ photos[j].analysis.phash).bit_count()
                if pair not in near and threshold < d <= BURST_SPREAD * threshold:
                    links.append(Link(*pair, "burst" if seconds else "near", d))
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
        if pair in near:
            continue
        reason, why = _judge(photos[a], photos[b], d, threshold, float(local), "rotated", False)
        link = Link(*pair, reason, d, float(local), why)
        if pair not in best or _rank(link) < _rank(best[pair]):
            best[pair] = link
    return list(best.values())


def _rank(link: Link) -> tuple[bool, int]:
    return not link.reason, link.distance


def _judge(
    a: Photo, b: Photo, distance: int, threshold: int, local: float, reason: str, confirm=True
) -> tuple[str, str]:
    """(why two photos with close hashes are one photo, "") or ("", why they are two)."""
    seconds = _seconds_apart(a, b)
    if seconds is not None:  # one camera body: its clock decides
        if seconds > BURST_SECONDS:
            if a.analysis.pixels == b.analysis.pixels:
                return reason, ""  # the same image data under other metadata
            return "", f"different exposures: one camera, {_span(seconds)} apart"
        return ("burst", "") if seconds else (reason, "")
    if local > LOCAL_CHANGE:
        return "", f"a region changed (local change {local:.2f})"
    borderline = confirm and distance > CONFIRM_ABOVE * threshold
    if borderline and (a.analysis.dhash ^ b.analysis.dhash).bit_count() > DHASH_CONFIRM:
        return "", "their dhashes disagree"
    return reason, ""


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _seconds_apart(a: Photo, b: Photo) -> float | None:
    """Seconds between two frames of one camera body by their EXIF times, else None."""
    if not (_dated(a) and _dated(b)) or _camera(a) != _camera(b):
        return None
    return abs((a.taken - b.taken).total_seconds())


def _camera(photo: Photo) -> tuple[str | None, str | None, str | None]:
    return photo.meta.make, photo.meta.model, photo.meta.serial


class _Evidence:
    """Local comparisons of the photos' thumbnails, computed in batches."""

    def __init__(self, photos: Sequence[Photo]) -> None:
        self.photos = photos
        self.thumbs = details([p.analysis.detail for p in photos], DETAIL)

    def local(
        self, left: np.ndarray, right: np.ndarray, turns: np.ndarray | None = None
    ) -> np.ndarray:
        """Local change scores of the pairs; 0 for frames of one body (their clocks decide)."""
        photos = self.photos
        wanted = np.array(
            [
                _seconds_apart(photos[i], photos[j]) is None
                for i, j in zip(left, right, strict=True)
            ],
            dtype=bool,
        )
        scores = np.zeros(len(left), dtype=np.float32)
        if wanted.any():
            turned = None if turns is None else turns[wanted]
            scores[wanted] = local_change(self.thumbs, left[wanted], right[wanted], turned)
        return scores

    def exposures_apart(self, left: list[int], right: list[int]) -> str:
        """Why joining two groups would put two exposures of one camera body together ("" if
        it would not)."""
        for i in left:
            for j in right:
                a, b = self.photos[i], self.photos[j]
                seconds = _seconds_apart(a, b)
                if seconds and seconds > BURST_SECONDS and a.analysis.pixels != b.analysis.pixels:
                    return (
                        f"would join two exposures of one camera {_span(seconds)} apart "
                        f"({a.source.path.name}, {b.source.path.name})"
                    )
        return ""


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
