"""exiftool as the oracle: real camera files (ExifTool's own test images) and editor-style files
(written by exiftool), read by both; camera, capture time and title must agree.

exiftool gives each raw tag with its group (-G1); the expected values follow from those by the
rules README.md documents (MWG precedence, the boilerplate filter), written out here apart from
gallerypipe's own code. `python tests/test_exiftool_oracle.py` prints the per-field agreement.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path

import pytest

from gallerypipe.analyse import read_sidecars
from gallerypipe.boilerplate import caption
from gallerypipe.imaging import BadImage, open_image
from gallerypipe.metadata import read_file_metadata
from gallerypipe.scan import scan

CORPUS = Path(__file__).resolve().parent / "data" / "exiftool"
FIELDS = ("make", "model", "capture_time", "title")
TAGS = [
    "IFD0:Make",
    "IFD0:Model",
    "IFD0:ImageDescription",
    "ExifIFD:DateTimeOriginal",
    "ExifIFD:SubSecTimeOriginal",
    "ExifIFD:OffsetTimeOriginal",
    "ExifIFD:CreateDate",
    "ExifIFD:SubSecTimeDigitized",
    "ExifIFD:OffsetTimeDigitized",
    "XMP-dc:Title",
    "XMP-dc:Description",
    "XMP-exif:DateTimeOriginal",
    "XMP-photoshop:DateCreated",
    "XMP-xmp:CreateDate",
    "IPTC:ObjectName",
    "IPTC:Caption-Abstract",
    "IPTC:DateCreated",
    "IPTC:TimeCreated",
    "Photoshop:IPTCDigest",
    "File:CurrentIPTCDigest",
]
pytestmark = pytest.mark.skipif(shutil.which("exiftool") is None, reason="needs exiftool")


@cache
def sources(root: Path = CORPUS) -> dict[str, object]:
    found = scan([root]).photos
    return {s.path.relative_to(root).as_posix(): s for s in found}


@cache
def exiftool_reading(root: Path = CORPUS) -> dict[str, dict]:
    """Every file and sidecar under root in one exiftool run, by path under root."""
    args = ["exiftool", "-j", "-G1", "-a", "-r", *(f"-{t}" for t in TAGS), str(root)]
    out = subprocess.run(args, capture_output=True, check=False, text=True).stdout
    return {Path(r["SourceFile"]).relative_to(root).as_posix(): r for r in json.loads(out)}


def tag(record: dict, name: str) -> str | None:
    """One tag of exiftool's reading; IPTC in any IPTC group (FotoStation's is IPTC2)."""
    group, _, field = name.partition(":")
    for key, value in record.items():
        k_group, _, k_field = key.partition(":")
        if k_field == field and (k_group == group or (group == "IPTC" and k_group[:4] == "IPTC")):
            text = str(value).strip()
            return text or None
    return None


def expected(name: str, root: Path = CORPUS) -> dict[str, object]:
    """What the rules make of exiftool's reading of the file and its sidecars."""
    reading = exiftool_reading(root)
    record = reading[name]
    folder = Path(name).parent
    side = [reading[(folder / s).as_posix()] for s in sources(root)[name].sidecars]
    make, model = tag(record, "IFD0:Make"), tag(record, "IFD0:Model")

    def clean(text):
        return caption(text, make, model)

    has_iptc = any(k.startswith("IPTC") for k in record)
    digest = tag(record, "Photoshop:IPTCDigest")
    xmp_wins = digest is None or digest == tag(record, "File:CurrentIPTCDigest")

    def mwg(xmp, iptc):  # exiftool's MWG.pm: XMP unless the IPTC changed since
        return xmp if not has_iptc or (xmp is not None and xmp_wins) else iptc

    def xmp_tag(name):  # a sidecar (strongest first) over the embedded packet
        return next((tag(r, name) for r in [*side, record] if tag(r, name)), None)

    description = (
        next(
            (clean(tag(r, "XMP-dc:Description")) for r in side if tag(r, "XMP-dc:Description")),
            None,
        )
        or clean(tag(record, "IFD0:ImageDescription"))
        or mwg(clean(xmp_tag("XMP-dc:Description")), clean(tag(record, "IPTC:Caption-Abstract")))
    )
    title = mwg(clean(xmp_tag("XMP-dc:Title")), clean(tag(record, "IPTC:ObjectName")))
    return {
        "make": make,
        "model": model,
        "capture_time": iso(capture_time(record, xmp_tag, has_iptc, xmp_wins)),
        "title": title or description,
    }


def capture_time(record, xmp_tag, has_iptc, xmp_wins) -> datetime | None:
    original = exif_time(record, "DateTimeOriginal", "Original")
    if original:
        return original
    xmp_raw = next(
        (
            xmp_tag(n)
            for n in (
                "XMP-exif:DateTimeOriginal",
                "XMP-photoshop:DateCreated",
                "XMP-xmp:CreateDate",
            )
            if xmp_tag(n)
        ),
        None,
    )
    xmp = to_datetime(xmp_raw) if xmp_raw else None
    day, time = tag(record, "IPTC:DateCreated"), tag(record, "IPTC:TimeCreated")
    iptc = to_datetime(f"{day} {time}" if time else day) if day else None
    if xmp and len(xmp_raw) <= 10 and iptc and iptc.date() == xmp.date():
        return iptc
    if xmp and (not has_iptc or xmp_wins or not iptc):
        return xmp
    return iptc or exif_time(record, "CreateDate", "Digitized")


