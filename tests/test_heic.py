"""HEIC from phones: a real HEIC file written here with pillow-heif from a sample photograph."""

from __future__ import annotations

import io
import json
from pathlib import Path

import piexif
import pillow_heif
from photos import exif_block, photo_of, real_photo, write_jpeg, xmp_packet
from PIL import Image

from gallerypipe.pipeline import IngestOptions, ingest
from gallerypipe.scan import scan

IPHONE = {"make": "Apple", "model": "iPhone 12", "taken": "2018:06:14 10:05:00", "offset": "+02:00"}


def write_heic(path: Path, img: Image.Image, exif: bytes | None, xmp: bytes | None = None) -> Path:
    heif = pillow_heif.from_pillow(img)
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = {"xmp": xmp} if xmp else {}
    heif.save(path, quality=80, exif=exif, **extra)
    return path


def test_heic_is_ingested_with_its_exif_and_xmp(tmp_path):
    card = tmp_path / "phone"
    heic = write_heic(
        card / "IMG_0001.HEIC",
        real_photo("bridge", 400),
        exif_block(**IPHONE, description="Cables against the sky"),
        xmp_packet(rating=4),
    )
    write_jpeg(card / "IMG_0002.JPG", real_photo("picos", 400), **{**IPHONE, "taken": None})
    (source, _) = scan([card]).photos
    assert source.kind == "heic" and source.path == heic
    store = tmp_path / "store"
    report = ingest(
        IngestOptions(sources=(card,), bundle=tmp_path / "b", store=str(store), cache=None, jobs=2)
    )
    assert report.photos == 2 and report.skipped == ()
    manifest = json.loads((store / "manifest.json").read_text())
    source = next(s for s in report.sources if s["source"].endswith("IMG_0001.HEIC"))
    entry = next(p for p in manifest["photos"] if p["id"] == source["id"])
    assert entry["capture_time"] == "2018-06-14T10:05:00+02:00"
    assert source["camera"] == "Apple iPhone 12" and entry["title"] == "Cables against the sky"
    assert (entry["width"], entry["height"]) == real_photo("bridge", 400).size
    largest = max(entry["renditions"], key=lambda r: r["width"])
    with Image.open(io.BytesIO((store / largest["key"]).read_bytes())) as rendition:
        assert rendition.format == "JPEG" and rendition.size == (400, 225)
        published = piexif.load(rendition.info["exif"])  # only what --strip-all would drop
    assert not published["GPS"] and piexif.ImageIFD.Make not in published["0th"]
    assert published["Exif"][piexif.ExifIFD.DateTimeOriginal] == b"2018:06:14 10:05:00"


def test_heic_rating_is_read(tmp_path):
    path = write_heic(
        tmp_path / "a.heic", real_photo("fig", 200), exif_block(**IPHONE), xmp_packet(rating=-1)
    )
    photo = photo_of(path)
    assert photo.meta.rating == -1 and photo.meta.make == "Apple"
