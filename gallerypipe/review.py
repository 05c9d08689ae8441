"""`gallerypipe dedup`: find the duplicates among photos and report them; nothing else is written
but the optional contact sheet."""

from __future__ import annotations

import base64
import functools
import html
import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from .decide import Excluded
from .dedup import DedupResult, Similar
from .imaging import BadImage, apply_orientation, decode, open_image
from .model import Duplicate, DuplicateGroup, Photo, Problem
from .pipeline import IngestOptions, Progress, select

THUMB_EDGE = 240  # contact sheet thumbnails, long edge in pixels


@dataclass(frozen=True)
class Review:
    """What ingest would decide: every photo's group, what is left out and why, the close pairs
    kept apart, and the files that could not be used."""

    dedup: DedupResult  # the groups over every photo, rejected or not
    skipped: tuple[Problem, ...]
    excluded: tuple[Excluded, ...] = ()

    @property
    def similar(self) -> tuple[Similar, ...]:
        return self.dedup.similar

    def left_out(self, photo: Photo) -> str:
        """Why the photo's group is not published ("" when it is)."""
        return self._reasons.get(photo.source.display, "")

    @functools.cached_property
    def _reasons(self) -> dict[str, str]:
        return {e.photo.source.display: e.reason for e in self.excluded}

    def _group_json(self, group: DuplicateGroup) -> dict:
        """One group: its keeper, why, its duplicates and why the keeper was left out if it was."""
        return {
            "keep": group.keep.source.display,
            "why_kept": group.why_kept,
            "duplicates": [
                {"path": d.photo.source.display, "reason": d.reason, "distance": d.distance}
                for d in group.duplicates
            ],
            "excluded": self.left_out(group.keep) or None,
        }

    def to_json(self) -> dict:
        """Every decodable photo once: as a keeper, a duplicate, or in unique."""
        grouped = {p.source.display for g in self.dedup.groups for p in _members(g)}
        return {
            "groups": [self._group_json(g) for g in self.dedup.groups],
            "unique": [
                p.source.display for p in self.dedup.kept if p.source.display not in grouped
            ],
            "excluded": [
                {"path": e.photo.source.display, "reason": e.reason} for e in self.excluded
            ],
            "similar_kept": [
                {
                    "paths": [s.left.source.display, s.right.source.display],
                    "distance": s.distance,
                    "reason": s.reason,
                }
                for s in self.similar
            ],
            "skipped": [{"path": p.path, "reason": p.reason} for p in self.skipped],
        }


def review(options: IngestOptions, progress: Progress | None = None) -> Review:
    """What ingest would find, through the same selection (cache, clock offsets, ratings,
    executor); nothing is written."""
    chosen = select(options, progress)
    grouping = chosen.grouping or chosen.dedup
    used = {p.source.display for p in grouping.kept}
    used |= {d.photo.source.display for g in grouping.groups for d in g.duplicates}
    skipped = tuple(p for p in chosen.problems if p.path not in used)  # unreadable EXIF: used
    return Review(grouping, skipped, chosen.excluded)


def _members(group: DuplicateGroup) -> list[Photo]:
    return [group.keep, *(d.photo for d in group.duplicates)]


def write_contact_sheet(result: Review, path: Path) -> None:
    """A self-contained HTML page: each group with its keeper marked, the others with their
    reason and distance; a burst as one strip; then the pairs that were close but kept apart,
    with the reason. Thumbnails are inline, so it opens offline."""
    sections = [
        _group_html(n, g, result.left_out(g.keep)) for n, g in enumerate(result.dedup.groups, 1)
    ]
    sections += [_similar_html(result.similar)] if result.similar else []
    skipped = "".join(
        f"<li>{html.escape(p.path)}: {html.escape(p.reason)}</li>" for p in result.skipped
    )
    body = "\n".join(sections) or "<p>No duplicates found.</p>"
    if skipped:
        body += f"<h2>Skipped</h2><ul>{skipped}</ul>"
    path.write_text(_PAGE.format(count=len(result.dedup.groups), body=body), encoding="utf-8")


def _similar_html(pairs: tuple[Similar, ...]) -> str:
    rows = "".join(
        f'<div class="grid">{_cell(s.left, "similar", "similar, kept")}'
        f"{_cell(s.right, 'similar', f'distance {s.distance}: {s.reason}')}</div>"
        for s in pairs
    )
    return f"<section><h2>Similar, kept ({len(pairs)} pairs)</h2>{rows}</section>"


def _group_html(number: int, group: DuplicateGroup, left_out: str = "") -> str:
    """The keeper and its burst frames as one strip in capture order, then the other copies."""
    burst = [d for d in group.duplicates if d.reason == "burst"]
    others = [d for d in group.duplicates if d.reason != "burst"]
    keep = _cell(group.keep, "keep", f"kept: {group.why_kept}")
    html_parts = []
    if burst:
        html_parts.append(_strip_html(group, keep, burst))
    cells = ([] if burst else [keep]) + [_dup_cell(d) for d in others]
    if cells:
        html_parts.append(f'<div class="grid">{"".join(cells)}</div>')
    title = html.escape(_group_title(number, len(burst), left_out))
    return f"<section><h2>{title}</h2>{''.join(html_parts)}</section>"


def _strip_html(group: DuplicateGroup, keep: str, burst: list[Duplicate]) -> str:
    """The keeper's cell and its burst frames' in capture order, as one strip."""
    frames = sorted([(group.keep.taken, keep)] + [(d.photo.taken, _dup_cell(d)) for d in burst])
    return f'<div class="strip">{"".join(cell for _, cell in frames)}</div>'


def _group_title(number: int, burst: int, left_out: str) -> str:
    """ "Group 3 (burst of 4) — left out, <reason>" (unescaped)."""
    title = f"Group {number}" + (f" (burst of {burst + 1})" if burst else "")
    return title + (f" — left out, {left_out}" if left_out else "")


def _dup_cell(dup: Duplicate) -> str:
    return _cell(dup.photo, dup.reason, f"{dup.reason}, distance {dup.distance}")


def _cell(photo: Photo, css: str, caption: str) -> str:
    name = html.escape(photo.source.display)
    return (
        f'<figure class="{css}"><img src="{_thumbnail(photo)}" alt="{name}">'
        f"<figcaption><b>{name}</b><br>{html.escape(caption)}</figcaption></figure>"
    )


def _thumbnail(photo: Photo) -> str:
    """A small JPEG data URI from a reduced-scale (draft) decode, made for the report only."""
    try:
        with open_image(photo.source.path.read_bytes()) as img:
            edge = max(1, THUMB_EDGE * 2)
            small = decode(img, "RGB", (edge, edge))
    except (OSError, BadImage):
        return ""
    small = apply_orientation(small, photo.meta.orientation)
    small.thumbnail((THUMB_EDGE, THUMB_EDGE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    small.save(out, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode()


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Duplicates: {count} groups</title>
<style>
body {{ font: 14px system-ui, sans-serif; margin: 1.5em; }}
section {{ border-top: 1px solid #ccc; padding: .5em 0; }}
.grid {{ display: flex; flex-wrap: wrap; gap: 12px; }}
.strip {{ display: flex; gap: 4px; overflow-x: auto; margin-bottom: 12px; }}
figure {{ margin: 0; width: 240px; }}
figure img {{ max-width: 240px; max-height: 240px; display: block; }}
figure.keep img {{ outline: 4px solid #2a2; }}
figure:not(.keep) img {{ opacity: .8; }}
figcaption {{ font-size: 12px; word-break: break-all; }}
</style></head>
<body><h1>Duplicates: {count} groups</h1>
{body}
</body></html>
"""
