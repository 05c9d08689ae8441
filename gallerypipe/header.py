"""Pick the page's header image: sharp, well exposed, landscape, large, rated highly.

Every factor comes from the small decode analyse already made; nothing is decoded here. Only
photos dedup kept are candidates (never a dropped duplicate or an unkept burst frame), and never
a rejected one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .model import Photo

PANORAMA = 2.0  # wider than this (width ÷ height) a header shows only part of the photo
FACTORS = ("sharpness", "exposure", "landscape", "resolution", "rating")


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
    rating: float = 1.0


def score(photo: Photo) -> HeaderScore:
    """Each factor near [0, 1] (resolution and rating reward above 1); the score is their product.

    sharpness: variance of the Laplacian at a fixed size, saturating; exposure: 1 less four times
    the fractions of clipped highlights (≥245) and shadows (≤15); landscape: 1 up to 2:1, less
    for a wider panorama (a header crops it: 2 ÷ the ratio), portrait 0.4; resolution: relative
    to 4 MP, up to 1.2, counted half; rating: 1 + 0.1 per star.
    """
    a = photo.analysis
    sharpness = 1 - math.exp(-a.sharpness / 150)
    exposure = max(0.0, 1 - 4 * a.clipped_highlights - 4 * a.clipped_shadows)
    landscape = min(1.0, PANORAMA * a.height / a.width) if photo.landscape else 0.4
    resolution = min(1.2, math.sqrt(a.width * a.height / 4_000_000))
    rating = 1 + 0.1 * max(0, photo.meta.rating or 0)
    total = sharpness * exposure * landscape * (0.5 + 0.5 * resolution) * rating
    return HeaderScore(photo, total, sharpness, exposure, landscape, resolution, rating)


def candidates(photos: Sequence[Photo]) -> list[Photo]:
    """The photos a header may be picked from: not rejected, not corrupt (unless all are)."""
    allowed = [p for p in photos if p.meta.rating != -1] or list(photos)
    return [p for p in allowed if not p.analysis.damage] or allowed


def rank(photos: Sequence[Photo]) -> list[HeaderScore]:
    return sorted((score(p) for p in photos), key=lambda s: (-s.score, s.photo.taken))


def pick_header(photos: Sequence[Photo], override: Path | None = None) -> Photo:
    """The best-scoring candidate, or the kept photo the user named (by path, then file name)."""
    if not photos:
        raise ValueError("no photos to pick a header from")
    if override is not None:
        return _find(photos, override)
    return rank(candidates(photos))[0].photo


def why_first(ranked: Sequence[HeaderScore]) -> str:
    """One sentence: the factor that puts the winner furthest ahead of the runner-up."""
    if not ranked:
        return "no candidates"
    if len(ranked) == 1:
        return "the only candidate"
    first, second = ranked[0], ranked[1]
    ratios = {f: _ratio(getattr(first, f), getattr(second, f)) for f in FACTORS}
    best = max(ratios, key=lambda f: ratios[f])
    lead = f"{first.score:.3f} against {second.score:.3f} for {second.photo.source.display}"
    if ratios[best] <= 1.0:
        return f"highest product of the factors ({lead}); no single factor is ahead"
    return (
        f"highest score ({lead}), mostly on {best}: "
        f"{getattr(first, best):.2f} against {getattr(second, best):.2f}"
    )


def _ratio(a: float, b: float) -> float:
    if b <= 0:
        return math.inf if a > 0 else 1.0
    return a / b


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
