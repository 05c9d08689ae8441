"""The manifest site builds read: every published photo, its renditions, and every decision."""

from __future__ import annotations

import json
import posixpath
from collections.abc import Sequence
from dataclasses import asdict

from . import __version__
from .model import DuplicateGroup, GalleryItem, Photo, Placeholder, Problem, Rendition

SCHEMA = 1
MANIFEST_KEY = "manifest.json"


def build_manifest(
    event: str,
    items: Sequence[GalleryItem],
    header: GalleryItem,
    groups: Sequence[DuplicateGroup],
    problems: Sequence[Problem],
    excluded: Sequence[tuple[str, str]] = (),
) -> dict:
    """A plain, deterministic structure: the same inputs give the same bytes.

    excluded: (source, reason) for photos left out by their rating.
    """
    return {
        "schema": SCHEMA,
        "generator": f"gallerypipe {__version__}",
        "event": event,
        "header": header.photo.id,
        "photos": [_photo(item) for item in items],
        "decisions": _decisions(items, groups)
        + [{"action": "excluded", "source": src, "reason": why} for src, why in excluded],
        "skipped": [{"path": p.path, "reason": p.reason} for p in problems],
    }


def _photo(item: GalleryItem) -> dict:
    photo = item.photo
    return {
        "id": photo.id,
        "number": item.number,
        "source": photo.source.relative,
        "sha256": photo.analysis.sha256,
        "capture_time": photo.taken.isoformat(),
        "capture_time_from_file": photo.time_from_file,
        "camera": _camera(photo),
        "title": item.title,
        **({"description": words} if (words := _description(photo)) else {}),
        "width": photo.analysis.width,
        "height": photo.analysis.height,
        "renditions": _renditions(item.renditions),
        **({"placeholder": asdict(item.placeholder)} if item.placeholder else {}),
    }


def _description(photo: Photo) -> str | None:
    """The photographer's own words for the photo (EXIF description, else the XMP/IPTC title or
    caption), for a site's alt text; None when there are none (a title from the template is a
    name, not a description)."""
    return photo.meta.description or photo.meta.title


def _camera(photo: Photo) -> str | None:
    make, model = photo.meta.make, photo.meta.model
    if make and model and model.lower().startswith(make.split()[0].lower()):
        return model
    return " ".join(part for part in (make, model) if part) or None


def _renditions(renditions: Sequence[Rendition]) -> list[dict]:
    return [
        {
            "key": r.key,
            "width": r.width,
            "height": r.height,
            "bytes": r.bytes,
            "content_type": r.content_type,
            "sha256": r.sha256,
        }
        for r in renditions
    ]


def _decisions(items: Sequence[GalleryItem], groups: Sequence[DuplicateGroup]) -> list[dict]:
    decisions = []
    for group in groups:
        for dup in group.duplicates:
            decisions.append(
                {
                    "action": "dropped",
                    "source": dup.photo.source.relative,
                    "reason": dup.reason,
                    "distance": dup.distance,
                    "duplicate_of": group.keep.id,
                    "kept_source": group.keep.source.relative,
                    "kept_because": group.why_kept,
                }
            )
    for item in items:
        for raw in item.photo.source.companions:
            decisions.append(
                {
                    "action": "companion",
                    "source": posixpath.join(posixpath.dirname(item.photo.source.relative), raw),
                    "photo": item.photo.id,
                    "reason": "RAW file beside its JPEG, recorded and not processed",
                }
            )
    return decisions


def to_bytes(manifest: dict) -> bytes:
    return (json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode()


def referenced_keys(manifest: dict) -> set[str]:
    """Every object key a manifest points at."""
    return {r["key"] for p in manifest.get("photos", []) for r in p.get("renditions", [])}


def known_renditions(manifest: dict | None) -> dict[str, Rendition]:
    """Renditions described by a previous manifest, by key, so a re-run need not decode again."""
    if not manifest:
        return {}
    found = {}
    for entry in manifest.get("photos", []):
        for r in entry.get("renditions", []):
            try:
                found[r["key"]] = Rendition(
                    r["key"], r["width"], r["height"], r["bytes"], r["content_type"], r["sha256"]
                )
            except (KeyError, TypeError):
                continue
    return found


def known_placeholders(manifest: dict | None) -> dict[str, Placeholder]:
    """Placeholders of a previous manifest, by photo id, carried over when nothing is decoded."""
    found = {}
    for entry in (manifest or {}).get("photos", []):
        try:
            found[entry["id"]] = Placeholder(**entry["placeholder"])
        except (KeyError, TypeError):
            continue
    return found
