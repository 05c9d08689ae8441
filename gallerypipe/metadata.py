"""Read what a photo says about itself: one reader for EXIF, XMP and IPTC, reconciled as the
Metadata Working Group's guidelines say (the rules exiftool applies with `-use MWG`).

Capture time: EXIF DateTimeOriginal (+ SubSecTimeOriginal, + OffsetTimeOriginal, or a fraction
and offset written inside the date itself); else the XMP date (exif:DateTimeOriginal,
photoshop:DateCreated, xmp:CreateDate) or IPTC DateCreated + TimeCreated (+ its offset), of
which XMP wins unless the IPTC was changed after the XMP was written (MWG: Photoshop's
IPTCDigest no longer matches the IPTC block) or the XMP has only the day IPTC gives a time
for; else EXIF DateTimeDigitized; else none (the file's
mtime is used later, and flagged). Description: EXIF ImageDescription, else XMP dc:description /
IPTC Caption-Abstract by the same XMP-or-IPTC rule. Title: XMP dc:title / IPTC ObjectName by
that rule, else the description. Camera boilerplate ("OLYMPUS DIGITAL CAMERA") counts as absent
everywhere (see boilerplate.py), and a sidecar's XMP title or description wins over the file's:
it is the photographer's later edit.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from PIL import Image

from .boilerplate import caption
from .containers import Blocks, jpeg_blocks
from .iptc import IptcFields, parse_iptc
from .model import Metadata
from .tiff import BadTiff, TiffTags, read_tiff
from .xmp import BadXmp, XmpFields, parse_xmp

_OFFSET = re.compile(r"^([+-])(\d{1,2}):(\d{2})$|^([+-])(\d{2})(\d{2})$")
_EXIF_STARTS = (b"Exif", b"\xff\xd8", b"II*\x00", b"MM\x00*")
_UNKNOWN_TIME = re.compile(r"^[\s:0]*$")  # EXIF writes blanks or zeros for "not set"
# EXIF "2018:06:14 09:30:05" and ISO 8601 "2018-06-14T09:30:05", with optional fraction and
# zone; ISO dates may stop after the year, month, day or minutes (XMP allows it).
_DATE = re.compile(
    r"^(\d{4})(?:[:/.-](\d{2})(?:[:/.-](\d{2})(?:[ T]+(\d{2}):(\d{2})(?::(\d{2}))?(?:[.,](\d+))?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?$"
)
_EMPTY = Metadata(None, None, None, None, 1, None, has_exif=False)
Sidecars = Sequence[tuple[str, bytes]]


@dataclass(frozen=True)
class Found:
    """A capture time and where it was read ("exif", "xmp" or "iptc")."""

    time: datetime
    source: str


def read_metadata(exif: bytes | None) -> Metadata:
    """Parse raw EXIF (an APP1 payload, bare TIFF or a whole JPEG); unreadable parts become
    problems."""
    if not exif:
        return _EMPTY
    if exif.startswith(b"\xff\xd8"):
        exif = jpeg_blocks(exif).exif
        if not exif:
            return _EMPTY
    if not exif.startswith(_EXIF_STARTS):
        return Metadata(None, None, None, None, 1, None, False, ("unrecognised EXIF block",))
    return read_photo_metadata(Blocks(exif=exif))


def read_file_metadata(
    data: bytes, img: Image.Image | None = None, sidecars: Sidecars = ()
) -> Metadata:
    """Everything a photo file (JPEG, MPO or HEIC) and its XMP sidecars say, reconciled.

    JPEG and MPO are read from their marker segments; other formats (HEIC) from what Pillow
    found while opening the file (img), which must then be given.
    """
    try:
        if data.startswith(b"\xff\xd8"):
            blocks = jpeg_blocks(data)
        elif img is not None:
            blocks = _pillow_blocks(img)
        else:
            blocks = Blocks()
        return read_photo_metadata(blocks, sidecars)
    except Exception as err:  # a damaged block we did not foresee: the photo is still usable
        reason = f"unreadable metadata: {type(err).__name__}: {err}"
        return Metadata(None, None, None, None, 1, None, False, (reason,))


def _pillow_blocks(img: Image.Image) -> Blocks:
    exif, xmp = img.info.get("exif"), img.info.get("xmp")
    if isinstance(exif, bytes) and exif and not exif.startswith(b"Exif"):
        exif = b"Exif\x00\x00" + exif
    if isinstance(xmp, str):
        xmp = xmp.encode()
    return Blocks(exif=exif or None, xmp=xmp or None)


def read_photo_metadata(blocks: Blocks, sidecars: Sidecars = ()) -> Metadata:
    """The reconciled metadata of one photo's blocks and sidecars (see the module's rules)."""
    problems = list(blocks.notes)
    tags, has_exif = _exif(blocks.exif, problems)
    embedded, side = _xmp(blocks, sidecars, problems)
    xmp = side.over(embedded)
    iptc = parse_iptc(blocks.iptc)
    xmp_wins, has_iptc = _xmp_wins(blocks, iptc), blocks.iptc is not None
    make, model = _text(tags.values.get("Make")), _text(tags.values.get("Model"))

    def clean(text: str | None) -> str | None:
        return caption(text, make, model)

    def clean_title(text: str | None) -> str | None:
        return caption(text, make, model, title=True)

    description = (
        clean(side.description)
        or clean(_text(tags.values.get("ImageDescription")))
        or _reconcile(clean(xmp.description), clean(iptc.caption), xmp_wins, has_iptc)
    )
    title = clean_title(side.title) or _reconcile(
        clean_title(xmp.title), clean_title(iptc.object_name), xmp_wins, has_iptc
    )
    found = _capture_time(tags, xmp, iptc, xmp_wins, has_iptc, problems)
    return Metadata(
        capture_time=found.time if found else None,
        make=make,
        model=model,
        serial=_text(tags.values.get("BodySerialNumber")),
        orientation=_orientation(tags.values.get("Orientation")),
        description=description,
        has_exif=has_exif,
        problems=tuple(problems),
        title=title or description,
        rating=xmp.rating,
        time_source=found.source if found else None,
    )


def _exif(block: bytes | None, problems: list[str]) -> tuple[TiffTags, bool]:
    if not block:
        return TiffTags(), False
    try:
        tags = read_tiff(block)
    except BadTiff as err:
        problems.append(f"unreadable EXIF: {err}")
        return TiffTags(), False
    problems.extend(tags.notes)
    return tags, True


def _xmp(blocks: Blocks, sidecars: Sidecars, problems: list[str]) -> tuple[XmpFields, XmpFields]:
    """The embedded packet (joined with its Extended XMP) and the sidecars, strongest first."""
    embedded = _parse(blocks.xmp, "embedded XMP", problems) if blocks.xmp else XmpFields()
    if embedded.extended:
        extension = blocks.extended.get(embedded.extended)
        if extension is None:
            problems.append(f"Extended XMP {embedded.extended} is missing from the file")
        else:
            embedded = embedded.over(_parse(extension, "Extended XMP", problems))
    side = XmpFields()
    for name, data in sidecars:
        side = side.over(_parse(data, f"XMP sidecar {name}", problems))
    return embedded, side


def _parse(data: bytes, label: str, problems: list[str]) -> XmpFields:
    try:
        return parse_xmp(data)
    except BadXmp as err:
        problems.append(f"unreadable {label}: {err}")
        return XmpFields()


def _xmp_wins(blocks: Blocks, iptc: IptcFields) -> bool:
    """MWG: the XMP is current unless Photoshop's IPTCDigest says the IPTC changed since."""
    if blocks.iptc is None or blocks.iptc_digest is None:
        return True
    return blocks.iptc_digest.hex() == iptc.digest


