"""IPTC IIM (the block Photo Mechanic, FotoStation and older Photoshop write) for four fields.

Our own reader rather than Pillow's IptcImagePlugin: that one needs an opened Pillow image,
finds only the Photoshop APP13 copy (not FotoStation's trailer), keeps no record 1 (so no
character set) and raises on a damaged block instead of keeping what was read. The format is
small: each dataset is 0x1C, record, dataset number, a two-byte length (or, with the high bit
set, the number of bytes of a longer length), then the data.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

UTF8_ESCAPES = (b"\x1b%G", b"\x1b%/I")  # ISO 2022 "UTF-8" designations in 1:90
_WANTED = {
    (1, 90): "charset",
    (2, 5): "object_name",
    (2, 55): "date_created",
    (2, 60): "time_created",
    (2, 120): "caption",
}


@dataclass(frozen=True)
class IptcFields:
    object_name: str | None = None  # 2:05, IPTC Core "Title"
    caption: str | None = None  # 2:120 Caption-Abstract, IPTC Core "Description"
    date_created: str | None = None  # 2:55 CCYYMMDD
    time_created: str | None = None  # 2:60 HHMMSS±HHMM
    digest: str | None = None  # MD5 of the block, compared with Photoshop's IPTCDigest


def parse_iptc(block: bytes | None) -> IptcFields:
    """The fields of an IIM block; a damaged dataset ends the walk, what came before is kept."""
    if not block:
        return IptcFields()
    raw = _datasets(block)
    utf8 = raw.get("charset", b"").strip() in UTF8_ESCAPES
    text = {name: _decode(value, utf8) for name, value in raw.items() if name != "charset"}
    return IptcFields(
        object_name=text.get("object_name"),
        caption=text.get("caption"),
        date_created=text.get("date_created"),
        time_created=text.get("time_created"),
        digest=hashlib.md5(block).hexdigest(),
    )


def _datasets(block: bytes) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    at = 0
    while at + 5 <= len(block) and block[at] == 0x1C:
        record, number = block[at + 1], block[at + 2]
        (length,) = struct.unpack(">H", block[at + 3 : at + 5])
        at += 5
        if length & 0x8000:  # extended dataset: the next (length & 0x7FFF) bytes are the length
            size = length & 0x7FFF
            if size > 4 or at + size > len(block):
                break
            length = int.from_bytes(block[at : at + size], "big")
            at += size
        if at + length > len(block):
            break
        name = _WANTED.get((record, number))
        if name and name not in found:
            found[name] = block[at : at + length]
        at += length
    return found


def _decode(value: bytes, utf8: bool) -> str | None:
    """UTF-8 when 1:90 says so or the bytes are valid UTF-8, else Windows Latin-1 (IIM's
    de-facto default, and exiftool's); blank becomes None."""
    value = value.split(b"\x00", 1)[0]
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        text = value.decode("utf-8", errors="replace") if utf8 else _latin(value)
    return text.strip() or None


def _latin(value: bytes) -> str:
    try:
        return value.decode("cp1252")
    except UnicodeDecodeError:
        return value.decode("latin-1")
