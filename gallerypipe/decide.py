"""A duplicate group is one photo: what any of its members says holds for all of them.

Photographers rate and reject the camera original, caption the edit and share a downscaled copy
to their phone. Dedup groups every photo first (rejected or not); then each group is decided
from all of its members:

- a rejection (xmp:Rating -1) on any member rejects the group: none of its copies is published
  (unless include_rejected; the group then keeps the rating -1, so it is never the header);
- the group's rating is the highest explicit rating among its members (--min-rating, header);
- the title comes from the keeper, else from the member that has one;
- the capture time comes from the best-dated member (camera EXIF over XMP/IPTC over the file's
  time), with that member's clock offset already applied: a kept copy without EXIF takes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from .dedup import DedupResult, keeper_rank, time_rank
from .model import DuplicateGroup, Photo


@dataclass(frozen=True)
class Excluded:
    """A photo left out of the gallery on purpose (its group's rating), and why."""

    photo: Photo
    reason: str


@dataclass(frozen=True)
class Verdict:
    """What a group's members decide for it: left out (and why), or kept as photo."""

    photo: Photo  # the keeper, carrying the group's rating, title and capture time
    excluded: str = ""  # why the group is left out ("" when it is published)


def decide(
    result: DedupResult, include_rejected: bool = False, min_rating: int | None = None
) -> tuple[DedupResult, tuple[Excluded, ...]]:
    """The groups (and lone photos) that are published, each as one photo, and those left out."""
    groups = {g.keep.source.display: g for g in result.groups}
    kept: list[Photo] = []
    kept_groups: list[DuplicateGroup] = []
    excluded: list[Excluded] = []
    for keep in result.kept:
        group = groups.get(keep.source.display)
        members = [keep, *(d.photo for d in group.duplicates)] if group else [keep]
        verdict = judge(members, include_rejected, min_rating)
        if verdict.excluded:
            excluded += [Excluded(m, verdict.excluded) for m in members]
            continue
        kept.append(verdict.photo)
        if group:
            kept_groups.append(replace(group, keep=verdict.photo))
    kept.sort(key=lambda p: (p.taken, p.source.path.name.lower(), p.source.display))
    return DedupResult(tuple(kept), tuple(kept_groups), result.similar), tuple(excluded)


def judge(
    members: Sequence[Photo], include_rejected: bool = False, min_rating: int | None = None
) -> Verdict:
    """The group's verdict; members[0] is its keeper."""
    keep = members[0]
    rejected = [m for m in members if m.meta.rating == -1]
    best = _best_rated(members)
    rating = -1 if rejected else (best.meta.rating if best else None)
    photo = _as_one(keep, members, rating)
    return Verdict(photo, _why_left_out(members, rejected, best, include_rejected, min_rating))


def _why_left_out(
    members: Sequence[Photo],
    rejected: Sequence[Photo],
    best: Photo | None,
    include_rejected: bool,
    min_rating: int | None,
) -> str:
    """Why the group is left out: a rejected member, or a rating below min_rating; "" if kept."""
    if rejected:
        return "" if include_rejected else f"rejected: {_role(rejected[0], members)} is rated -1"
    rating = best.meta.rating if best else None
    if min_rating is None or (rating or 0) >= min_rating:
        return ""
    return f"{_stars(members, best)}, below --min-rating {min_rating}"


def _best_rated(members: Sequence[Photo]) -> Photo | None:
    """The first member with the highest explicit rating of 0 or more; None when none has one."""
    rated = [m for m in members if m.meta.rating is not None and m.meta.rating >= 0]
    return max(rated, key=lambda m: m.meta.rating, default=None)


def _stars(members: Sequence[Photo], best: Photo | None) -> str:
    """How a group not rejected is rated, naming the copy that holds it when there are several."""
    if best is None or best.meta.rating is None:
        return "unrated"
    if len(members) > 1:
        return f"rated {best.meta.rating} (the best rated of its copies: {best.source.path.name})"
    return f"rated {best.meta.rating}"


def _role(member: Photo, members: Sequence[Photo]) -> str:
    name = member.source.path.name
    if len(members) == 1:
        return f"the photo {name}"
    original = member.meta.has_exif and not member.time_from_file
    return f"the {'original' if original else 'copy'} {name}"


def _as_one(keep: Photo, members: Sequence[Photo], rating: int | None) -> Photo:
    """The keeper with the group's rating, the first title among its members (the keeper's
    first) and the capture time of its best-dated member."""
    ordered = [keep, *sorted(members[1:], key=keeper_rank)]
    title = next((m.meta.title for m in ordered if m.meta.title), None)
    description = next((m.meta.description for m in ordered if m.meta.description), None)
    dated = min(ordered, key=time_rank)  # the first of the best-dated: the keeper on a tie
    meta = replace(keep.meta, rating=rating, title=title, description=description)
    return replace(keep, meta=meta, taken=dated.taken, time_from_file=dated.time_from_file)