def _reconcile(xmp: str | None, iptc: str | None, xmp_wins: bool, has_iptc: bool) -> str | None:
    """exiftool's MWG rule: XMP when there is no IPTC, or when XMP has the value and the IPTC is
    unchanged since; the IPTC value otherwise (even when absent: a deletion the XMP missed)."""
    if not has_iptc or (xmp is not None and xmp_wins):
        return xmp
    return iptc


def _capture_time(
    tags: TiffTags,
    xmp: XmpFields,
    iptc: IptcFields,
    xmp_wins: bool,
    has_iptc: bool,
    problems: list[str],
) -> Found | None:
    values = tags.values
    original = _exif_time(values, "DateTimeOriginal", "Original", problems)
    if original:
        return Found(original, "exif")
    embedded = _embedded_time(xmp, iptc, xmp_wins, has_iptc, problems)
    if embedded:
        return embedded
    digitized = _exif_time(values, "CreateDate", "Digitized", problems)
    return Found(digitized, "exif") if digitized else None


def _embedded_time(
    xmp: XmpFields, iptc: IptcFields, xmp_wins: bool, has_iptc: bool, problems: list[str]
) -> Found | None:
    """The XMP or IPTC capture time, reconciled as exiftool's MWG rule does."""
    xmp_time = _xmp_time(xmp, problems)
    iptc_time = _iptc_time(iptc, problems)
    if xmp_time and _day_only(xmp.date) and iptc_time and iptc_time.date() == xmp_time.date():
        return Found(iptc_time, "iptc")  # the same day, and IPTC has the time (Photo Mechanic)
    if xmp_time and (not has_iptc or xmp_wins or not iptc_time):
        return Found(xmp_time, "xmp")
    if iptc_time:
        return Found(iptc_time, "iptc")
    return None


def _day_only(date: str | None) -> bool:
    """An XMP date without a time of day ("2006-10-29")."""
    return date is not None and len(date.strip()) <= 10


