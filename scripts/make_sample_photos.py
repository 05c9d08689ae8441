"""Build ``sample_photos/``: real photographs laid out as camera cards.

The photographs come from Debian wallpaper packages and carry no camera EXIF
of their own; this script resizes them, writes invented camera EXIF with
piexif, adds duplicates and card junk, and writes ``ATTRIBUTION.md``.

Get the sources (any Debian/Ubuntu machine)::

    apt-get update
    mkdir -p src && cd src
    apt-get download lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 colord-data
    for d in *.deb; do dpkg-deb -x "$d" "${d%%_*}"; done

Then, from the repository root::

    pip install piexif Pillow
    python scripts/make_sample_photos.py src

Files are looked up by name anywhere under the source folder.
"""

from __future__ import annotations

import argparse
import io
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import piexif
from PIL import Image, ImageCms

Rational = tuple[int, int]
ExifDict = dict[str, Any]

CANON_BLANK_DESCRIPTION = " " * 31  # piexif adds the NUL: 32 bytes, as Canon
EXPORT_SOFTWARE = "Adobe Photoshop Lightroom Classic 7.3 (Windows)"
LOMIRI_SOURCE = "https://gitlab.com/ubports/development/core/lomiri-wallpapers"
LOMIRI_VERSION = "20.04.0-2"
ICC_NAME = "AdobeRGB1998.icc"
SAME_SOURCE = "(same photograph, author and license as the original)"
ROTATED_CW = 6  # EXIF Orientation: display needs a 90° clockwise turn
LICENSE_URLS = {
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC-BY-SA-3.0": "https://creativecommons.org/licenses/by-sa/3.0/",
    "CC-BY-SA-4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
}


@dataclass(frozen=True)
class Source:
    """One photograph as shipped in a Debian package."""

    package: str
    filename: str
    copyright: str
    license: str


@dataclass(frozen=True)
class Exposure:
    """Invented exposure settings written to EXIF."""

    time: Rational
    fnumber: Rational
    iso: int
    focal: Rational


@dataclass(frozen=True)
class Shot:
    """One output photograph made from a source."""

    dest: str
    source: Source
    long_edge: int
    body: str
    taken: str
    subsec: str
    exposure: Exposure
    caption: str | None = None
    orientation: int = 1
    gps: bool = False
    icc: bool = False


@dataclass(frozen=True)
class Duplicate:
    """A copy of another output: byte-identical, or resized and re-encoded."""

    dest: str
    original: str
    long_edge: int | None = None
    quality: int = 75


def lomiri(version: str, filename: str, copyright: str, license: str) -> Source:
    """Describe a photo from a lomiri-wallpapers-<version> package."""
    return Source(f"lomiri-wallpapers-{version}", filename, copyright, license)


AITZGORRI = lomiri(
    "16.04",
    "aitzgorri_by_Aitzol_Berasategi.jpg",
    "Aitzol Berasategi, 2018",
    "CC-BY-4.0",
)
PICOS = lomiri(
    "16.04",
    "picosdeeuropa_by_Aitzol_Berasategi.jpg",
    "Aitzol Berasategi, 2018",
    "CC-BY-4.0",
)
FRIENDS = lomiri(
    "16.04", "friends_by_Aitzol_Berasategi.jpg", "Aitzol Berasategi, 2018", "CC-BY-4.0"
)
LIFE = lomiri("16.04", "life_by_Aitzol_Berasategi.jpg", "Aitzol Berasategi, 2018", "CC-BY-4.0")
SUNSET = lomiri("16.04", "sunset_by_Aitzol_Berasategi.jpg", "Aitzol Berasategi, 2018", "CC-BY-4.0")
KLEIBER = lomiri("20.04", "Kleiber_by_Lukas_Baubkus.jpg", "2021, Lukas Baubkus", "CC-BY-SA-3.0")
FIG = lomiri(
    "16.04",
    "Picture_0B_by_freespace.jpg",
    'Trevor "Freespace", 2018',
    "CC-BY-4.0",
)
WINE = lomiri("16.04", "Wine_by_Jakkub_Mede.jpg", "Jakub Mede, 2018", "CC-BY-4.0")
SEEDING = lomiri(
    "16.04",
    "seeding_by_Clements_Engelhardt.jpg",
    "Clemens Engelhardt, 2018",
    "CC0-1.0",
)
BRIDGE = lomiri(
    "16.04",
    "Bridge_by_Sander_Klootwijk.jpg",
    "2018. Sander Klootwijk",
    "CC-BY-SA-4.0",
)

