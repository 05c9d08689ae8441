"""Test images made from the real photographs in ``sample_photos/``.

Every image a test feeds to gallerypipe starts as one of these photographs (cropped, resized,
blurred, darkened, rotated or re-encoded here with Pillow, with EXIF written by piexif); only the
deliberately broken files (a bomb header, a truncated stream, an empty or text file named .jpg)
are damaged on purpose.
"""

from __future__ import annotations

import io
import shutil
import struct
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

import piexif
from PIL import Image, ImageCms, ImageOps

from gallerypipe.analyse import Analysed, analyse_file
from gallerypipe.model import Photo
from gallerypipe.pipeline import to_photos
from gallerypipe.scan import scan

SAMPLES = Path(__file__).resolve().parent.parent / "sample_photos"

# Short names for the sample photographs (see sample_photos/ATTRIBUTION.md).
PHOTOS = {
    "aitzgorri": "card-a/DCIM/100CANON/IMG_5101.JPG",  # 2400×1598 landscape, mountains
    "picos": "card-a/DCIM/100CANON/IMG_5102.JPG",  # 1800×1350 landscape, peaks and path
    "friends": "card-a/DCIM/100CANON/IMG_5103.JPG",  # portrait (stored rotated, Orientation 6)
    "life": "card-a/DCIM/100CANON/IMG_5104.JPG",  # 1800×1198 stream in a forest
    "sunset": "card-a/DCIM/100CANON/IMG_5105.JPG",  # 1800×1200 sunset
    "kleiber": "card-b/DCIM/100NIKON/DSC_0042.JPG",  # 1800×1013 bird on a trunk
    "fig": "card-b/DCIM/100NIKON/DSC_0043.JPG",  # 1800×1218 fig in a red bowl
    "wine": "phone/IMG_20180614_101500.jpg",  # 1345×2016 portrait interior
    "seeding": "phone/IMG_20180614_102241.jpg",  # 2016×1134, Adobe RGB with embedded profile
    "bridge": "phone/IMG_20180614_104009.jpg",  # 2016×1134 sky and cables
}
ADOBE_RGB_SAMPLE = "seeding"

_SRGB = ImageCms.createProfile("sRGB")


def sample_path(name: str) -> Path:
    """The file of a sample photograph, by short name or by file name."""
    if name in PHOTOS:
        return SAMPLES / PHOTOS[name]
    for relative in PHOTOS.values():
        if Path(relative).name.lower() == name.lower():
            return SAMPLES / relative
    raise KeyError(f"no sample photo {name!r}; choose from {sorted(PHOTOS)}")


@cache
def _load(name: str) -> Image.Image:
    path = sample_path(name)
    with Image.open(path) as img:
        img.load()
        icc = img.info.get("icc_profile")
        upright = ImageOps.exif_transpose(img).convert("RGB")
    if icc:  # hand out sRGB pixels whatever the file is tagged with
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        upright = ImageCms.profileToProfile(upright, source, _SRGB, outputMode="RGB")
    return upright


def real_photo(name: str, size: int | tuple[int, int] | None = None) -> Image.Image:
    """A sample photograph as upright sRGB pixels (EXIF orientation and ICC profile applied).

    size: the long edge in pixels (aspect ratio kept), or (width, height) to crop-and-fill.
    """
    img = _load(name).copy()
    if size is None:
        return img
    if isinstance(size, tuple):
        return ImageOps.fit(img, size, Image.Resampling.LANCZOS)
    scale = size / max(img.size)
    new = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(new, Image.Resampling.LANCZOS)


def embedded_icc(name: str = ADOBE_RGB_SAMPLE) -> bytes:
    """The ICC profile embedded in a sample photo (Adobe RGB (1998) for the default)."""
    with Image.open(sample_path(name)) as img:
        icc = img.info.get("icc_profile")
    if not icc:
        raise ValueError(f"{name} carries no ICC profile")
    return icc


def _rational(value: float, denominator: int = 100) -> tuple[int, int]:
    return round(value * denominator), denominator


def _dms(degrees: float) -> tuple[tuple[int, int], ...]:
    degrees = abs(degrees)
    d = int(degrees)
    m = int((degrees - d) * 60)
    s = (degrees - d - m / 60) * 3600
    return (d, 1), (m, 1), _rational(s)


