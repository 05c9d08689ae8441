"""Where a JPEG keeps its metadata: the blocks, found by walking the markers (no pixels read).

APP1 "Exif" (EXIF), APP1 "http://ns.adobe.com/xap/1.0/" (the XMP packet), APP1
"http://ns.adobe.com/xmp/extension/" (Extended XMP: the part of a packet over 64 KB, in chunks
named by the MD5 GUID the main packet gives in xmpNote:HasExtendedXMP, each with the full length
and its offset), APP13 "Photoshop 3.0" (image resources: 0x0404 is the IPTC IIM block, 0x0425
its MD5 digest as last written with XMP), and the trailers some tools append after the end of
the image: FotoStation's (whose record 1 is IPTC) and AXS's AFCP (whose "IPTC" entry is).
An MPO's first image is the photo; its segments come first.
"""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass, field

XMP_ID = b"http://ns.adobe.com/xap/1.0/\x00"
EXTENDED_XMP_ID = b"http://ns.adobe.com/xmp/extension/\x00"
PHOTOSHOP_IDS = (b"Photoshop 3.0\x00", b"Adobe_Photoshop2.5:")
FOTOSTATION_SIGNATURE = 0xA1B2C3D4
IPTC_RESOURCE, IPTC_DIGEST_RESOURCE = 0x0404, 0x0425


@dataclass(frozen=True)
class Blocks:
    """The raw metadata blocks of one image file."""

    exif: bytes | None = None
    xmp: bytes | None = None
    extended: dict[str, bytes] = field(default_factory=dict)  # GUID → joined Extended XMP
    iptc: bytes | None = None
    iptc_digest: bytes | None = None  # Photoshop's IPTCDigest (MD5 of iptc when in sync)
    notes: tuple[str, ...] = ()


def jpeg_blocks(data: bytes) -> Blocks:
    """The metadata blocks of JPEG (or MPO) bytes; a damaged segment list ends the walk."""
    exif, xmp, chunks, lengths, irb = _collect(data)
    resources = image_resources(irb)
    extended, notes = _join_extended(chunks, lengths)
    iptc = resources.get(IPTC_RESOURCE)
    if iptc is None:
        iptc = fotostation_iptc(data) or afcp_iptc(data)
    return Blocks(exif, xmp, extended, iptc, resources.get(IPTC_DIGEST_RESOURCE), notes)


def _collect(data: bytes) -> tuple[bytes | None, bytes | None, dict, dict, bytes]:
    """The first EXIF and XMP payloads, the Extended XMP chunks and lengths by GUID, and the
    Photoshop image resource bytes of all APP13 segments joined."""
    exif = xmp = None
    chunks: dict[str, dict[int, bytes]] = {}
    lengths: dict[str, int] = {}
    irb = b""
    for marker, payload in _segments(data):
        kind = _kind(marker, payload)
        if kind == "exif" and exif is None:
            exif = payload
        elif kind == "xmp" and xmp is None:
            xmp = payload[len(XMP_ID) :]
        elif kind == "extended":
            _add_chunk(payload[len(EXTENDED_XMP_ID) :], chunks, lengths)
        elif kind == "irb":
            irb += next((payload[len(i) :] for i in PHOTOSHOP_IDS if payload.startswith(i)), b"")
    return exif, xmp, chunks, lengths, irb


def _kind(marker: int, payload: bytes) -> str | None:
    """Which metadata block a segment holds: "exif", "xmp", "extended", "irb" or None."""
    if marker == 0xED:
        return "irb"
    if marker != 0xE1:
        return None
    for kind, ident in (("exif", b"Exif\x00"), ("xmp", XMP_ID), ("extended", EXTENDED_XMP_ID)):
        if payload.startswith(ident):
            return kind
    return None


