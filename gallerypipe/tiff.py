"""A tolerant walk of the EXIF (TIFF) directories for the few tags gallerypipe uses.

piexif and Pillow refuse a whole EXIF block for one entry they do not expect (an ASCII date
stored as UNDEFINED, a SHORT where a LONG belongs, a count that runs past the block); cameras
write such entries and exiftool reads them. This walk reads each wanted entry on its own and
skips, with a note, only the entry that cannot be read: the value is taken from whatever type
the camera used, as exiftool does.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

# TIFF type → bytes per value (TIFF 6.0 and EXIF 2.3); 13 is IFD (a LONG offset).
_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_INTEGERS = {1: "B", 3: "H", 4: "L", 6: "b", 8: "h", 9: "l", 13: "L"}
EXIF_IFD = 0x8769

IFD0_TAGS = {
    0x010E: "ImageDescription",
    0x010F: "Make",
    0x0110: "Model",
    0x0112: "Orientation",
}
EXIF_TAGS = {
    0x9003: "DateTimeOriginal",
    0x9004: "CreateDate",  # EXIF DateTimeDigitized
    0x9011: "OffsetTimeOriginal",
    0x9012: "OffsetTimeDigitized",
    0x9291: "SubSecTimeOriginal",
    0x9292: "SubSecTimeDigitized",
    0xA431: "BodySerialNumber",
}


class BadTiff(ValueError):
    """The block is not TIFF, or its first directory cannot be read at all."""


@dataclass(frozen=True)
class TiffTags:
    values: dict[str, bytes | int] = field(default_factory=dict)  # raw bytes or an integer
    notes: tuple[str, ...] = ()  # entries that could not be read, one line each


def strip_exif_header(block: bytes) -> bytes:
    """The TIFF data of an APP1 payload ('Exif\\0\\0' …) or of bare TIFF bytes."""
    return block[6:] if block.startswith(b"Exif") else block


def read_tiff(block: bytes) -> TiffTags:
    """IFD0's and the EXIF IFD's wanted entries; BadTiff when IFD0 itself is unreadable."""
    data = strip_exif_header(block)
    if len(data) < 8 or data[:4] not in (b"II*\x00", b"MM\x00*"):
        raise BadTiff("not a TIFF header")
    order = "<" if data[:2] == b"II" else ">"
    (first,) = struct.unpack(order + "L", data[4:8])
    values: dict[str, bytes | int] = {}
    notes: list[str] = []
    entries = _entries(data, order, first)
    if entries is None:
        raise BadTiff(f"IFD0 at offset {first} runs past the end of the block")
    _collect(data, order, entries, IFD0_TAGS, values, notes)
    pointer = next((e for e in entries if e[0] == EXIF_IFD), None)
    if pointer is not None:
        offset = _value(data, order, pointer)
        sub = _entries(data, order, offset) if isinstance(offset, int) else None
        if sub is None:
            notes.append("the EXIF sub-directory cannot be read")
        else:
            _collect(data, order, sub, EXIF_TAGS, values, notes)
            _collect(data, order, sub, IFD0_TAGS, values, notes)  # misplaced there by some
    _collect(data, order, entries, EXIF_TAGS, values, notes)  # dates some bodies put in IFD0
    return TiffTags(values, tuple(notes))


Entry = tuple[int, int, int, bytes]  # tag, type, count, the 4 value/offset bytes


def _entries(data: bytes, order: str, offset: int) -> list[Entry] | None:
    if offset < 8 or offset + 2 > len(data):
        return None
    (count,) = struct.unpack(order + "H", data[offset : offset + 2])
    end = offset + 2 + 12 * count
    if end > len(data):
        return None
    return [
        (*struct.unpack(order + "HHL", data[at : at + 8]), data[at + 8 : at + 12])
        for at in range(offset + 2, end, 12)
    ]


def _collect(
    data: bytes,
    order: str,
    entries: list[Entry],
    wanted: dict[int, str],
    values: dict[str, bytes | int],
    notes: list[str],
) -> None:
    for entry in entries:
        name = wanted.get(entry[0])
        if name is None or name in values:
            continue
        value = _value(data, order, entry)
        if value is None:
            notes.append(f"EXIF {name} cannot be read (type {entry[1]}, count {entry[2]})")
        else:
            values[name] = value


def _value(data: bytes, order: str, entry: Entry) -> bytes | int | None:
    """Bytes for text-like types (ASCII, BYTE, UNDEFINED), the first integer otherwise."""
    _tag, kind, count, inline = entry
    size = _SIZES.get(kind)
    if size is None or count == 0:
        return None
    length = size * count
    if length <= 4:
        raw = inline[:length]
    else:
        (offset,) = struct.unpack(order + "L", inline)
        if offset + length > len(data):
            return None
        raw = data[offset : offset + length]
    if kind in (1, 2, 7) and (count > 1 or kind != 1):
        return raw
    code = _INTEGERS.get(kind)
    if code is None:
        return None
    return struct.unpack(order + code, raw[: struct.calcsize(order + code)])[0]
