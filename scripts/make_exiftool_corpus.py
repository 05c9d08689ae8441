"""Build tests/data/exiftool/: real camera files from ExifTool's own test images, and editor-style
files written by exiftool itself (IPTC only, XMP only, UTF-16 XMP, Extended XMP, HEIC, MPO, a
RAW's XMP sidecar, EXIF entries of the wrong type).

    apt-get source libimage-exiftool-perl   # with a deb-src line; see tests/data/exiftool/README
    python scripts/make_exiftool_corpus.py libimage-exiftool-perl-*/t/images

The oracle test (tests/test_exiftool_oracle.py) reads every file with exiftool and gallerypipe.
"""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import piexif
from PIL import Image

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "exiftool"
# Every JPEG and HEIC among ExifTool's test images (t/images), as the cameras and tools wrote them.
CAMERA_SUFFIXES = (".jpg", ".heic")


def main(t_images: Path) -> None:
    camera, editor = OUT / "camera", OUT / "editor"
    for folder in (camera, editor):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    for path in sorted(t_images.iterdir()):
        if path.suffix.lower() in CAMERA_SUFFIXES:
            shutil.copy2(path, camera / path.name)
    make_editor_files(editor, t_images)


def tiny_jpeg(path: Path, exif: bytes | None = None) -> Path:
    img = Image.new("RGB", (16, 12), (120, 140, 160))
    img.save(path, quality=80, **({"exif": exif} if exif else {}))
    return path


def exiftool(path: Path, *args: str) -> None:
    subprocess.run(["exiftool", "-q", "-overwrite_original", *args, str(path)], check=True)


def insert_app1(path: Path, payload: bytes) -> None:
    data = path.read_bytes()
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    path.write_bytes(data[:2] + segment + data[2:])


def make_editor_files(out: Path, t_images: Path) -> None:
    # Photo Mechanic style: IPTC only (UTF-8, declared in 1:90), date and time with an offset.
    exiftool(
        tiny_jpeg(out / "iptc_utf8.jpg"),
        "-IPTC:CodedCharacterSet=UTF8",
        "-IPTC:ObjectName=Puente de Vizcaya",
        "-IPTC:Caption-Abstract=Transbordador sobre el Nervión, a las 9",
        "-IPTC:DateCreated=2018:06:14",
        "-IPTC:TimeCreated=09:30:05+02:00",
    )
    # Old IPTC: no 1:90, Latin-1 bytes.
    exiftool(
        tiny_jpeg(out / "iptc_latin1.jpg"),
        "-charset",
        "iptc=Latin",
        "-IPTC:Caption-Abstract=Café de la Paix, Noël",
        "-IPTC:DateCreated=2017:12:24",
    )
    # XMP only: photoshop:DateCreated with a fraction and an offset inside the string.
    exiftool(
        tiny_jpeg(out / "xmp_photoshop_date.jpg"),
        "-XMP-dc:Title=Ría de Bilbao",
        "-XMP-photoshop:DateCreated=2018:11:14 14:17:08.253+01:00",
    )
    exiftool(
        tiny_jpeg(out / "xmp_exif_date.jpg"),
        "-XMP-dc:Description=Converted from a scan",
        "-XMP-exif:DateTimeOriginal=1998:07:01 12:00:00",
    )
    exiftool(tiny_jpeg(out / "xmp_create_date.jpg"), "-XMP-xmp:CreateDate=2020:02:29 23:59:59Z")
    # Camera boilerplate in EXIF, the photographer's caption in XMP.
    exiftool(
        tiny_jpeg(out / "olympus_with_caption.jpg"),
        "-EXIF:Make=OLYMPUS IMAGING CORP.",
        "-EXIF:Model=E-M10",
        "-EXIF:ImageDescription=OLYMPUS DIGITAL CAMERA         ",
        "-EXIF:DateTimeOriginal=2016:08:01 18:00:00",
        "-XMP-dc:Description=Evening on the Urbasa plateau",
    )
    # A model number followed by "Image", as JVC writes, and a DCIM path, as GoPro writes.
    exiftool(
        tiny_jpeg(out / "model_image.jpg"),
        "-EXIF:Make=JVC",
        "-EXIF:Model=GZ-HM30",
        "-EXIF:ImageDescription=GZ-HM30 Image",
        "-EXIF:DateTimeOriginal=2012:03:04 05:06:07",
    )
    # An unreadable offset: the time stays, the offset is dropped.
    exiftool(
        tiny_jpeg(out / "bad_offset.jpg"),
        "-EXIF:Make=Canon",
        "-EXIF:Model=Canon EOS R5",
        "-EXIF:DateTimeOriginal=2021:09:10 11:12:13",
        "-EXIF:SubSecTimeOriginal=04",
        "-EXIF:OffsetTimeOriginal=+99:99",
    )
    # IPTC changed after the XMP (IPTCDigest no longer matches): MWG says IPTC wins.
    path = tiny_jpeg(out / "iptc_digest_mismatch.jpg")
    exiftool(path, "-XMP-dc:Description=Old XMP caption", "-IPTC:Caption-Abstract=Old caption")
    exiftool(path, "-Photoshop:IPTCDigest=new")  # the digest of the IPTC as it is now
    exiftool(path, "-IPTC:Caption-Abstract=Caption edited by an IPTC-only tool")
    # UTF-16 XMP packet (allowed by XMP Part 3), as some Windows tools write it.
    path = tiny_jpeg(out / "xmp_utf16.jpg")
    packet = subprocess.run(
        [
            "exiftool",
            "-o",
            "-.xmp",
            "-XMP-dc:Title=Señal en UTF-16",
            "-XMP-photoshop:DateCreated=2015:05:05 10:00:00-03:00",
            str(path),
        ],
        check=True,
        capture_output=True,
    ).stdout
    text = packet.decode("utf-8")
    insert_app1(path, b"http://ns.adobe.com/xap/1.0/\x00" + text.encode("utf-16-be"))
    # Extended XMP, as Lightroom writes once a packet passes 64 KB: exiftool moves the long
    # description into GUID-named chunks.
    exiftool(
        tiny_jpeg(out / "xmp_extended.jpg"),
        "-XMP-dc:Description=" + "Long caption. " * 5000,
        "-XMP-photoshop:DateCreated=2019:05:04 10:11:12.5+02:00",
    )
    # EXIF whose DateTimeOriginal and Model have the wrong type (UNDEFINED, not ASCII).
    make_wrong_type(out / "exif_wrong_type.jpg")
    # HEIC with EXIF and XMP, as a phone writes it.
    make_heic(out / "phone.heic")
    # MPO (a JPEG with a second image), as Nikon, Sony and iPhones write.
    make_mpo(out / "camera.mpo")
    # RAW + JPEG, with the RAW's XMP sidecar (darktable names it IMG_0001.CR2.xmp).
    raw_pair(out, t_images)