def _segments(data: bytes):
    """(marker, payload) for each marker segment before the image data (SOS)."""
    if not data.startswith(b"\xff\xd8"):
        return
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:  # stray bytes between segments: skip to the next marker, as
            at = data.find(b"\xff", at)  # exiftool does (it warns and reads on)
            if at < 0:
                return
            continue
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan
            return
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if length < 2:
            return
        yield marker, data[at + 4 : at + 2 + length]
        at += 2 + length


def _add_chunk(body: bytes, chunks: dict, lengths: dict) -> None:
    if len(body) < 40:
        return
    guid = body[:32].decode("ascii", errors="replace")
    full, offset = struct.unpack(">LL", body[32:40])
    lengths.setdefault(guid, full)
    chunks.setdefault(guid, {})[offset] = body[40:]


def _join_extended(chunks: dict, lengths: dict) -> tuple[dict[str, bytes], tuple[str, ...]]:
    """Each GUID's chunks in offset order; one with a gap or the wrong length is left out."""
    joined, notes = {}, []
    for guid, parts in chunks.items():
        data = b"".join(parts[offset] for offset in sorted(parts))
        expected = sorted(parts)
        contiguous = all(a + len(parts[a]) == b for a, b in itertools.pairwise(expected))
        if expected[0] == 0 and contiguous and len(data) == lengths[guid]:
            joined[guid] = data
        else:
            notes.append(
                f"Extended XMP {guid} is incomplete ({len(data)} of {lengths[guid]} bytes)"
            )
    return joined, tuple(notes)


def image_resources(irb: bytes) -> dict[int, bytes]:
    """Photoshop image resource blocks: '8BIM', id, padded Pascal name, size, padded data."""
    found: dict[int, bytes] = {}
    at = 0
    while at + 12 <= len(irb) and irb[at : at + 4] in (b"8BIM", b"PHUT", b"DCSR", b"AgHg"):
        (resource,) = struct.unpack(">H", irb[at + 4 : at + 6])
        name_length = irb[at + 6]
        at += 6 + name_length + 1 + ((name_length + 1) % 2)
        if at + 4 > len(irb):
            break
        (size,) = struct.unpack(">L", irb[at : at + 4])
        at += 4
        found.setdefault(resource, irb[at : at + size])
        at += size + size % 2
    return found


def fotostation_iptc(data: bytes) -> bytes | None:
    """FotoStation's trailer records, read back from the end: (data, tag, size, signature)."""
    end = len(data)
    while end >= 10:
        tag, size, signature = struct.unpack(">HLL", data[end - 10 : end])
        if signature != FOTOSTATION_SIGNATURE or size < 10 or size > end:
            return None
        start = end - size
        if tag == 1:
            return data[start : end - 10]
        end = start
    return None


def afcp_iptc(data: bytes) -> bytes | None:
    """The IPTC entry of an AFCP trailer: 'AXS!' (big-endian) or 'AXS*' and the trailer's start
    in the last 12 bytes; there, the same signature, an entry count, and 12-byte entries (name,
    size, offset from the start of the file)."""
    found = _afcp_header(data)
    if found is None:
        return None
    order, start, count = found
    for at in range(start + 12, start + 12 + 12 * count, 12):
        entry = data[at : at + 12]
        if len(entry) < 12:
            return None
        size, offset = struct.unpack(order + "LL", entry[4:12])
        if entry[:4] == b"IPTC" and offset + size <= len(data):
            return data[offset : offset + size]
    return None


def _afcp_header(data: bytes) -> tuple[str, int, int] | None:
    """An AFCP trailer's byte order, start and entry count; None when there is none."""
    tail = data[-12:]
    if len(tail) < 12 or tail[:3] != b"AXS" or tail[3:4] not in (b"!", b"*"):
        return None
    order = ">" if tail[3:4] == b"!" else "<"
    (start,) = struct.unpack(order + "L", tail[4:8])
    header = data[start : start + 12]
    if len(header) < 12 or header[:4] != tail[:4]:
        return None
    (count,) = struct.unpack(order + "H", header[6:8])
    return order, start, count
