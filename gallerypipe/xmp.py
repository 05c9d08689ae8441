"""What photographers and their tools add in XMP (embedded packet or sidecar): title,
description, rating, and the capture dates editors write when EXIF has none.

XMP is parsed with the standard library's expat; a packet declaring a DOCTYPE or entities is
refused unread (no entity expansion, no external references), as defusedxml would. Packets may be
UTF-8, UTF-16 or UTF-32 (XMP Part 3, 7.3.1), told by their byte-order mark or their first bytes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
DC = "{http://purl.org/dc/elements/1.1/}"
XMP = "{http://ns.adobe.com/xap/1.0/}"
EXIF = "{http://ns.adobe.com/exif/1.0/}"
PHOTOSHOP = "{http://ns.adobe.com/photoshop/1.0/}"
XMP_NOTE = "{http://ns.adobe.com/xmp/note/}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
REJECTED = -1
# Capture dates in the order they are trusted (MWG: photoshop:DateCreated is the XMP mate of
# EXIF DateTimeOriginal; exif:DateTimeOriginal is what older writers and converters leave).
DATE_PROPERTIES = (f"{EXIF}DateTimeOriginal", f"{PHOTOSHOP}DateCreated", f"{XMP}CreateDate")
_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)
_UNSAFE = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


class BadXmp(ValueError):
    """An XMP packet that cannot be read; the message is the one-line reason."""


@dataclass(frozen=True)
class XmpFields:
    title: str | None = None  # dc:title
    description: str | None = None  # dc:description
    rating: int | None = None  # xmp:Rating, -1 (rejected) to 5
    date: str | None = None  # the first of DATE_PROPERTIES set, as written (ISO 8601)
    date_property: str | None = None  # which one, e.g. "photoshop:DateCreated"
    extended: str | None = None  # xmpNote:HasExtendedXMP: the GUID of the Extended XMP

    def over(self, other: XmpFields) -> XmpFields:
        """These fields where set, the other's elsewhere (a sidecar over the embedded packet)."""
        dated = self if self.date else other
        return XmpFields(
            self.title or other.title,
            self.description or other.description,
            other.rating if self.rating is None else self.rating,
            dated.date,
            dated.date_property,
            self.extended or other.extended,
        )


def parse_xmp(packet: bytes | str) -> XmpFields:
    """Title, description, rating and capture date from an XMP packet; BadXmp when unreadable."""
    text = packet if isinstance(packet, str) else decode_packet(packet)
    text = text.strip("\x00 \t\r\n\ufeff")
    if _UNSAFE.search(text.encode("utf-8", errors="replace")):
        raise BadXmp("XMP declares a DOCTYPE or entities (refused)")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as err:
        raise BadXmp(f"XMP is not well-formed: {err}") from err
    fields = XmpFields()
    for desc in root.iter(f"{RDF}Description"):
        rating = _rating(desc) if fields.rating is None else fields.rating
        date, prop = (fields.date, fields.date_property) if fields.date else _date(desc)
        fields = XmpFields(
            fields.title or _lang_alt(desc, f"{DC}title"),
            fields.description or _lang_alt(desc, f"{DC}description"),
            rating,
            date,
            prop,
            fields.extended or _simple(desc, f"{XMP_NOTE}HasExtendedXMP"),
        )
    return fields


def decode_packet(data: bytes) -> str:
    """The packet's text: by its byte-order mark, else by where the zero bytes of "<" fall."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return _decode(data[len(bom) :], codec.removesuffix("-sig"))
    return _decode(data, _sniffed_codec(data[:4]))


def _sniffed_codec(head: bytes) -> str:
    """The codec the zero bytes around the packet's first "<" tell (XML 1.0, Appendix F)."""
    if len(head) == 4 and head[:3] == b"\x00\x00\x00":
        return "utf-32-be"
    if len(head) == 4 and head[1:] == b"\x00\x00\x00":
        return "utf-32-le"
    if head[:1] == b"\x00" and head[1:2] != b"\x00":
        return "utf-16-be"
    if head[1:2] == b"\x00" and head[:1] != b"\x00":
        return "utf-16-le"
    return "utf-8"


def _decode(data: bytes, codec: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as err:
        raise BadXmp(f"XMP is not valid {codec.upper()}: {err.reason} at byte {err.start}") from err


def _simple(desc: ET.Element, tag: str) -> str | None:
    """A simple property, as an attribute or as an element's text."""
    if desc.get(tag) is not None:
        return _clean(desc.get(tag))
    element = desc.find(tag)
    return _clean(element.text) if element is not None else None


def _date(desc: ET.Element) -> tuple[str | None, str | None]:
    prefixes = {EXIF: "exif:", PHOTOSHOP: "photoshop:", XMP: "xmp:"}
    for tag in DATE_PROPERTIES:
        value = _simple(desc, tag)
        if value:
            namespace, name = tag[: tag.index("}") + 1], tag[tag.index("}") + 1 :]
            return value, prefixes[namespace] + name
    return None, None


def _lang_alt(desc: ET.Element, tag: str) -> str | None:
    """A language alternative: x-default first, else the first entry; attribute form too."""
    if desc.get(tag):
        return _clean(desc.get(tag))
    element = desc.find(tag)
    if element is None:
        return None
    items = list(element.iter(f"{RDF}li"))
    if not items:
        return _clean(element.text)
    default = [li for li in items if li.get(XML_LANG) == "x-default"]
    return _clean((default or items)[0].text)


def _rating(desc: ET.Element) -> int | None:
    raw = desc.get(f"{XMP}Rating")
    if raw is None:
        element = desc.find(f"{XMP}Rating")
        raw = element.text if element is not None else None
    if raw is None or not raw.strip():
        return None
    try:
        value = round(float(raw))
    except ValueError as err:
        raise BadXmp(f"xmp:Rating is not a number: {raw.strip()!r}") from err
    if not REJECTED <= value <= 5:
        raise BadXmp(f"xmp:Rating {value} is outside -1…5")
    return value


def _clean(text: str | None) -> str | None:
    text = (text or "").strip()
    return text or None
