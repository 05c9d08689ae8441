"""What gallerypipe owns in a page bundle: the files it wrote, recorded with their sha256.

The record is `.gallerypipe.json` at the bundle's top (Hugo publishes no dot-file there). Only a
recorded file whose content is still what gallerypipe wrote may be replaced or removed; anything
else in the bundle is the user's: kept byte for byte, and reported. A bundle written before the
record existed is read from its own manifest.json: a gallery file named as that manifest's photos
were named, holding that photo's rendition (same sha256), is gallerypipe's.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

from .locks import wait_for_lock
from .sites import SiteLocked
from .storage import write_if_changed

STATE_FILE = ".gallerypipe.json"
GALLERY_DIR = "gallery"
HEADER_FILE = "header.jpg"
MANIFEST_FILE = "manifest.json"
NAME_MAX = 255  # bytes in one file name on every filesystem a site lives on


class BundleLocked(SiteLocked):
    """Another gallerypipe run holds the bundle's lock for longer than we wait."""


@dataclass(frozen=True)
class Owned:
    """One bundle file gallerypipe wrote: its content(s), the photo it shows, its entry's title.

    Two sha256s are recorded while a replacement is under way (the old and the new content), so
    a run killed half-way still knows the file as its own."""

    sha256: tuple[str, ...]
    photo: str | None = None
    title: str | None = None

    def to_json(self) -> dict:
        found = {"sha256": list(self.sha256), "photo": self.photo, "title": self.title}
        return {k: v for k, v in found.items() if v is not None}


@dataclass(frozen=True)
class Record:
    """Bundle-relative POSIX path → what gallerypipe wrote there."""

    files: Mapping[str, Owned] = field(default_factory=dict)
    legacy: bool = False  # derived from an older gallerypipe's manifest.json, not a record

    def owns(self, rel: str, sha256: str | None) -> bool:
        """Is the file now at rel (content sha256) exactly what gallerypipe wrote there?"""
        owned = self.files.get(rel)
        return owned is not None and sha256 in owned.sha256


def gallery_name(number: int, source_name: str, total: int) -> str:
    """`001-img_5101.jpg`, as gallerypipe named gallery files before names were stable (read to
    recognise an older bundle's files): the number, then the source's stem."""
    width = max(3, len(str(total)))
    stem = re.sub(r"[^a-z0-9_]+", "-", PurePosixPath(source_name).stem.lower()).strip("-_")
    prefix = f"{number:0{width}d}-"
    stem = (stem or "photo")[: NAME_MAX - len(prefix) - len(".jpg")].rstrip("-_") or "photo"
    return f"{prefix}{stem}.jpg"


def stable_name(taken: datetime, source_name: str, photo_id: str = "") -> str:
    """`20180614-101500-img_5101.jpg`: the capture time (the event's clock), then the source's
    stem; with photo_id, its first 8 digits after (for two photos that would share a name).

    The name does not depend on the photo's place in the gallery, so it stays while the photo
    does, and file names (and the resource names made from them) sort in capture order.
    """
    prefix = taken.strftime("%Y%m%d-%H%M%S-")
    suffix = f"-{photo_id[:8]}.jpg" if photo_id else ".jpg"
    stem = re.sub(r"[^a-z0-9_]+", "-", PurePosixPath(source_name).stem.lower()).strip("-_")
    stem = (stem or "photo")[: NAME_MAX - len(prefix) - len(suffix)].rstrip("-_") or "photo"
    return f"{prefix}{stem}{suffix}"


def sha256_of(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def load_record(bundle: Path) -> Record:
    """The bundle's record, or one derived from an older gallerypipe's manifest.json."""
    path = bundle / STATE_FILE
    try:
        data = json.loads(path.read_bytes())
        return Record(
            {
                rel: Owned(tuple(f["sha256"]), f.get("photo"), f.get("title"))
                for rel, f in data["files"].items()
            }
        )
    except FileNotFoundError:
        return legacy_record(bundle)
    except (ValueError, KeyError, TypeError, AttributeError):
        return legacy_record(bundle)  # unreadable: trust only what the manifest proves


def save_record(bundle: Path, record: Record) -> bool:
    files = {rel: record.files[rel].to_json() for rel in sorted(record.files)}
    data = json.dumps({"version": 1, "files": files}, indent=1, ensure_ascii=True) + "\n"
    return write_if_changed(bundle / STATE_FILE, data.encode())


def legacy_record(bundle: Path) -> Record:
    """What an older gallerypipe (no record) wrote: the files its manifest.json names, where
    they still hold the content it describes (a user's edit makes the file the user's)."""
    try:
        raw = (bundle / MANIFEST_FILE).read_bytes()
        manifest = json.loads(raw)
        photos = manifest["photos"]
        if not str(manifest.get("generator", "")).startswith("gallerypipe"):
            return Record(legacy=True)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return Record(legacy=True)
    files: dict[str, Owned] = {MANIFEST_FILE: Owned((hashlib.sha256(raw).hexdigest(),))}
    with contextlib.suppress(KeyError, TypeError, ValueError, AttributeError):
        for photo in photos:
            rel = photo.get("file") or (
                f"{GALLERY_DIR}/"
                + gallery_name(photo["number"], PurePosixPath(photo["source"]).name, len(photos))
            )
            owned = Owned((_largest_jpeg_sha(photo),), photo["id"], photo.get("title"))
            files[rel] = owned
            if photo["id"] == manifest.get("header"):
                files[HEADER_FILE] = owned
    return Record(files, legacy=True)


def _largest_jpeg_sha(photo: dict) -> str:
    jpegs = [r for r in photo["renditions"] if r["content_type"] == "image/jpeg"]
    return max(jpegs, key=lambda r: r["width"] * r["height"])["sha256"]


_HELD: set[int] = set()  # descriptors of the bundle locks this process holds


def _drop_inherited_locks() -> None:
    """In a forked child (a worker of the process pool): close the lock descriptors it
    inherited, so a worker that outlives a killed run cannot keep the bundle locked."""
    for fd in list(_HELD):
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD.clear()


os.register_at_fork(after_in_child=_drop_inherited_locks)


@contextlib.contextmanager
def bundle_lock(bundle: Path, timeout: float = 600.0) -> Iterator[None]:
    """Hold an exclusive lock on the bundle's folder (flock; the kernel frees it when the process
    dies): a second run on the same bundle waits for the first, then sees what it did. No lock
    file is made; a bundle folder this run created and left empty is removed again."""
    created = not bundle.exists()
    bundle.mkdir(parents=True, exist_ok=True)
    fd = os.open(bundle, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    _HELD.add(fd)
    try:
        if not wait_for_lock(fd, timeout, poll=0.1):
            raise BundleLocked(
                f"{bundle}: another gallerypipe run has held this bundle for over "
                f"{timeout:.0f} s; try again when it is done"
            )
        yield
    finally:
        _HELD.discard(fd)
        os.close(fd)  # releases the lock
        if created:
            with contextlib.suppress(OSError):
                bundle.rmdir()  # only if empty: the run failed before writing anything
