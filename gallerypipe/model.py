"""The small frozen records that flow between stages: scan → analyse → dedup → pick → render."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """A file the run could not use (or used only in part), with a one-line reason."""

    path: str
    reason: str


@dataclass(frozen=True)
class SourceFile:
    """A photo found on a card: where it is and what sits beside it."""

    path: Path
    display: str  # the path as found under the SRC argument, for reports
    relative: str  # the path from the SRC folder's name down, for the manifest
    kind: str  # "jpeg" or "heic"
    size: int
    mtime: float
    companions: tuple[str, ...] = ()  # RAW files with the same stem
    sidecars: tuple[str, ...] = ()  # .xmp files for it or its RAW, the strongest first


@dataclass(frozen=True)
class Metadata:
    """What the file (and its XMP sidecars) say about it, reconciled by metadata.py's rules.

    capture_time is None when no date was readable in EXIF, XMP or IPTC; time_source says
    which of "exif", "xmp" or "iptc" it came from. problems are warnings: the photo is usable.
    """

    capture_time: datetime | None
    make: str | None
    model: str | None
    serial: str | None
    orientation: int
    description: str | None
    has_exif: bool
    problems: tuple[str, ...] = ()
    title: str | None = None  # XMP dc:title / IPTC ObjectName, else the description
    rating: int | None = None  # xmp:Rating: -1 rejected, 0 unrated, 1 to 5 stars
    time_source: str | None = None  # "exif", "xmp" or "iptc": where capture_time was read


@dataclass(frozen=True)
class HashMethod:
    """How the hashes were made: hashes made differently must never be compared."""

    library: str  # e.g. "imagehash 4.3.2"
    algorithms: tuple[str, ...]  # e.g. ("phash", "dhash")
    bits: int  # bits per hash
    thumb: int  # edge of the square grayscale thumbnail kept for local comparison


@dataclass(frozen=True)
class Analysis:
    """Measurements from one small decode: hashes for dedup, quality figures for the header.

    All hashes are of the orientation-normalised image; rotated_phashes are those of the image
    turned 90°, 180° and 270° counter-clockwise, so a copy whose pixels were turned is found.
    thumb is a square grayscale thumbnail (hash_method.thumb² bytes, row by row) and detail a
    larger one, for comparing two photos region by region without decoding them again.
    """

    sha256: str
    width: int  # full size, after orientation
    height: int
    phash: int
    dhash: int
    rotated_phashes: tuple[int, int, int]
    thumb: bytes
    hash_method: HashMethod
    sharpness: float
    clipped_highlights: float
    clipped_shadows: float
    damage: str = ""  # what the JPEG decoder found corrupt in the data ("" when intact)
    # sha256 of the reduced decode's gray pixels (upright): equal for files holding the same
    # image data whatever their metadata says, different for any re-encode or edit
    pixels: str = ""
    # a DETAIL×DETAIL grayscale thumbnail (analyse.DETAIL) for the local-change test
    detail: bytes = b""


@dataclass(frozen=True)
class Photo:
    """A decodable photo with everything the later stages need to decide about it."""

    source: SourceFile
    meta: Metadata
    analysis: Analysis
    taken: datetime  # capture time used for ordering (timezone-aware)
    time_from_file: bool  # True when taken falls back to the file's mtime

    @property
    def id(self) -> str:
        return self.analysis.sha256[:16]

    @property
    def time_source(self) -> str:
        """Where taken came from: "exif", "xmp", "iptc", or "file" (the file's mtime)."""
        return "file" if self.time_from_file else self.meta.time_source or "exif"

    @property
    def landscape(self) -> bool:
        return self.analysis.width > self.analysis.height


@dataclass(frozen=True)
class Duplicate:
    photo: Photo
    reason: str  # "exact", "near", "rotated" or "burst"
    distance: int  # phash Hamming distance to the photo it was linked to (0 for exact)


@dataclass(frozen=True)
class DuplicateGroup:
    keep: Photo
    duplicates: tuple[Duplicate, ...]
    why_kept: str = ""  # which keeper rule decided, e.g. "camera original (others have no EXIF)"


@dataclass(frozen=True)
class Rendition:
    key: str  # object key relative to the store prefix
    width: int
    height: int
    bytes: int
    content_type: str
    sha256: str


@dataclass(frozen=True)
class Placeholder:
    """What a site needs to lay out a photo and paint something before any image loads."""

    blurhash: str
    color: str  # dominant colour, #rrggbb
    width: int  # of the largest rendition
    height: int


@dataclass(frozen=True)
class GalleryItem:
    """A kept photo in its gallery place, with its title and published renditions."""

    number: int
    photo: Photo
    title: str
    renditions: tuple[Rendition, ...]
    placeholder: Placeholder | None = None

    @property
    def largest(self) -> Rendition:
        """The largest JPEG rendition (the one the page bundle copies)."""
        return largest_jpeg(self.renditions)


def largest_jpeg(renditions: Sequence[Rendition]) -> Rendition:
    jpegs = [r for r in renditions if r.content_type == "image/jpeg"]
    return max(jpegs or renditions, key=lambda r: r.width * r.height)