def exif_block(
    *,
    make: str | None = None,
    model: str | None = None,
    serial: str | None = None,
    taken: datetime | str | None = None,
    subsec: str | None = None,
    offset: str | None = None,
    orientation: int | None = None,
    description: str | None = None,
    gps: bool = False,
) -> bytes | None:
    """An EXIF APP1 payload (b"Exif\\0\\0…") with the given tags, or None when none are given."""
    zeroth: dict[int, object] = {}
    exif: dict[int, object] = {}
    gps_ifd: dict[int, object] = {}
    if make is not None:
        zeroth[piexif.ImageIFD.Make] = make
    if model is not None:
        zeroth[piexif.ImageIFD.Model] = model
    if orientation is not None:
        zeroth[piexif.ImageIFD.Orientation] = orientation
    if description is not None:  # UTF-8, as exiftool and Lightroom write it
        zeroth[piexif.ImageIFD.ImageDescription] = description.encode()
    if serial is not None:
        exif[piexif.ExifIFD.BodySerialNumber] = serial
    if taken is not None:
        if isinstance(taken, datetime):
            if offset is None and taken.utcoffset() is not None:
                minutes = int(taken.utcoffset().total_seconds()) // 60
                sign = "-" if minutes < 0 else "+"
                offset = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
            taken = taken.strftime("%Y:%m:%d %H:%M:%S")
        zeroth[piexif.ImageIFD.DateTime] = taken
        exif[piexif.ExifIFD.DateTimeOriginal] = taken
        exif[piexif.ExifIFD.DateTimeDigitized] = taken
    if subsec is not None:
        exif[piexif.ExifIFD.SubSecTimeOriginal] = subsec
        exif[piexif.ExifIFD.SubSecTimeDigitized] = subsec
    if offset is not None:
        exif[piexif.ExifIFD.OffsetTimeOriginal] = offset
        exif[piexif.ExifIFD.OffsetTimeDigitized] = offset
    if gps:  # somewhere in the Picos de Europa
        gps_ifd = {
            piexif.GPSIFD.GPSVersionID: (2, 3, 0, 0),
            piexif.GPSIFD.GPSLatitudeRef: "N",
            piexif.GPSIFD.GPSLatitude: _dms(43.196),
            piexif.GPSIFD.GPSLongitudeRef: "W",
            piexif.GPSIFD.GPSLongitude: _dms(4.820),
            piexif.GPSIFD.GPSAltitudeRef: 0,
            piexif.GPSIFD.GPSAltitude: (1850, 1),
        }
    if not (zeroth or exif or gps_ifd):
        return None
    return piexif.dump({"0th": zeroth, "Exif": exif, "GPS": gps_ifd, "1st": {}})


def encode_jpeg(
    img: Image.Image,
    *,
    quality: int = 85,
    icc: bytes | None = None,
    exif: bytes | None = None,
    progressive: bool = False,
) -> bytes:
    """JPEG bytes of an image; exif is an APP1 payload inserted verbatim (it may be malformed)."""
    out = io.BytesIO()
    extra = {"icc_profile": icc} if icc else {}
    img.convert("RGB").save(out, "JPEG", quality=quality, progressive=progressive, **extra)
    data = out.getvalue()
    if exif is not None:
        data = insert_app1(data, exif)
    return data


def insert_app1(jpeg: bytes, payload: bytes) -> bytes:
    """The JPEG with an APP1 segment carrying payload right after SOI (before JFIF, as cameras)."""
    assert jpeg[:2] == b"\xff\xd8", "not a JPEG"
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def write_jpeg(
    path: Path,
    img: Image.Image,
    *,
    quality: int = 85,
    icc: bytes | None = None,
    exif: bytes | None = None,
    **tags,
) -> Path:
    """Write img as a JPEG with the given EXIF tags (exif_block's keywords; no EXIF at all
    when none are given).

    exif: a raw APP1 payload to use instead of the tags (e.g. a malformed one).
    """
    if exif is None:
        exif = exif_block(**tags)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode_jpeg(img, quality=quality, icc=icc, exif=exif))
    return path


CANON = {"make": "Canon", "model": "Canon EOS 5D Mark III", "serial": "032021001234"}
NIKON = {"make": "NIKON CORPORATION", "model": "NIKON D750", "serial": "6004321"}


def sof_offset(jpeg: bytes) -> int:
    """Where the first SOFn frame header starts (its FF Cn marker), walking the segments."""
    i = 2
    while i + 4 <= len(jpeg):
        if jpeg[i] != 0xFF:
            raise ValueError(f"lost JPEG segment sync at byte {i}")
        marker = jpeg[i + 1]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return i
        (length,) = struct.unpack(">H", jpeg[i + 2 : i + 4])
        i += 2 + length
    raise ValueError("no SOF segment")


def claim_size(jpeg: bytes, width: int, height: int) -> bytes:
    """The same JPEG whose frame header claims width×height pixels (the scan data is unchanged)."""
    i = sof_offset(jpeg)
    data = bytearray(jpeg)
    data[i + 5 : i + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def write_bomb(path: Path, width: int = 50_000, height: int = 50_000) -> Path:
    """A real photo's JPEG whose SOF0 header claims width×height (2.5 gigapixels by default)."""
    jpeg = encode_jpeg(real_photo("picos", 600), exif=exif_block(**CANON))
    assert jpeg[sof_offset(jpeg) + 1] == 0xC0, "expected a baseline (SOF0) JPEG"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(claim_size(jpeg, width, height))
    return path


def write_truncated_jpeg(path: Path, keep: float = 0.5) -> Path:
    """A real photo's JPEG cut off part way through its scan data (a card pulled mid-write)."""
    jpeg = encode_jpeg(real_photo("life", 800), exif=exif_block(**CANON))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jpeg[: int(len(jpeg) * keep)])
    return path