CANON_DIR = "card-a/DCIM/100CANON"
NIKON_DIR = "card-b/DCIM/100NIKON"
DAY = "2018:06:14"

SHOTS: tuple[Shot, ...] = (
    Shot(
        f"{CANON_DIR}/IMG_5101.JPG",
        AITZGORRI,
        2400,
        "canon",
        f"{DAY} 09:02:11",
        "27",
        Exposure((1, 250), (8, 1), 100, (70, 1)),
        caption="Larches turning below the Aitzgorri ridge",
    ),
    Shot(
        f"{CANON_DIR}/IMG_5102.JPG",
        PICOS,
        1800,
        "canon",
        f"{DAY} 09:10:37",
        "64",
        Exposure((1, 400), (11, 1), 100, (24, 1)),
        gps=True,
    ),
    Shot(
        f"{CANON_DIR}/IMG_5103.JPG",
        FRIENDS,
        1800,
        "canon",
        f"{DAY} 09:18:05",
        "08",
        Exposure((1, 160), (4, 1), 400, (105, 1)),
        orientation=ROTATED_CW,
    ),
    Shot(
        f"{CANON_DIR}/IMG_5104.JPG",
        LIFE,
        1800,
        "canon",
        f"{DAY} 09:31:48",
        "51",
        Exposure((1, 30), (8, 1), 800, (32, 1)),
    ),
    Shot(
        f"{CANON_DIR}/IMG_5105.JPG",
        SUNSET,
        1800,
        "canon",
        f"{DAY} 09:47:20",
        "93",
        Exposure((1, 1000), (16, 1), 100, (24, 1)),
    ),
    Shot(
        f"{NIKON_DIR}/DSC_0042.JPG",
        KLEIBER,
        1800,
        "nikon",
        f"{DAY} 09:06:52",
        "40",
        Exposure((1, 500), (56, 10), 800, (200, 1)),
    ),
    Shot(
        f"{NIKON_DIR}/DSC_0043.JPG",
        FIG,
        1800,
        "nikon",
        f"{DAY} 09:24:13",
        "10",
        Exposure((1, 125), (4, 1), 200, (50, 1)),
    ),
    Shot(
        "phone/IMG_20180614_101500.jpg",
        WINE,
        2016,
        "iphone",
        f"{DAY} 10:15:00",
        "207",
        Exposure((1, 30), (9, 5), 250, (399, 100)),
    ),
    Shot(
        "phone/IMG_20180614_102241.jpg",
        SEEDING,
        2016,
        "iphone",
        f"{DAY} 10:22:41",
        "655",
        Exposure((1, 1250), (9, 5), 20, (399, 100)),
        icc=True,
    ),
    Shot(
        "phone/IMG_20180614_104009.jpg",
        BRIDGE,
        2016,
        "iphone",
        f"{DAY} 10:40:09",
        "031",
        Exposure((1, 2000), (9, 5), 20, (399, 100)),
    ),
)

DUPLICATES: tuple[Duplicate, ...] = (
    Duplicate(f"{NIKON_DIR}/DSC_0044.JPG", f"{CANON_DIR}/IMG_5104.JPG"),
    Duplicate(f"{NIKON_DIR}/DSC_0045.JPG", f"{CANON_DIR}/IMG_5101.JPG", 1600),
)

BODIES: dict[str, dict[str, str]] = {
    "canon": {
        "make": "Canon",
        "model": "Canon EOS 5D Mark III",
        "serial": "032021001234",
        "lens": "EF24-105mm f/4L IS USM",
    },
    "nikon": {
        "make": "NIKON CORPORATION",
        "model": "NIKON D750",
        "serial": "6023517",
        "lens": "70.0-200.0 mm f/2.8",
        "software": "Ver.1.10 ",
        "offset": "+02:00",
    },
    "iphone": {
        "make": "Apple",
        "model": "iPhone 8",
        "lens": "iPhone 8 back camera 3.99mm f/1.8",
        "software": "11.4",
        "offset": "+02:00",
    },
}

