"""Pick the page's header image: sharp, well exposed, landscape, large."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .model import Photo


class HeaderNotFound(ValueError):
    """--header names a file that is not among the kept photos."""


@dataclass(frozen=True)
class HeaderScore:
    photo: Photo
    score: float
    sharpness: float
    exposure: float
    landscape: float
    resolution: float


def score(photo: Photo) -> HeaderScore:
    """Each factor in [0, 1] (resolution slightly above for very large frames); their product."""
    a = photo.analysis
    sharpness = 1 - math.exp(-a.sharpness / 150)
    exposure = max(0.0, 1 - 4 * a.clipped_highlights - 4 * a.clipped_shadows)
    landscape = 1.0 if photo.landscape else 0.4
    resolution = min(1.2, math.sqrt(a.width * a.height / 4_000_000))
    total = sharpness * exposure * landscape * (0.5 + 0.5 * resolution)
    return HeaderScore(photo, total, sharpness, exposure, landscape, resolution)


def rank(photos: Sequence[Photo]) -> list[HeaderScore]:
    return sorted((score(p) for p in photos), key=lambda s: (-s.score, s.photo.taken))


def pick_header(photos: Sequence[Photo], override: Path | None = None) -> Photo:
    """The best-scoring photo, or the one the user named (matched by path, then by file name)."""
    if not photos:
        raise ValueError("no photos to pick a header from")
    if override is not None:
        return _find(photos, override)
    return rank(photos)[0].photo


def _find(photos: Sequence[Photo], override: Path) -> Photo:
    """By path when the file exists (never another card's file of the same name), else by name."""
    if override.exists():
        wanted = override.resolve()
        for photo in photos:
            if photo.source.path.resolve() == wanted:
                return photo
        raise HeaderNotFound(f"--header {override}: not among the kept photos (a duplicate?)")
    by_name = [p for p in photos if p.source.path.name.lower() == override.name.lower()]
    if len(by_name) > 1:
        names = ", ".join(p.source.display for p in by_name)
        raise HeaderNotFound(f"--header {override}: more than one photo has that name: {names}")
    if not by_name:
        raise HeaderNotFound(f"--header {override}: no such photo in the sources")
    return by_name[0]