def corrupt_scan_data(jpeg: bytes, at: float = 0.9, length: int = 32) -> bytes:
    """The JPEG with a run of its scan bytes garbled (a failing card): still decodable, with
    smeared blocks from there on, and no 0xFF written, so no marker appears or vanishes."""
    start = int(len(jpeg) * at)
    garbled = bytes(0xFE if b ^ 0x55 == 0xFF else b ^ 0x55 for b in jpeg[start : start + length])
    return jpeg[:start] + garbled + jpeg[start + length :]


def write_empty_jpg(path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def write_text_as_jpg(path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("This is not a photo, just notes saved with the wrong name.\n")
    return path


def copy_sample(name: str, dest: Path) -> Path:
    """A byte-identical copy of a sample photo (EXIF and all)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sample_path(name), dest)
    return dest


def analysed(paths: Iterable[Path]) -> list[Analysed]:
    """Scan the files and analyse each, as the pipeline does (every one must be usable)."""
    result = scan([Path(p) for p in paths])
    assert not result.problems, result.problems
    out = []
    for source in result.photos:
        done = analyse_file(source)
        assert isinstance(done, Analysed), done
        out.append(done)
    return out


def photos_of(*paths: Path) -> list[Photo]:
    """Photo records for the files, built through scan → analyse_file → to_photos."""
    return to_photos(analysed(paths))


def photo_of(path: Path) -> Photo:
    (photo,) = photos_of(path)
    return photo


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


XMP_APP1 = b"http://ns.adobe.com/xap/1.0/\x00"


def xmp_packet(
    *, title: str | None = None, description: str | None = None, rating: int | None = None
) -> bytes:
    """An XMP packet as Lightroom writes it: dc:title/dc:description as x-default lang alts."""

    def alt(tag: str, text: str) -> str:
        return (
            f"<dc:{tag}><rdf:Alt><rdf:li xml:lang='x-default'>{escape(text)}</rdf:li>"
            f"</rdf:Alt></dc:{tag}>"
        )

    rating_attr = f" xmp:Rating='{rating}'" if rating is not None else ""
    body = (alt("title", title) if title else "") + (
        alt("description", description) if description else ""
    )
    return (
        "<?xpacket begin='\ufeff' id='W5M0MpCehiHzreSzNTczkc9d'?>"
        "<x:xmpmeta xmlns:x='adobe:ns:meta/'>"
        "<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>"
        "<rdf:Description rdf:about='' xmlns:dc='http://purl.org/dc/elements/1.1/'"
        f" xmlns:xmp='http://ns.adobe.com/xap/1.0/'{rating_attr}>{body}</rdf:Description>"
        "</rdf:RDF></x:xmpmeta><?xpacket end='w'?>"
    ).encode()


def iptc_app13(caption: str) -> bytes:
    """A Photoshop APP13 payload holding IPTC Caption-Abstract (2:120), as Photo Mechanic writes."""
    text = caption.encode()
    record = b"\x1c\x02\x78" + struct.pack(">H", len(text)) + text
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(record))
    resource += record + (b"\x00" if len(record) % 2 else b"")
    return b"Photoshop 3.0\x00" + resource


def insert_segment(jpeg: bytes, marker: int, payload: bytes) -> bytes:
    """The JPEG with an APPn segment (marker 0xE1 for XMP, 0xED for IPTC) right after SOI."""
    assert jpeg[:2] == b"\xff\xd8", "not a JPEG"
    header = bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2)
    return jpeg[:2] + header + payload + jpeg[2:]


def add_xmp(path: Path, packet: bytes) -> Path:
    """Embed an XMP packet in a JPEG file in place."""
    path.write_bytes(insert_segment(path.read_bytes(), 0xE1, XMP_APP1 + packet))
    return path


def add_iptc_caption(path: Path, caption: str) -> Path:
    path.write_bytes(insert_segment(path.read_bytes(), 0xED, iptc_app13(caption)))
    return path


def change_a_photo(cards: Path) -> Path:
    """Edit one photo of the sample cards, as a photographer re-exporting it would: new pixels
    (a 2° turn), the same EXIF. Returns its path."""
    changed = cards / "card-a/DCIM/100CANON/IMG_5105.JPG"
    with Image.open(changed) as img:
        exif = img.info["exif"]
        img.rotate(2, resample=Image.Resampling.BICUBIC).save(changed, quality=90, exif=exif)
    return changed


def shrink_cards(cards: Path, long_edge: int = 800) -> None:
    """Every JPEG under cards re-encoded in place at most long_edge pixels long, its EXIF and
    ICC profile kept as they were (orientation too: the stored pixels are scaled, not turned).
    For tests where a photo's size is not the point: analysis then takes a fraction of the time.
    """
    for path in sorted(cards.rglob("*")):
        if path.suffix.lower() not in (".jpg", ".jpeg") or path.name.startswith("._"):
            continue
        with Image.open(path) as img:
            info = {k: img.info[k] for k in ("exif", "icc_profile") if img.info.get(k)}
            img.thumbnail((long_edge, long_edge), Image.Resampling.LANCZOS)
            img.save(path, "JPEG", quality=90, **info)