def _exif_time(values: dict, date_tag: str, suffix: str, problems: list[str]) -> datetime | None:
    raw = _text(values.get(date_tag))
    if raw is None or _UNKNOWN_TIME.match(raw):
        return None
    subsec = _text(values.get(f"SubSecTime{suffix}"))
    offset = _text(values.get(f"OffsetTime{suffix}"))
    try:
        return parse_time(raw, subsec, offset, problems)
    except ValueError:
        problems.append(f"unreadable capture time {raw!r}")
        return None


def _xmp_time(xmp: XmpFields, problems: list[str]) -> datetime | None:
    if not xmp.date:
        return None
    try:
        return parse_time(xmp.date, problems=problems)
    except ValueError:
        problems.append(f"unreadable XMP {xmp.date_property} {xmp.date!r}")
        return None


def _iptc_time(iptc: IptcFields, problems: list[str]) -> datetime | None:
    """IPTC DateCreated (CCYYMMDD) with TimeCreated (HHMMSS±HHMM) when there is one."""
    date = (iptc.date_created or "").replace(":", "").replace("-", "")
    if not date or _UNKNOWN_TIME.match(date):
        return None
    time = (iptc.time_created or "").replace(":", "")
    match = re.match(r"^(\d{2})(\d{2})(\d{2})?([+-]\d{4})?", time)
    try:
        taken = datetime.strptime(date[:8], "%Y%m%d")
        if match:
            hour, minute, second = (int(g or 0) for g in match.groups()[:3])
            taken = taken.replace(hour=hour, minute=minute, second=second)
            zone = _zone(match.group(4), problems)
            return taken.replace(tzinfo=zone) if zone else taken
        return taken
    except ValueError:
        problems.append(f"unreadable IPTC date {iptc.date_created!r} {time!r}")
        return None


def parse_time(
    value: str,
    subsec: str | None = None,
    offset: str | None = None,
    problems: list[str] | None = None,
) -> datetime:
    """An EXIF, XMP or IPTC date, with the fraction and offset written inside it or beside it.

    A fraction or offset inside the value wins over SubSecTime / OffsetTime tags. An offset that
    cannot be read is dropped (noted in problems), never the time; ValueError when the date
    itself cannot be read.
    """
    match = _DATE.match(value.strip().rstrip("\x00"))
    if not match:
        raise ValueError(value)
    *fields, fraction, zone = match.groups()
    taken = _naive_time(*fields)
    digits = fraction or _subsec_digits(subsec)
    if digits:
        taken = taken.replace(microsecond=int(digits[:6].ljust(6, "0")))
    tz = UTC if zone == "Z" else _zone(zone or offset, problems)
    return taken.replace(tzinfo=tz) if tz else taken


def _naive_time(
    year: str,
    month: str | None,
    day: str | None,
    hour: str | None,
    minute: str | None,
    second: str | None,
) -> datetime:
    """The date and time a match of _DATE gives; a missing part is the first of its range."""
    return datetime(
        int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0),
        int(second or 0),
    )  # fmt: skip


def _subsec_digits(subsec: str | None) -> str:
    """The digits of a SubSecTime tag; "" when it is absent or not all digits."""
    return subsec.strip() if subsec and subsec.strip().isdigit() else ""


def parse_exif_time(value: str, subsec: str | None = None, offset: str | None = None) -> datetime:
    """'2018:06:14 09:30:05' + '25' + '+02:00' → an aware or naive datetime."""
    return parse_time(value, subsec, offset)


def _zone(offset: str | None, problems: list[str] | None = None) -> timezone | None:
    """±HH:MM → a timezone; a blank offset is none, an unreadable one is noted and dropped."""
    text = (offset or "").strip()
    if not text or _UNKNOWN_TIME.match(text):
        return None
    if re.match(r"^[+-]\d{2}$", text):
        text += ":00"
    sign, hours, minutes = _offset_parts(text)
    if int(hours) > 14 or int(minutes) > 59:  # UTC-12 … UTC+14 are the zones in use
        if problems is not None:
            problems.append(f"unreadable time-zone offset {text!r} (the time is used without it)")
        return None
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    return timezone(-delta if sign == "-" else delta)


def _offset_parts(text: str) -> tuple[str, str | int, str | int]:
    """Sign, hours and minutes of an offset; out-of-range hours (99) when it cannot be read."""
    match = _OFFSET.match(text)
    if not match:
        return "+", 99, 99
    sign, hours, minutes = [g for g in match.groups() if g is not None]
    return sign, hours, minutes


def _text(value: object) -> str | None:
    """Decode an EXIF string up to its first NUL (as exiftool does): UTF-8 when valid (MWG),
    else Latin-1; blank and all-space strings (as cameras write them) become None."""
    if isinstance(value, bytes):
        value = value.split(b"\x00", 1)[0]
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            value = value.decode("latin-1")
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def _orientation(value: object) -> int:
    if isinstance(value, bytes):
        text = _text(value)
        value = int(text) if text and text.isdigit() else 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


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