# Picos de Europa, near Vega de Urriellu; local 09:10 at +02:00 is 07:10 UTC.
GPS_IFD: dict[int, object] = {
    piexif.GPSIFD.GPSVersionID: (2, 3, 0, 0),
    piexif.GPSIFD.GPSLatitudeRef: "N",
    piexif.GPSIFD.GPSLatitude: ((43, 1), (11, 1), (4560, 100)),
    piexif.GPSIFD.GPSLongitudeRef: "W",
    piexif.GPSIFD.GPSLongitude: ((4, 1), (49, 1), (1230, 100)),
    piexif.GPSIFD.GPSAltitudeRef: 0,
    piexif.GPSIFD.GPSAltitude: (1850, 1),
    piexif.GPSIFD.GPSTimeStamp: ((7, 1), (10, 1), (37, 1)),
    piexif.GPSIFD.GPSDateStamp: DAY,
}


def find_source(src_root: Path, filename: str) -> Path:
    """Return the first file called ``filename`` under ``src_root``."""
    for path in sorted(src_root.rglob(filename)):
        if path.is_file():
            return path
    raise FileNotFoundError(f"{filename} not found under {src_root}")


def resized(image: Image.Image, long_edge: int) -> Image.Image:
    """Return ``image`` scaled so its longer side is ``long_edge`` pixels."""
    scale = long_edge / max(image.size)
    size = (round(image.width * scale), round(image.height * scale))
    return image.convert("RGB").resize(size, Image.Resampling.LANCZOS)


def stored_pixels(upright: Image.Image, orientation: int) -> Image.Image:
    """Turn upright pixels so that applying ``orientation`` shows them upright."""
    if orientation == ROTATED_CW:
        return upright.transpose(Image.Transpose.ROTATE_90)
    if orientation != 1:
        raise ValueError(f"unsupported orientation {orientation}")
    return upright


def zeroth_ifd(shot: Shot) -> dict[int, object]:
    """Build IFD0: camera, orientation, caption."""
    body = BODIES[shot.body]
    ifd: dict[int, object] = {
        piexif.ImageIFD.Make: body["make"],
        piexif.ImageIFD.Model: body["model"],
        piexif.ImageIFD.Orientation: shot.orientation,
        piexif.ImageIFD.XResolution: (72, 1),
        piexif.ImageIFD.YResolution: (72, 1),
        piexif.ImageIFD.ResolutionUnit: 2,
        piexif.ImageIFD.DateTime: shot.taken,
    }
    if shot.body == "canon":
        description = shot.caption or CANON_BLANK_DESCRIPTION
        ifd[piexif.ImageIFD.ImageDescription] = description
    if "software" in body:
        ifd[piexif.ImageIFD.Software] = body["software"]
    return ifd


def exif_ifd(shot: Shot, size: tuple[int, int]) -> dict[int, object]:
    """Build the Exif IFD: capture time, exposure, body and lens."""
    body, exposure = BODIES[shot.body], shot.exposure
    ifd: dict[int, object] = {
        piexif.ExifIFD.ExposureTime: exposure.time,
        piexif.ExifIFD.FNumber: exposure.fnumber,
        piexif.ExifIFD.ISOSpeedRatings: exposure.iso,
        piexif.ExifIFD.ExifVersion: b"0231",
        piexif.ExifIFD.DateTimeOriginal: shot.taken,
        piexif.ExifIFD.DateTimeDigitized: shot.taken,
        piexif.ExifIFD.SubSecTimeOriginal: shot.subsec,
        piexif.ExifIFD.SubSecTimeDigitized: shot.subsec,
        piexif.ExifIFD.FocalLength: exposure.focal,
        piexif.ExifIFD.ColorSpace: 0xFFFF if shot.icc else 1,
        piexif.ExifIFD.PixelXDimension: size[0],
        piexif.ExifIFD.PixelYDimension: size[1],
        piexif.ExifIFD.LensModel: body["lens"],
    }
    if "serial" in body:
        ifd[piexif.ExifIFD.BodySerialNumber] = body["serial"]
    if "offset" in body:
        ifd[piexif.ExifIFD.OffsetTimeOriginal] = body["offset"]
    return ifd


