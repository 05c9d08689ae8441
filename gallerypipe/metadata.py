"""Read what a photo says about itself (EXIF via piexif) and derive the time it is ordered by."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import piexif

from .model import Metadata
from .xmp import BadXmp, XmpFields, parse_xmp

_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")
_EXIF_STARTS = (b"Exif", b"\xff\xd8", b"II*\x00", b"MM\x00*")
_UNKNOWN_TIME = re.compile(r"^[\s:0]*$")  # EXIF writes blanks or zeros for "not set"
_EMPTY = Metadata(None, None, None, None, 1, None, has_exif=False)


def read_metadata(exif: bytes | None) -> Metadata:
    """Parse raw EXIF (an APP1 payload or a whole JPEG); unreadable parts become problems."""
    if not exif:
        return _EMPTY
    if not exif.startswith(_EXIF_STARTS):  # piexif would take other bytes for a file name
        return Metadata(None, None, None, None, 1, None, False, ("unrecognised EXIF block",))
    try:
        tags = piexif.load(exif)
    except Exception as err:  # piexif raises many types on malformed data
        return Metadata(None, None, None, None, 1, None, False, (f"unreadable EXIF: {err}",))
    zeroth, exif_ifd = tags.get("0th", {}), tags.get("Exif", {})
    problems: list[str] = []
    capture_time = _capture_time(exif_ifd, problems)
    return Metadata(
        capture_time=capture_time,
        make=_text(zeroth.get(piexif.ImageIFD.Make)),
        model=_text(zeroth.get(piexif.ImageIFD.Model)),
        serial=_text(exif_ifd.get(piexif.ExifIFD.BodySerialNumber)),
        orientation=_orientation(zeroth.get(piexif.ImageIFD.Orientation)),
        description=_text(zeroth.get(piexif.ImageIFD.ImageDescription)),
        has_exif=True,
        problems=tuple(problems),
    )


def add_captions(
    meta: Metadata,
    packet: bytes | None,
    iptc: str | None,
    sidecars: Sequence[tuple[str, bytes]] = (),
) -> Metadata:
    """Title and rating from XMP (sidecars, strongest first, over the embedded packet) and IPTC.

    Title order: XMP dc:title, XMP dc:description, IPTC Caption-Abstract, EXIF ImageDescription.
    An unreadable packet adds a problem; whatever else could be read is kept.
    """
    problems = list(meta.problems)
    fields = XmpFields()
    sources = [(f"XMP sidecar {name}", data) for name, data in sidecars]
    if packet:
        sources.append(("embedded XMP", packet))
    for label, data in sources:
        try:
            fields = fields.over(parse_xmp(data))
        except BadXmp as err:
            problems.append(f"unreadable {label}: {err}")
    title = fields.title or fields.description or iptc or meta.description
    return replace(meta, title=title, rating=fields.rating, problems=tuple(problems))


def _text(value: object) -> str | None:
    """Decode an EXIF string; blank and all-space strings (as cameras write them) become None."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", "").strip()
    return value or None


def _orientation(value: object) -> int:
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _capture_time(exif_ifd: dict, problems: list[str]) -> datetime | None:
    for date_tag, subsec_tag, offset_tag in (
        (
            piexif.ExifIFD.DateTimeOriginal,
            piexif.ExifIFD.SubSecTimeOriginal,
            piexif.ExifIFD.OffsetTimeOriginal,
        ),
        (
            piexif.ExifIFD.DateTimeDigitized,
            piexif.ExifIFD.SubSecTimeDigitized,
            piexif.ExifIFD.OffsetTimeDigitized,
        ),
    ):
        raw = _text(exif_ifd.get(date_tag))
        if raw is None or _UNKNOWN_TIME.match(raw):
            continue
        try:
            return parse_exif_time(
                raw, _text(exif_ifd.get(subsec_tag)), _text(exif_ifd.get(offset_tag))
            )
        except ValueError:
            problems.append(f"unreadable capture time {raw!r}")
    return None


def parse_exif_time(value: str, subsec: str | None = None, offset: str | None = None) -> datetime:
    """'2018:06:14 09:30:05' + '25' + '+02:00' → an aware or naive datetime."""
    taken = datetime.strptime(value.strip()[:19], "%Y:%m:%d %H:%M:%S")
    if subsec and subsec.strip().isdigit():
        digits = subsec.strip()[:6]
        taken = taken.replace(microsecond=int(digits.ljust(6, "0")))
    tz = _timezone(offset)
    return taken.replace(tzinfo=tz) if tz else taken


def _timezone(offset: str | None) -> timezone | None:
    match = _OFFSET.match(offset.strip()) if offset else None
    if not match:
        return None
    sign, hours, minutes = match.groups()
    if int(hours) > 23 or int(minutes) > 59:
        return None  # an impossible offset (+99:99): the time stays, without its zone
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    return timezone(-delta if sign == "-" else delta)


def event_timezone(times: Iterable[datetime | None]) -> timezone:
    """The zone of a shoot: the most common EXIF offset among its photos, UTC if none say."""
    offsets = Counter(t.utcoffset() for t in times if t is not None and t.tzinfo is not None)
    if not offsets:
        return UTC
    return timezone(offsets.most_common(1)[0][0])


def ordering_time(capture: datetime | None, mtime: float, zone: timezone) -> tuple[datetime, bool]:
    """The aware time a photo is ordered by, and whether it fell back to the file's mtime.

    A camera that records no offset is assumed to run on the event's local clock.
    """
    if capture is None:
        try:
            return datetime.fromtimestamp(mtime, tz=UTC), True
        except (OverflowError, OSError, ValueError):  # an mtime past year 9999
            return datetime.max.replace(tzinfo=UTC), True
    if capture.tzinfo is None:
        capture = capture.replace(tzinfo=zone)
    return capture, False
