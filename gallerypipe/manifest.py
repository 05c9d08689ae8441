"""The manifest site builds read: every published photo, its renditions, and every decision."""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict

from . import __version__
from .model import DuplicateGroup, GalleryItem, Photo, Placeholder, Rendition
from .names import is_text, name_bytes_hex, readable
from .placeholders import BASE83
from .storage import StorageError, safe_key

SCHEMA = 1
MANIFEST_KEY = "manifest.json"
# A manifest names about 1.5 KB per photo: 64 MiB is over 40,000 photos. Anything bigger is not
# one of ours, and is not read into memory (nor handed to the JSON parser) at all.
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
_HEX = re.compile(r"[0-9a-f]+")
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_RENDITION_FIELDS = {"key", "width", "height", "bytes", "content_type", "sha256"}
_PLACEHOLDER_FIELDS = {"blurhash", "color", "width", "height"}


class BadManifest(ValueError):
    """Bytes from a store that are not a gallerypipe manifest; the message says why."""


def parse_manifest(raw: bytes) -> dict:
    """A manifest from the store's bytes, checked against the schema before anything trusts it:
    bounded in size and depth, every field the next run reuses of the right type and form."""
    if len(raw) > MAX_MANIFEST_BYTES:
        raise BadManifest(f"{len(raw)} bytes, over the {MAX_MANIFEST_BYTES} a manifest may have")
    try:
        data = json.loads(raw)
    except RecursionError:
        raise BadManifest("nested too deeply") from None
    except ValueError as err:  # UnicodeDecodeError included
        raise BadManifest(f"not valid JSON: {err}") from None
    if problem := manifest_problem(data):
        raise BadManifest(problem)
    return data


def manifest_problem(data: object) -> str | None:
    """Why data is not a manifest of this schema, or None."""
    if not isinstance(data, dict):
        return "not a JSON object"
    if data.get("schema") != SCHEMA:
        return f"schema {data.get('schema')!r}, expected {SCHEMA}"
    photos = data.get("photos")
    if not isinstance(photos, list):
        return "no list of photos"
    for n, photo in enumerate(photos, 1):
        if problem := _photo_problem(photo):
            return f"photo {n}: {problem}"
    return None


def _photo_problem(photo: object) -> str | None:
    if not isinstance(photo, dict):
        return "not an object"
    if not _is_hex(photo.get("id"), 16):
        return "id is not 16 hex digits"
    if problem := _text_problem(photo) or _renditions_problem(photo.get("renditions")):
        return problem
    if "placeholder" in photo and (problem := placeholder_problem(photo["placeholder"])):
        return f"placeholder: {problem}"
    return None


def _text_problem(photo: dict) -> str | None:
    """The first of a photo's text fields present and not a string."""
    for name in ("title", "source", "capture_time"):
        if name in photo and not isinstance(photo[name], str):
            return f"{name} is not a string"
    return None


def _renditions_problem(renditions: object) -> str | None:
    """What is wrong with a photo's renditions: not a non-empty list, or the first bad one."""
    if not isinstance(renditions, list) or not renditions:
        return "no list of renditions"
    for rendition in renditions:
        if problem := rendition_problem(rendition):
            return problem
    return None


def rendition_problem(r: object) -> str | None:
    """A rendition must be what this version would write: a key under renditions/ by the rules
    every new key follows, positive integer sizes, a content type and a sha256."""
    if not isinstance(r, dict) or set(r) != _RENDITION_FIELDS:
        return f"a rendition without exactly the fields {', '.join(sorted(_RENDITION_FIELDS))}"
    if not is_rendition_key(r["key"]):
        return f"rendition key {r['key']!r} is not one gallerypipe writes"
    if not all(_positive(r[name]) for name in ("width", "height", "bytes")):
        return f"{r['key']}: width, height and bytes must be positive integers"
    if not isinstance(r["content_type"], str) or not r["content_type"].startswith("image/"):
        return f"{r['key']}: content_type is not an image type"
    if not _is_hex(r["sha256"], 64):
        return f"{r['key']}: sha256 is not 64 hex digits"
    return None


def is_rendition_key(key: object) -> bool:
    """renditions/NAME, NAME without a slash, as safe as any key gallerypipe writes."""
    if not isinstance(key, str) or len(key) > 512:
        return False
    try:
        safe_key(key)
    except StorageError:
        return False
    folder, _, name = key.partition("/")
    return folder == "renditions" and bool(name) and "/" not in name and name.isprintable()


def placeholder_problem(p: object) -> str | None:
    """#rrggbb, a well-formed blurhash, positive integer sizes: what a page may paint as is."""
    if not isinstance(p, dict) or set(p) != _PLACEHOLDER_FIELDS:
        return f"not exactly the fields {', '.join(sorted(_PLACEHOLDER_FIELDS))}"
    if not isinstance(p["color"], str) or not _COLOR.fullmatch(p["color"]):
        return "color is not #rrggbb"
    if not is_blurhash(p["blurhash"]):
        return "blurhash is not well formed"
    if not (_positive(p["width"]) and _positive(p["height"])):
        return "width and height must be positive integers"
    return None


def is_blurhash(text: object) -> bool:
    """The blurhash alphabet, and the length its first character (the component counts) says."""
    if not isinstance(text, str) or len(text) < 6 or any(c not in BASE83 for c in text):
        return False
    flag = BASE83.index(text[0])
    x, y = flag % 9 + 1, flag // 9 + 1
    return len(text) == 4 + 2 * x * y


def _positive(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**53


def _is_hex(value: object, length: int) -> bool:
    return isinstance(value, str) and len(value) == length and bool(_HEX.fullmatch(value))


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
        **({"description": words} if (words := _description(photo)) else {}),
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