def thumbnail_jpeg(image: Image.Image) -> bytes:
    """Return a small JPEG thumbnail of the stored pixels, as cameras embed."""
    thumb = image.copy()
    thumb.thumbnail((160, 160))
    buffer = io.BytesIO()
    thumb.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def exif_bytes(shot: Shot, image: Image.Image) -> bytes:
    """Serialize the EXIF block for ``shot`` whose stored pixels are ``image``."""
    exif: ExifDict = {
        "0th": zeroth_ifd(shot),
        "Exif": exif_ifd(shot, image.size),
        "GPS": dict(GPS_IFD) if shot.gps else {},
    }
    if shot.body != "iphone":
        exif["1st"] = {piexif.ImageIFD.Compression: 6}
        exif["thumbnail"] = thumbnail_jpeg(image)
    return bytes(piexif.dump(exif))


def to_icc_profile(image: Image.Image, icc_path: Path) -> Image.Image:
    """Convert sRGB pixels into the colour space of ``icc_path``."""
    srgb = ImageCms.createProfile("sRGB")
    target = ImageCms.ImageCmsProfile(str(icc_path))
    converted: Image.Image | None = ImageCms.profileToProfile(image, srgb, target, outputMode="RGB")
    if converted is None:
        raise RuntimeError(f"colour conversion to {icc_path} failed")
    return converted


def make_shot(shot: Shot, src_root: Path, out: Path) -> None:
    """Write one photograph with its EXIF (and ICC profile if asked)."""
    with Image.open(find_source(src_root, shot.source.filename)) as original:
        upright = resized(original, shot.long_edge)
    icc: bytes | None = None
    if shot.icc:
        icc_path = find_source(src_root, ICC_NAME)
        upright = to_icc_profile(upright, icc_path)
        icc = icc_path.read_bytes()
    image = stored_pixels(upright, shot.orientation)
    dest = out / shot.dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    exif = exif_bytes(shot, image)
    image.save(dest, "JPEG", quality=85, exif=exif, icc_profile=icc)


def export_exif(original: Path, size: tuple[int, int]) -> bytes:
    """Return the original's EXIF as an exporter would rewrite it."""
    exif: ExifDict = piexif.load(str(original))
    exif["0th"][piexif.ImageIFD.Software] = EXPORT_SOFTWARE
    exif["Exif"][piexif.ExifIFD.PixelXDimension] = size[0]
    exif["Exif"][piexif.ExifIFD.PixelYDimension] = size[1]
    exif["1st"], exif["thumbnail"] = {}, None
    return bytes(piexif.dump(exif))


def make_duplicate(dup: Duplicate, out: Path) -> None:
    """Copy an output byte for byte, or export a smaller re-encoded copy."""
    original, dest = out / dup.original, out / dup.dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dup.long_edge is None:
        shutil.copyfile(original, dest)
        return
    with Image.open(original) as image:
        smaller = resized(image, dup.long_edge)
    exif = export_exif(original, smaller.size)
    smaller.save(dest, "JPEG", quality=dup.quality, exif=exif)


def apple_double() -> bytes:
    """Return a minimal AppleDouble (``._name``) file with Finder info."""
    header = struct.pack(">II16sH", 0x00051607, 0x00020000, b"Mac OS X".ljust(16), 1)
    entry = struct.pack(">III", 9, len(header) + 12, 32)
    return header + entry + b"JPEG8BIM" + bytes(24)


def ds_store() -> bytes:
    """Return the start of a macOS ``.DS_Store`` (header, zero padding)."""
    header = struct.pack(">I4sIII", 1, b"Bud1", 0x1000, 0x800, 0x1000)
    return header + bytes(512 - len(header))


def canon_catalog() -> bytes:
    """Return a few bytes standing in for Canon's ``CANONMSC`` catalog."""
    return b"CTG\x00" + struct.pack("<HH", 100, 5) + bytes(8)


