"""Titles and ratings photographers add later: XMP (embedded packet or sidecar) and IPTC.

XMP is parsed with the standard library's expat; a packet declaring a DOCTYPE or entities is
refused unread (no entity expansion, no external references), as defusedxml would.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from PIL import Image, IptcImagePlugin

RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
DC = "{http://purl.org/dc/elements/1.1/}"
XMP = "{http://ns.adobe.com/xap/1.0/}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
IPTC_CAPTION = (2, 120)  # Caption-Abstract
REJECTED = -1
_UNSAFE = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


class BadXmp(ValueError):
    """An XMP packet that cannot be read; the message is the one-line reason."""


@dataclass(frozen=True)
class XmpFields:
    title: str | None = None  # dc:title
    description: str | None = None  # dc:description
    rating: int | None = None  # xmp:Rating, -1 (rejected) to 5

    def over(self, other: XmpFields) -> XmpFields:
        """These fields where set, the other's elsewhere (a sidecar over the embedded packet)."""
        return XmpFields(
            self.title or other.title,
            self.description or other.description,
            other.rating if self.rating is None else self.rating,
        )


def parse_xmp(packet: bytes | str) -> XmpFields:
    """dc:title, dc:description and xmp:Rating from an XMP packet; BadXmp when unreadable."""
    data = packet.encode() if isinstance(packet, str) else packet
    data = data.replace(b"\x00", b"").strip()
    if _UNSAFE.search(data):
        raise BadXmp("XMP declares a DOCTYPE or entities (refused)")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as err:
        raise BadXmp(f"XMP is not well-formed: {err}") from err
    title = description = rating = None
    for desc in root.iter(f"{RDF}Description"):
        title = title or _lang_alt(desc, f"{DC}title")
        description = description or _lang_alt(desc, f"{DC}description")
        if rating is None:
            rating = _rating(desc)
    return XmpFields(title, description, rating)


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


def embedded_xmp(img: Image.Image) -> bytes | None:
    """The XMP packet Pillow found while opening the file (JPEG APP1, HEIF item), if any."""
    packet = img.info.get("xmp")
    if isinstance(packet, str):
        packet = packet.encode()
    return packet if isinstance(packet, bytes) and packet.strip(b"\x00 \n") else None


def iptc_caption(img: Image.Image) -> str | None:
    """IPTC Caption-Abstract from the Photoshop APP13 block (no pixels are decoded)."""
    try:
        info = IptcImagePlugin.getiptcinfo(img) or {}
    except Exception:  # a damaged APP13 block: there is simply no caption to use
        return None
    value = info.get(IPTC_CAPTION)
    if isinstance(value, list):
        value = value[0] if value else None
    if not isinstance(value, bytes):
        return None
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        text = value.decode("latin-1")  # IPTC's pre-UTF-8 default
    return _clean(text.replace("\x00", ""))
