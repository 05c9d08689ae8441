"""metadata: what a photo's EXIF says, and the time photos are ordered by."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import piexif
import pytest
from photos import (
    CANON,
    encode_jpeg,
    exif_block,
    photo_of,
    photos_of,
    real_photo,
    sample_path,
    write_jpeg,
)
from PIL import Image

from gallerypipe.imaging import exif_bytes
from gallerypipe.metadata import event_timezone, ordering_time, parse_exif_time, read_metadata

CEST = timezone(timedelta(hours=2))


def exif_of(path) -> bytes | None:
    """The EXIF block the way analyse hands it to read_metadata."""
    with Image.open(path) as img:
        return exif_bytes(img)


def test_capture_time_from_date_subsec_and_offset(tmp_path):
    path = write_jpeg(
        tmp_path / "IMG_0001.JPG",
        real_photo("picos", 320),
        **CANON,
        taken="2018:06:14 09:02:11",
        subsec="27",
        offset="+02:00",
        orientation=1,
    )
    meta = read_metadata(exif_of(path))
    assert meta.capture_time == datetime(2018, 6, 14, 9, 2, 11, 270_000, tzinfo=CEST)
    assert meta.capture_time.utcoffset() == timedelta(hours=2)
    assert (meta.make, meta.model, meta.serial) == (
        "Canon",
        "Canon EOS 5D Mark III",
        "032021001234",
    )
    assert meta.has_exif
    assert meta.problems == ()


def test_whole_jpeg_bytes_read_like_the_app1_block(tmp_path):
    path = write_jpeg(
        tmp_path / "a.jpg", real_photo("fig", 320), **CANON, taken="2018:06:14 10:00:00"
    )
    assert read_metadata(path.read_bytes()) == read_metadata(exif_of(path))


def test_sample_card_photo_reads_as_its_attribution_says():
    meta = read_metadata(exif_of(sample_path("IMG_5101.JPG")))
    assert meta.capture_time == datetime(2018, 6, 14, 9, 2, 11, 270_000)
    assert meta.capture_time.tzinfo is None  # the Canon writes no offset
    assert meta.description == "Larches turning below the Aitzgorri ridge"
    assert meta.make == "Canon"


@pytest.mark.parametrize(
    ("subsec", "microsecond"),
    [("5", 500_000), ("27", 270_000), ("027", 27_000), ("655", 655_000), ("1234567", 123_456)],
)
def test_subsec_is_a_decimal_fraction(subsec, microsecond):
    taken = parse_exif_time("2018:06:14 10:22:41", subsec)
    assert taken.microsecond == microsecond


@pytest.mark.parametrize(
    ("offset", "delta"),
    [
        ("+02:00", timedelta(hours=2)),
        ("-05:00", -timedelta(hours=5)),
        ("+0530", timedelta(hours=5, minutes=30)),
    ],
)
def test_offsets_east_and_west(offset, delta):
    taken = parse_exif_time("2018:06:14 10:22:41", None, offset)
    assert taken.utcoffset() == delta
    assert taken.replace(tzinfo=None) == datetime(2018, 6, 14, 10, 22, 41)


@pytest.mark.parametrize("offset", [None, "", "      ", "   :  ", "Z", "+2"])
def test_blank_or_unreadable_offset_leaves_the_time_naive(offset):
    assert parse_exif_time("2018:06:14 10:22:41", "  ", offset).tzinfo is None


def test_all_space_description_as_canon_writes_it_is_none(tmp_path):
    path = write_jpeg(tmp_path / "a.jpg", real_photo("life", 320), **CANON, description=" " * 31)
    meta = read_metadata(exif_of(path))
    assert meta.description is None
    assert meta.make == "Canon"  # the rest of the block is still read


def test_sample_with_blank_description_reads_none():
    # IMG_5102 carries Canon's 31 spaces (exiftool shows them); the caption must not be "".
    assert read_metadata(exif_of(sample_path("IMG_5102.JPG"))).description is None


def test_real_caption_is_kept_trimmed(tmp_path):
    path = write_jpeg(tmp_path / "a.jpg", real_photo("life", 320), description="  Río Urbión  ")
    assert read_metadata(exif_of(path)).description == "Río Urbión"


@pytest.mark.parametrize(
    "payload",
    [
        b"Exif\x00\x00not a TIFF header at all",
        b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x05\x01",  # IFD cut short
        b"Exif\x00\x00II*\x00\xff\xff\xff\x7f",  # IFD offset far past the end
    ],
)
def test_malformed_exif_is_a_problem_not_a_crash(payload):
    meta = read_metadata(payload)
    assert meta.capture_time is None
    assert meta.has_exif is False
    assert len(meta.problems) == 1
    assert meta.problems[0].startswith("unreadable EXIF")


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")
def test_photo_with_malformed_exif_is_still_analysed_with_the_problem_noted(tmp_path):
    jpeg = encode_jpeg(real_photo("sunset", 480), exif=b"Exif\x00\x00II*\x00\xff\xff\xff\x7f")
    path = tmp_path / "IMG_0001.JPG"
    path.write_bytes(jpeg)
    photo = photo_of(path)
    assert photo.meta.problems and "unreadable EXIF" in photo.meta.problems[0]
    assert photo.time_from_file  # no capture time: ordered by the file's mtime
    assert (photo.analysis.width, photo.analysis.height) == (480, 320)


def test_no_exif_at_all():
    meta = read_metadata(None)
    assert meta.has_exif is False
    assert meta.capture_time is None
    assert meta.orientation == 1
    assert meta.problems == ()


def test_unset_camera_clock_falls_back_to_digitized_time():
    exif = exif_block(**CANON, taken="2018:06:14 09:30:00")
    # Rewrite DateTimeOriginal alone as an unset clock writes it.
    tags = piexif.load(exif)
    tags["Exif"][piexif.ExifIFD.DateTimeOriginal] = b"0000:00:00 00:00:00"
    meta = read_metadata(piexif.dump(tags))
    assert meta.capture_time == datetime(2018, 6, 14, 9, 30)
    assert meta.problems == ()  # zeros are EXIF's "not set", not a malformed value


@pytest.mark.parametrize("orientation", [0, 9, 65535])
def test_out_of_range_orientation_means_upright(tmp_path, orientation):
    path = write_jpeg(tmp_path / "a.jpg", real_photo("fig", 200), orientation=orientation)
    assert read_metadata(exif_of(path)).orientation == 1


def test_event_timezone_is_the_most_common_offset():
    plus2 = timezone(timedelta(hours=2))
    plus1 = timezone(timedelta(hours=1))
    times = [
        datetime(2018, 6, 14, 9, 0, tzinfo=plus2),
        datetime(2018, 6, 14, 9, 5, tzinfo=plus2),
        datetime(2018, 6, 14, 8, 10, tzinfo=plus1),  # a phone still on home time
        datetime(2018, 6, 14, 9, 15),  # a camera with no offset does not vote
        None,
    ]
    assert event_timezone(times).utcoffset(None) == timedelta(hours=2)


def test_event_timezone_without_offsets_is_utc():
    assert event_timezone([datetime(2018, 6, 14, 9, 0), None]) == UTC
    assert event_timezone([]) == UTC


def test_naive_camera_time_is_read_on_the_event_clock():
    taken, from_file = ordering_time(datetime(2018, 6, 14, 9, 2, 11), 0.0, CEST)
    assert (taken, from_file) == (datetime(2018, 6, 14, 7, 2, 11, tzinfo=UTC), False)
    assert taken.tzinfo is CEST


def test_camera_offset_wins_over_the_event_zone():
    plus1 = timezone(timedelta(hours=1))
    taken, from_file = ordering_time(datetime(2018, 6, 14, 8, 2, tzinfo=plus1), 0.0, CEST)
    assert taken.utcoffset() == timedelta(hours=1)
    assert not from_file


def test_no_capture_time_falls_back_to_mtime_in_utc():
    mtime = datetime(2018, 6, 14, 7, 40, 9, tzinfo=UTC).timestamp()
    taken, from_file = ordering_time(None, mtime, CEST)
    assert from_file
    assert taken == datetime(2018, 6, 14, 9, 40, 9, tzinfo=CEST)


def test_mixed_cameras_order_on_one_clock(tmp_path):
    """A phone that writes +02:00 and a Canon that writes no offset, ten minutes apart."""
    phone = write_jpeg(
        tmp_path / "phone.jpg",
        real_photo("bridge", 320),
        make="Apple",
        model="iPhone 8",
        taken="2018:06:14 10:40:09",
        offset="+02:00",
    )
    canon = write_jpeg(
        tmp_path / "canon.jpg", real_photo("picos", 320), **CANON, taken="2018:06:14 10:30:00"
    )
    first, second = photos_of(phone, canon)
    assert first.source.path == canon
    assert (second.taken - first.taken) == timedelta(minutes=10, seconds=9)


def test_unrecognised_bytes_are_not_taken_for_a_file_name():
    meta = read_metadata(str(sample_path("IMG_5101.JPG")).encode())
    assert meta.make is None
    assert meta.problems


def test_blank_unknown_date_gives_no_capture_time():
    # EXIF: "when the date and time are unknown, all the character spaces except colons may be
    # filled with blank characters" — some bodies write exactly that before the clock is set.
    meta = read_metadata(exif_block(**CANON, taken="    :  :     :  :  "))
    assert meta.capture_time is None
    assert meta.make == "Canon"