def exif_time(record, name, suffix) -> datetime | None:
    raw = tag(record, f"ExifIFD:{name}")
    if not raw or not raw.strip(" :0"):
        return None
    subsec = tag(record, f"ExifIFD:SubSecTime{suffix}")
    offset = tag(record, f"ExifIFD:OffsetTime{suffix}")
    taken = to_datetime(raw)
    if subsec and subsec.isdigit() and not taken.microsecond:
        taken = taken.replace(microsecond=int(subsec[:6].ljust(6, "0")))
    zone = zone_of(offset)
    return taken.replace(tzinfo=zone) if zone and taken.tzinfo is None else taken


def to_datetime(text: str) -> datetime:
    """exiftool prints every date as 'YYYY:MM:DD[ HH:MM[:SS[.fff]]][±HH:MM|Z]'."""
    m = re.match(
        r"(\d{4}):(\d\d)(?::(\d\d))?(?: (\d\d):(\d\d)(?::(\d\d))?(?:\.(\d+))?)?(Z|[+-]\d\d:\d\d)?",
        text,
    )
    y, mo, d, h, mi, s, frac, zone = m.groups()
    taken = datetime(int(y), int(mo), int(d or 1), int(h or 0), int(mi or 0), int(s or 0))
    if frac:
        taken = taken.replace(microsecond=int(frac[:6].ljust(6, "0")))
    tz = UTC if zone == "Z" else zone_of(zone)
    return taken.replace(tzinfo=tz) if tz else taken


def zone_of(offset: str | None) -> timezone | None:
    m = re.fullmatch(r"([+-])(\d\d):(\d\d)", offset or "")
    if not m or int(m[2]) > 14 or int(m[3]) > 59:
        return None  # unreadable: the time is kept, the offset dropped
    delta = timedelta(hours=int(m[2]), minutes=int(m[3]))
    return timezone(-delta if m[1] == "-" else delta)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def gallerypipe_reading(name: str, root: Path = CORPUS) -> dict[str, object]:
    source = sources(root)[name]
    data = source.path.read_bytes()
    side, _ = read_sidecars(source)
    if source.kind == "jpeg":
        meta = read_file_metadata(data, None, side)
    else:
        with open_image(data) as img:
            meta = read_file_metadata(data, img, side)
    return {
        "make": meta.make,
        "model": meta.model,
        "capture_time": iso(meta.capture_time),
        "title": meta.title,
    }


def corpus(root: Path = CORPUS) -> list[str]:
    return sorted(sources(root))


def test_the_corpus_has_real_camera_files_and_editor_files():
    names = corpus()
    assert sum(n.startswith("camera/") for n in names) >= 40
    assert {"editor/xmp_utf16.jpg", "editor/xmp_extended.jpg", "editor/phone.heic"} <= set(names)


@pytest.mark.parametrize("name", corpus())
def test_gallerypipe_reads_what_exiftool_reads(name):
    assert gallerypipe_reading(name) == expected(name)


def test_the_rules_change_what_a_naive_reading_would_give():
    """The expectations are not exiftool's raw values echoed: boilerplate and MWG apply."""
    olympus = expected("camera/Olympus.jpg")
    assert tag(exiftool_reading()["camera/Olympus.jpg"], "IFD0:ImageDescription") == (
        "OLYMPUS DIGITAL CAMERA"
    )
    assert olympus["title"] is None
    assert expected("camera/JVC2.jpg")["title"] is None  # "GC-X1E Image"
    assert expected("camera/GoPro.jpg")["title"] is None  # a DCIM path
    assert expected("camera/MWG.jpg")["title"] == "RIGHT-EXIF-Description"
    assert expected("editor/iptc_digest_mismatch.jpg")["title"] == (
        "Caption edited by an IPTC-only tool"
    )
    assert expected("camera/PhotoMechanic.jpg")["capture_time"] == "2006-10-29T06:27:51-05:00"
    assert expected("editor/IMG_0001.JPG")["title"] == "Hayedo de Otzarreta"


def agreement(root: Path = CORPUS) -> dict[str, tuple[int, int]]:
    """field → (files that agree, files); each disagreement is printed."""
    counts = {f: [0, 0] for f in FIELDS}
    for name in corpus(root):
        if name not in exiftool_reading(root):
            print(f"{name}: exiftool cannot read it")
            continue
        try:
            ours = gallerypipe_reading(name, root)
        except BadImage as err:
            print(f"{name}: gallerypipe cannot open it: {err}")
            continue
        theirs = expected(name, root)
        for field in FIELDS:
            counts[field][0] += ours[field] == theirs[field]
            counts[field][1] += 1
            if ours[field] != theirs[field]:
                print(f"{name}: {field}: gallerypipe {ours[field]!r}, expected {theirs[field]!r}")
    return {f: (a, n) for f, (a, n) in counts.items()}


if __name__ == "__main__":
    # python tests/test_exiftool_oracle.py [FOLDER]: the corpus, or any folder of photos
    folder = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else CORPUS
    for field, (agree, total) in agreement(folder).items():
        print(f"{field:13} {agree}/{total} agree ({100 * agree / max(total, 1):.1f} %)")


def test_damaged_copies_of_every_file_never_raise():
    """Truncated and bit-flipped copies of the corpus: whatever can be read is, nothing raises."""
    rng = random.Random(14)
    for name in corpus():
        source = sources()[name]
        if source.kind != "jpeg":
            continue
        data = source.path.read_bytes()
        for _ in range(12):
            damaged = bytearray(data[: rng.randrange(2, len(data) + 1)])
            for _ in range(rng.randrange(0, 8)):
                damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            meta = read_file_metadata(bytes(damaged))
            assert all(isinstance(p, str) and "\n" not in p for p in meta.problems)
            # every damage is foreseen: none reaches read_file_metadata's safety net
            assert not any(p.startswith("unreadable metadata:") for p in meta.problems)
