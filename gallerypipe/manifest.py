"""The manifest site builds read: every published photo, its renditions, and every decision."""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import asdict

from . import __version__
from .model import DuplicateGroup, GalleryItem, Photo, Placeholder, Rendition
from .names import is_text, name_bytes_hex, readable

SCHEMA = 1
MANIFEST_KEY = "manifest.json"


def build_manifest(
    event: str,
    items: Sequence[GalleryItem],
    header: GalleryItem | None,
    files: Mapping[str, str] | None = None,
) -> dict:
    """The public manifest: what a site needs and nothing private (no card paths or file names,
    no original sha256, no camera, no dedup decisions; see private_details). A plain,
    deterministic structure: the same inputs give the same bytes.

    header: None when the page keeps the user's own header (a file that is not one of these
    photos). files: photo id → its bundle file.
    """
    return {
        "schema": SCHEMA,
        "generator": f"gallerypipe {__version__}",
        "event": event,
        "header": header.photo.id if header else None,
        "photos": [_photo(item, (files or {}).get(item.photo.id)) for item in items],
    }


def _photo(item: GalleryItem, file: str | None) -> dict:
    photo = item.photo
    return {
        "id": photo.id,
        "number": item.number,
        **({"file": file} if file else {}),
        "capture_time": photo.taken.isoformat(),
        "capture_time_from_file": photo.time_from_file,
        "title": item.title,
        "width": photo.analysis.width,
        "height": photo.analysis.height,
        "renditions": _renditions(item.renditions),
        **({"placeholder": asdict(item.placeholder)} if item.placeholder else {}),
    }


def private_details(
    kept: Sequence[Photo],
    groups: Sequence[DuplicateGroup],
    excluded: Sequence[tuple[str, str]] = (),
) -> dict:
    """What the run knows that is not published: each photo's card path, original sha256 and
    camera, and every decision (for the summary and --json, never for the store or the bundle).

    excluded: (source, reason) for photos left out by their rating.
    """
    return {
        "sources": [
            {
                "id": photo.id,
                **_source(photo.source.relative),
                "sha256": photo.analysis.sha256,
                "camera": _camera(photo),
            }
            for photo in kept
        ],
        "decisions": _decisions(kept, groups)
        + [{"action": "excluded", **_source(src), "reason": why} for src, why in excluded],
    }


def _source(path: str) -> dict:
    """The source path as text; a name that is not UTF-8 is shown escaped (`caf\\xe9.jpg`) and
    its bytes kept in hex (`source_bytes`), so nothing is lost."""
    if is_text(path):
        return {"source": path}
    return {"source": readable(path), "source_bytes": name_bytes_hex(path)}


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


def _decisions(kept: Sequence[Photo], groups: Sequence[DuplicateGroup]) -> list[dict]:
    decisions = []
    for group in groups:
        for dup in group.duplicates:
            decisions.append(
                {
                    "action": "dropped",
                    **_source(dup.photo.source.relative),
                    "reason": dup.reason,
                    "distance": dup.distance,
                    "duplicate_of": group.keep.id,
                    "kept_source": readable(group.keep.source.relative),
                    "kept_because": group.why_kept,
                }
            )
    for photo in kept:
        for raw in photo.source.companions:
            decisions.append(
                {
                    "action": "companion",
                    **_source(posixpath.join(posixpath.dirname(photo.source.relative), raw)),
                    "photo": photo.id,
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