def make_wrong_type(path: Path) -> None:
    exif = piexif.dump(
        {
            "0th": {piexif.ImageIFD.Make: b"NIKON", piexif.ImageIFD.Model: b"COOLPIX P7000"},
            "Exif": {piexif.ExifIFD.DateTimeOriginal: b"2011:10:09 08:07:06"},
        }
    )
    data = bytearray(exif)
    order = "<" if data[6:8] == b"II" else ">"
    for tag in (piexif.ImageIFD.Model, piexif.ExifIFD.DateTimeOriginal):
        at = data.index(struct.pack(order + "HH", tag, 2))  # the entry: tag, type ASCII
        data[at + 2 : at + 4] = struct.pack(order + "H", 7)  # now UNDEFINED
    tiny_jpeg(path, bytes(data))


def make_heic(path: Path) -> None:
    from pillow_heif import register_heif_opener

    register_heif_opener()
    exif = piexif.dump(
        {
            "0th": {piexif.ImageIFD.Make: b"Apple", piexif.ImageIFD.Model: b"iPhone 12"},
            "Exif": {
                piexif.ExifIFD.DateTimeOriginal: b"2022:07:15 19:45:30",
                piexif.ExifIFD.SubSecTimeOriginal: b"123",
                piexif.ExifIFD.OffsetTimeOriginal: b"+02:00",
            },
        }
    )
    Image.new("RGB", (64, 48), (200, 120, 40)).save(path, quality=50, exif=exif)
    exiftool(path, "-XMP-dc:Title=Atardecer en la playa")


def make_mpo(path: Path) -> None:
    exif = piexif.dump(
        {
            "0th": {
                piexif.ImageIFD.Make: b"FUJIFILM",
                piexif.ImageIFD.Model: b"FinePix REAL 3D W3",
            },
            "Exif": {piexif.ExifIFD.DateTimeOriginal: b"2013:04:05 06:07:08"},
        }
    )
    left = Image.new("RGB", (32, 24), (10, 120, 200))
    right = Image.new("RGB", (32, 24), (12, 118, 198))
    buffer = io.BytesIO()
    left.save(buffer, "MPO", save_all=True, append_images=[right], exif=exif)
    path.write_bytes(buffer.getvalue())


def raw_pair(out: Path, t_images: Path) -> None:
    """A Canon RAW (ExifTool's CanonRaw.cr2) with its JPEG, titled in the RAW's sidecar."""
    shutil.copy2(t_images / "CanonRaw.cr2", out / "IMG_0001.CR2")
    exif = piexif.dump(
        {
            "0th": {
                piexif.ImageIFD.Make: b"Canon",
                piexif.ImageIFD.Model: b"Canon EOS 6D",
                piexif.ImageIFD.ImageDescription: b" " * 31,
            },
            "Exif": {piexif.ExifIFD.DateTimeOriginal: b"2019:09:21 16:40:00"},
        }
    )
    tiny_jpeg(out / "IMG_0001.JPG", exif)
    sidecar = out / "IMG_0001.CR2.xmp"
    subprocess.run(
        [
            "exiftool",
            "-q",
            "-o",
            str(sidecar),
            "-XMP-dc:Title=Hayedo de Otzarreta",
            "-XMP-xmp:Rating=4",
            str(out / "IMG_0001.JPG"),
        ],
        check=True,
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