def make_junk(out: Path) -> None:
    """Write the non-photo files a real card carries."""
    junk = {
        f"{CANON_DIR}/._IMG_5101.JPG": apple_double(),
        f"{CANON_DIR}/.DS_Store": ds_store(),
        "card-a/DCIM/CANONMSC/M0100.CTG": canon_catalog(),
    }
    for name, data in junk.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def shot_changes(shot: Shot) -> str:
    """Describe what was done to a source to make ``shot``."""
    changes = [
        f"resized to {shot.long_edge} px on the long edge",
        "re-encoded as JPEG quality 85",
        f"invented {BODIES[shot.body]['model']} EXIF written by the script",
    ]
    if shot.orientation == ROTATED_CW:
        changes.append("pixels turned 90° counter-clockwise, EXIF Orientation=6")
    if shot.gps:
        changes.append("invented GPS tags added")
    if shot.icc:
        changes.append(f"converted to Adobe RGB, {ICC_NAME} embedded")
    if shot.caption:
        changes.append(f'caption "{shot.caption}" added')
    return "; ".join(changes)


def source_line(source: Source) -> str:
    """Describe where a source photo came from and under which license."""
    url = LICENSE_URLS[source.license]
    return (
        f"`usr/share/backgrounds/{source.filename}` from Debian package "
        f"`{source.package}` {LOMIRI_VERSION} (upstream {LOMIRI_SOURCE}), © {source.copyright}, "
        f"license {source.license} ({url})"
    )


def duplicate_line(dup: Duplicate) -> str:
    """Describe a duplicate in ATTRIBUTION.md."""
    if dup.long_edge is None:
        return f"- `{dup.dest}`: byte-identical copy of `{dup.original}` {SAME_SOURCE}."
    return (
        f"- `{dup.dest}`: near-duplicate of `{dup.original}`: resized to "
        f"{dup.long_edge} px, re-encoded at JPEG quality {dup.quality}, same "
        f'EXIF with Software "{EXPORT_SOFTWARE}" and no thumbnail {SAME_SOURCE}.'
    )


ATTRIBUTION_HEAD = """# Sample photos: attribution

Real photographs from Debian wallpaper packages, laid out as camera cards by
`scripts/make_sample_photos.py`. The source files carry no camera EXIF: every
EXIF tag here (camera make and model, serial numbers, capture times, exposure,
GPS, captions) was invented and written by that script with piexif. Each photo
remains under its author's license below (a CC-BY-SA photo stays CC-BY-SA);
changes are listed per file. The license texts are in each package's
`/usr/share/doc/<package>/copyright`.

## Photographs
"""

ATTRIBUTION_TAIL = f"""
## Colour profile

`{ICC_NAME}` ("Compatible with Adobe RGB (1998)") from Debian package
`colord-data` (`usr/share/color/icc/colord/`), © 2012 Richard Hughes,
license CC0-1.0 (files `data/profiles/*` in its copyright file).

## Card junk

`._IMG_5101.JPG` (AppleDouble), `.DS_Store` and `CANONMSC/M0100.CTG` are a
few bytes made up by the script to look like what macOS and Canon bodies leave
on a card; they contain no third-party material.
"""


def attribution() -> str:
    """Return the text of ATTRIBUTION.md."""
    lines = [ATTRIBUTION_HEAD]
    for shot in SHOTS:
        lines.append(f"- `{shot.dest}`: {source_line(shot.source)}.")
        lines.append(f"  Changes: {shot_changes(shot)}.")
    lines.append("\n## Duplicates (for dedup tests)\n")
    lines.extend(duplicate_line(dup) for dup in DUPLICATES)
    return "\n".join(lines) + "\n" + ATTRIBUTION_TAIL


def build(src_root: Path, out: Path) -> None:
    """Build every file of the sample set under ``out``."""
    for shot in SHOTS:
        make_shot(shot, src_root, out)
    for dup in DUPLICATES:
        make_duplicate(dup, out)
    make_junk(out)
    (out / "ATTRIBUTION.md").write_text(attribution(), encoding="utf-8")


def main() -> None:
    """Parse arguments and build the sample set."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", type=Path, help="folder of unpacked packages")
    parser.add_argument("--out", type=Path, default=Path("sample_photos"))
    args = parser.parse_args()
    build(args.sources, args.out)


if __name__ == "__main__":
    main()
