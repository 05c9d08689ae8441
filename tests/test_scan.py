"""scan: what on a camera card is a photo, a problem, or deliberately left alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from photos import (
    CANON,
    copy_sample,
    encode_jpeg,
    exif_block,
    real_photo,
    write_empty_jpg,
    write_jpeg,
    write_text_as_jpg,
)

from gallerypipe.scan import scan, sniff


@pytest.fixture(scope="module")
def card(tmp_path_factory) -> Path:
    """A card as a Canon body and a Mac leave it, with a little of everything on it."""
    root = tmp_path_factory.mktemp("cards") / "card-a"
    dcim = root / "DCIM" / "100CANON"
    write_jpeg(
        dcim / "IMG_0001.JPG", real_photo("picos", 640), **CANON, taken="2018:06:14 09:00:00"
    )
    (dcim / "IMG_0001.CR2").write_bytes(b"II*\x00\x10\x00\x00\x00CR\x02\x00" + bytes(64))
    write_jpeg(dcim / "IMG_0002.jpeg", real_photo("life", 640), **CANON)
    # A photo whose name lies about its format: found by content.
    write_jpeg(dcim / "IMG_0003.png", real_photo("sunset", 640), **CANON)
    # A real PNG export (not a format gallerypipe publishes): left alone, not a problem.
    real_photo("fig", 320).save(dcim / "export.png", "PNG")
    # A lone RAW, with no JPEG beside it.
    (dcim / "IMG_0004.CR2").write_bytes(b"II*\x00\x10\x00\x00\x00CR\x02\x00" + bytes(64))
    # Canon's .THM thumbnails are JPEGs themselves, but never photos of the event.
    (dcim / "MVI_0005.THM").write_bytes(encode_jpeg(real_photo("kleiber", 160), quality=70))
    (dcim / "MVI_0005.MOV").write_bytes(b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ")
    write_empty_jpg(dcim / "IMG_0006.JPG")
    write_text_as_jpg(dcim / "IMG_0007.JPG")
    # macOS junk: an AppleDouble companion and a .DS_Store, plus a hidden Trash folder.
    (dcim / "._IMG_0001.JPG").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ")
    (dcim / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + bytes(32))
    copy_sample("aitzgorri", root / ".Trashes" / "501" / "IMG_0099.JPG")
    ctg = root / "DCIM" / "CANONMSC" / "M0100.CTG"
    ctg.parent.mkdir(parents=True)
    ctg.write_bytes(b"\x00\x01\x02\x03" * 4)
    # XMP: one read with its photo (Lightroom's name), one whose photo is not on the card.
    (dcim / "IMG_0002.xmp").write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
    (dcim / "IMG_0042.xmp").write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
    (root / "MISC").mkdir()
    (root / "MISC" / "readme.txt").write_text("card notes")
    return root


@pytest.fixture(scope="module")
def scanned(card):
    return scan([card])


def by_name(items):
    return {Path(item.path).name: item for item in items}


def test_photos_are_found_by_content_whatever_their_extension(scanned):
    photos = by_name(scanned.photos)
    assert sorted(photos) == ["IMG_0001.JPG", "IMG_0002.jpeg", "IMG_0003.png"]
    assert {p.kind for p in photos.values()} == {"jpeg"}


def test_photo_records_size_mtime_and_paths(scanned, card):
    photo = by_name(scanned.photos)["IMG_0002.jpeg"]
    path = card / "DCIM" / "100CANON" / "IMG_0002.jpeg"
    assert photo.path == path
    assert photo.size == path.stat().st_size
    assert photo.mtime == path.stat().st_mtime
    assert photo.display == str(path)
    assert photo.relative == "card-a/DCIM/100CANON/IMG_0002.jpeg"


def test_raw_beside_jpeg_is_its_companion(scanned):
    photos = by_name(scanned.photos)
    assert photos["IMG_0001.JPG"].companions == ("IMG_0001.CR2",)
    assert photos["IMG_0002.jpeg"].companions == ()
    assert all(Path(p.path).suffix.lower() != ".cr2" for p in scanned.photos)


def test_broken_files_named_like_photos_are_problems_with_reasons(scanned):
    problems = by_name(scanned.problems)
    assert sorted(problems) == ["IMG_0006.JPG", "IMG_0007.JPG"]
    assert "empty" in problems["IMG_0006.JPG"].reason
    assert "0 bytes" in problems["IMG_0006.JPG"].reason
    assert "not a JPEG" in problems["IMG_0007.JPG"].reason


def test_card_junk_is_ignored_and_counted(scanned):
    ignored = dict(scanned.ignored)
    assert ignored == {
        "RAW files (paired with their JPEG or left alone)": 2,
        "camera sidecar files (.THM, .CTG, .LRV …)": 2,
        "XMP sidecars without a photo": 1,  # IMG_0002.xmp is read with its photo
        "hidden files": 1,
        "macOS resource forks (._*)": 1,
        "other files": 2,  # export.png and readme.txt
        "videos": 1,
    }
    summary = scanned.ignored_summary()
    assert "2 RAW files" in summary and "2 camera sidecar files" in summary
    assert summary.endswith("1 video") and "1 XMP sidecar without a photo" in summary
    assert "1 hidden file," in summary and "1 macOS resource fork (._*)" in summary


def test_every_file_is_accounted_for_once(scanned, card):
    visible = [
        p for p in card.rglob("*") if p.is_file() and ".Trashes" not in p.relative_to(card).parts
    ]
    read = {p.path.parent / name for p in scanned.photos for name in p.sidecars}
    assert [p.name for p in read] == ["IMG_0002.xmp"]
    counted = len(scanned.photos) + len(scanned.problems) + sum(n for _, n in scanned.ignored)
    assert counted + len(read) == len(visible)


def test_hidden_folders_are_not_walked(scanned):
    every = [*scanned.photos, *scanned.problems]
    assert not any(".Trashes" in str(item.path) for item in every)
    assert "IMG_0099.JPG" not in by_name(scanned.photos)


def test_a_single_file_can_be_a_source(tmp_path):
    path = write_jpeg(tmp_path / "one.jpg", real_photo("fig", 400), **CANON)
    result = scan([path])
    (photo,) = result.photos
    assert photo.path == path
    assert photo.display == str(path)
    assert photo.relative == "one.jpg"
    assert result.problems == ()
    assert result.ignored == ()


def test_missing_source_is_a_problem_not_an_error(tmp_path, card):
    missing = tmp_path / "no-such-card"
    result = scan([missing, card])
    assert result.problems[0].path == str(missing)
    assert result.problems[0].reason == "no such file or folder"
    assert len(result.photos) == 3  # the other source is still scanned


def test_raw_pairs_only_within_one_folder_and_by_stem_ignoring_case(tmp_path):
    root = tmp_path / "card"
    write_jpeg(root / "A" / "DSC_0001.JPG", real_photo("kleiber", 400), **CANON)
    (root / "A" / "dsc_0001.nef").write_bytes(b"MM\x00*" + bytes(60))
    (root / "A" / "DSC_0001.DNG").write_bytes(b"II*\x00" + bytes(60))
    write_jpeg(root / "B" / "DSC_0001.JPG", real_photo("fig", 400), **CANON)
    photos = {p.relative: p for p in scan([root]).photos}
    assert photos["card/A/DSC_0001.JPG"].companions == ("DSC_0001.DNG", "dsc_0001.nef")
    assert photos["card/B/DSC_0001.JPG"].companions == ()


def test_sniff_tells_formats_from_their_first_bytes():
    jpeg = encode_jpeg(real_photo("fig", 200), exif=exif_block(**CANON))
    assert sniff(jpeg[:16]) == "jpeg"
    # An ISO-BMFF header of an iPhone HEIC (major brand "heic") and of an MP4 video.
    assert sniff(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00") == "heic"
    assert sniff(b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00") == "heic"
    assert sniff(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00") is None
    assert sniff(b"\x89PNG\r\n\x1a\n") is None
    assert sniff(b"") is None
